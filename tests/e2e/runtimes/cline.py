"""Cline CLI: print mode and the TUI, pinned, with the hooks
`hb-install-hooks cline` installs in ~/.cline/hooks.

`cline` is a node wrapper (the pane's process) that runs the native
binary for the session; hooks run under that. A Cline run leaves a hub
daemon that later sessions in the same HOME run inside, with the first
one's environment: the launcher sets CLINE_SESSION_BACKEND_MODE=local, and
`cline-two` runs two agents in one HOME at once to prove each keeps its own.
"""

import os
import subprocess
import time

from harness import (
    check, deadline_wait, MODS, HB_BIN, INTERVAL, HOLD, SAMPLE_EVERY, check_common, check_pids,
    check_exited, check_hooks_silent, hold_idle, hold_waiting, install_hooks, statuses)

PACKAGES = ["cline"]

MODEL = "hb-mock-model"
ENV = {"CLINE_NO_AUTO_UPDATE": "1", "CLINE_DISABLE_CLINE_PASS_NOTICE": "1"}
EVENTS = {"agent_start", "agent_resume", "prompt_submit", "tool_call", "tool_result",
          "agent_end", "agent_error", "agent_abort", "session_shutdown"}


def cline_bin():
    """The node wrapper `npm i -g cline` puts on PATH."""
    return os.path.join(MODS, "cline", "bin", "cline")


def hooks_dir(sb):
    return os.path.join(sb.home, ".cline", "hooks")


def cline_setup(sb):
    """Cline on the mock (`cline auth`, as a user does), the user's own
    hook beside ours, then hb-install-hooks, undone and done again."""
    env = dict(sb.env, **ENV)
    r = subprocess.run([cline_bin(), "auth", "-p", "openai-compatible", "-k", "hb-mock-key",
                        "-m", MODEL, "-b", sb.base + "/v1"], env=env, cwd=sb.work,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"cline auth: {r.returncode}: {r.stdout}{r.stderr}")
    os.makedirs(hooks_dir(sb), exist_ok=True)
    mine = os.path.join(hooks_dir(sb), "TaskStart")
    with open(mine, "w") as f:
        f.write(f"#!/bin/sh\ncat >/dev/null\necho ran >>{sb.root}/user-hook-ran\n")
    os.chmod(mine, 0o755)
    before = sorted(os.listdir(hooks_dir(sb)))
    out = install_hooks(sb, "cline", {})
    check("installed" in out, f"hb-install-hooks cline: {out}")
    check("nothing to change" in install_hooks(sb, "cline", {}), "a second install changed")
    out = install_hooks(sb, "cline", {}, "--uninstall")
    check("removed" in out, f"--uninstall: {out}")
    check(sorted(os.listdir(hooks_dir(sb))) == before, "--uninstall left the hooks dir changed")
    install_hooks(sb, "cline", {})
    return dict(ENV)


def events(sb, name=None):
    """The payloads' hookName of each hb-write call (of agent `name`)."""
    import json
    out = []
    for c in sb.hook_calls():
        if name and c["name"] != name:
            continue
        try:
            p = json.loads(c["payload"] or "{}")
        except ValueError:
            p = {}
        ev = p.get("hookName", "?")
        tool = (p.get("preToolUse") or p.get("postToolUse") or {}).get("toolName")
        out.append(f"{ev}({tool})" if tool else ev)
    return out


def check_hooks(sb):
    check_hooks_silent(sb)
    for e in events(sb):
        check(e.split("(")[0] in EVENTS, f"an event outside the table: {e}")
    check(os.path.exists(os.path.join(sb.root, "user-hook-ran")), "the user's own hook never ran")


def cline_print(sb):
    env = cline_setup(sb)
    a = sb.start("cline-print", [cline_bin(), "run the tool"], env)
    check_exited(a, timeout=90)
    check_common(sb, a, MODEL)
    check_hooks(sb)
    st = statuses(a.sampler.samples)
    check("busy" in st, f"never busy: {st}")
    check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
    ev = events(sb)
    check(ev[0] == "agent_start" and "agent_end" in ev, f"events {ev}")
    return st


def ready(a):
    """The TUI takes keys some seconds after it is drawn: Shift+Tab until it
    says auto-approve is off (the approval dialog is then shown)."""
    if "Auto-approve all disabled" in a.pane():
        return True
    a.keys("BTab")
    end = time.monotonic() + 2
    while time.monotonic() < end:
        if "Auto-approve all disabled" in a.pane():
            return True
        time.sleep(0.1)
    return False


def type_text(a, text):
    """One key at a time: the TUI drops a whole string sent at once."""
    for ch in text:
        a.sb.tmux("send-keys", "-t", f"={a.name}:", "-l", ch)
        time.sleep(0.03)  # a typist's pace, not a wait for the beat


def quit_tui(a):
    """Ctrl+C until Cline is gone."""
    def gone():
        if a.alive():
            a.keys("C-c")
        return not a.alive()
    deadline_wait(gone, 30, "Cline to quit", every=1)


def tui_start(sb, name, prompt="run the tool"):
    env = cline_setup(sb)
    a = sb.start(name, [cline_bin()], env)
    deadline_wait(lambda: ready(a), 60, "the TUI to take keys")
    type_text(a, prompt)
    a.wait_pane(prompt, timeout=10)
    a.keys("Enter")
    a.wait_status("busy", timeout=60)
    return a


def hold_busy(a):
    """The approval dialog fires no hook: the beat stays busy (carried),
    never ok, for HOLD seconds."""
    m = a.sampler.mark()
    time.sleep(HOLD)  # the dialog stays open this long on purpose
    held = a.sampler.since(m)
    check(len(held) >= HOLD / SAMPLE_EVERY / 3, f"too few samples while held: {len(held)}")
    bad = [s for s in held if s.get("status") != "busy"]
    check(not bad, f"the beat left busy while the approval dialog was open: {bad[:3]}")
    check(any(s.get("src") == "carried" for s in held), "the busy beat was never carried")


def cline_tui(sb):
    """The model asks a question (waiting, held), then runs a command that
    needs approval (busy, held: nothing marks that dialog), then answers."""
    a = tui_start(sb, "cline-tui")
    hold_waiting(a)
    check("Cline is asking a question" in a.pane(), "no question in the pane")
    a.keys("Enter")  # the first option, "Go on"
    deadline_wait(lambda: a.sampler.latest().get("status") == "busy", 30, "busy after the answer")
    deadline_wait(lambda: "tool_call(run_commands)" in events(sb), 30, "the command's tool_call")
    a.wait_pane("Approve tool call?", timeout=30)
    hold_busy(a)
    check("Approve tool call?" in a.pane(), "the approval dialog went away")
    a.keys("y")
    deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                  "the tool to run")
    a.wait_pane("Done: the tool ran.", timeout=30)
    hold_idle(a)
    quit_tui(a)
    check_exited(a)
    check_common(sb, a, MODEL)
    check_hooks(sb)
    st = statuses(a.sampler.samples)
    check(st.index("busy") < st.index("waiting") < len(st) - 1 - st[::-1].index("ok"),
          f"statuses {st}")
    return st


def cline_esc(sb):
    """Esc in the turn (the mock holds the answer after the tool): ok
    within 2 x interval + 1.5 s, Cline at its prompt."""
    a = tui_start(sb, "cline-esc")
    deadline_wait(lambda: "tool_call(run_commands)" in events(sb), 30, "the command's tool_call")
    a.wait_pane("Approve tool call?", timeout=30)
    a.keys("y")
    deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                  "the tool to run")
    a.wait_status("busy", timeout=10)
    t = time.monotonic()
    a.keys("Escape")
    deadline_wait(lambda: a.sampler.latest().get("status") == "ok", 2 * INTERVAL + 1.5,
                  "ok after Esc")
    took = time.monotonic() - t
    hold_idle(a)
    quit_tui(a)
    check_exited(a)
    check_common(sb, a, MODEL)
    check_hooks(sb)
    return statuses(a.sampler.samples) + [f"ok {took:.2f}s after Esc"]


def cline_deny(sb):
    """`n` at the approval dialog: PostToolUse `success:false` (busy), the
    model goes on and ends the turn (ok), no hook missing."""
    a = tui_start(sb, "cline-deny")
    a.wait_pane("Approve tool call?", timeout=30)
    a.keys("n")
    t = time.monotonic()
    deadline_wait(lambda: a.sampler.latest().get("status") == "ok", 30, "ok after the denial")
    took = time.monotonic() - t
    check(not os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the denied tool ran")
    hold_idle(a)
    quit_tui(a)
    check_exited(a)
    check_common(sb, a, MODEL)
    check_hooks(sb)
    ev = events(sb)
    check("tool_result(run_commands)" in ev and ev[-1] in ("agent_end", "session_shutdown"),
          f"events {ev}")
    return statuses(a.sampler.samples) + [f"ok {took:.2f}s after n"]


def cline_two(sb):
    """Two agents in one HOME at once: a TUI held at its question, and a
    print run beside it. Each one's hooks carry its own name and pid (no
    hub daemon runs either), and neither touches the other's beat."""
    a = tui_start(sb, "cline-a")
    a.wait_status("waiting", timeout=60)
    b = sb.start("cline-b", [cline_bin(), "run the tool"], dict(ENV))
    # Print mode asks on the terminal before the question tool runs
    # (`Approve "ask_question" ... [y/N]`): b is waiting there too.
    b.wait_pane("[y/N]", timeout=60)
    b.wait_status("waiting", timeout=10)
    answered = [0, 0]

    def answer():
        """y to each `[y/N]`, 1 to each `Choose 1-2`, until b is done."""
        pane = b.pane()
        for i, (ask, key) in enumerate((("[y/N]", "y"), ("Choose 1-2", "1"))):
            if pane.count(ask) > answered[i]:
                answered[i] += 1
                sb.tmux("send-keys", "-t", "=cline-b:", key, "Enter")
        return not b.alive()
    deadline_wait(answer, 90, "b to end", every=0.3)
    check_exited(b, timeout=30)
    check(a.sampler.latest().get("status") == "waiting", f"a moved: {a.sampler.latest()}")
    for c in sb.hook_calls():
        who = a if c["name"] == "cline-a" else b
        check(c["name"] in ("cline-a", "cline-b"), f"a hook without the agent's name: {c}")
        check("--cline-hub-daemon" not in (c["tree"] or ""), f"a hook ran in a hub: {c['tree']}")
        check(str(who.pane_pid) in (c["tree"] or ""), f"{c['name']}'s hook is not under its pane")
    check(events(sb, "cline-b")[0] == "agent_start", f"b's events {events(sb, 'cline-b')}")
    check_common(sb, b, MODEL)
    quit_tui(a)
    check_exited(a)
    check_common(sb, a, MODEL)
    return statuses(a.sampler.samples) + ["|"] + statuses(b.sampler.samples)


def hub_of(sb):
    """A hub daemon started from this sandbox's work directory, if any."""
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"--cline-hub-daemon" in argv and sb.work.encode() in argv:
            return int(pid)
    return None


def cline_two_tui(sb):
    """Two TUIs in one HOME at once. The TUI asks for Cline's `auto`
    backend itself (CLINE_SESSION_BACKEND_MODE does not reach it): the
    first starts a hub daemon, and the second (usually) runs in it, its
    hooks with a's name. No hook writes another agent's beat: a hook inside the hub
    writes nothing (b shows the sidecar's beats only), a's beat never
    moves while b runs, and each native beat names its own pane."""
    a = tui_start(sb, "cline-a")
    a.wait_status("waiting", timeout=60)
    deadline_wait(lambda: hub_of(sb), 30, "a's hub daemon")
    m = a.sampler.mark()
    b = sb.start("cline-b", [cline_bin()], dict(ENV))
    deadline_wait(lambda: ready(b), 60, "b's TUI to take keys")
    type_text(b, "run the tool")
    b.wait_pane("run the tool", timeout=10)
    b.keys("Enter")
    b.wait_pane("Cline is asking a question", timeout=60)
    time.sleep(2 * INTERVAL)  # b's hooks, wherever they ran, have landed
    moved = [x for x in a.sampler.since(m) if x.get("status") != "waiting"]
    check(not moved, f"a's beat moved while b ran: {moved[:3]}")
    hub = [c for c in sb.hook_calls() if "--cline-hub-daemon" in (c["tree"] or "")]
    for c in sb.hook_calls():
        if c in hub:
            continue
        who = a if c["name"] == "cline-a" else b
        check(str(who.pane_pid) in (c["tree"] or ""), f"{c['name']}'s hook is not under its pane")
    quit_tui(b)
    quit_tui(a)
    check_exited(a)
    check_exited(b)
    check_pids(a.sampler.samples, a.pane_pid)
    check_pids(b.sampler.samples, b.pane_pid)
    # b ran in a's hub (its parent, a's Cline, alive) in most runs here;
    # in some it found none and ran in its own process: both are checked.
    check(all(c["name"] == "cline-a" for c in hub), "a hub hook with b's name")
    return (statuses(a.sampler.samples) + ["|"] + statuses(b.sampler.samples)
            + [f"{len(hub)} hook calls ran in a's hub"])


def cline_direct(sb):
    """One-shot without the launcher: `MOSAIC_AGENT_NAME=... cline PROMPT`
    from a script. No sidecar: the beats are the hooks' own, naming the
    wrapper's pid."""
    env = dict(sb.env, **cline_setup(sb), MOSAIC_AGENT_NAME="cline-direct",
               MOSAIC_HEARTBEAT_DIR=sb.hb, CLINE_SESSION_BACKEND_MODE="local")
    p = subprocess.Popen([cline_bin(), "run the tool"], env=env, cwd=sb.work,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    check(p.wait(timeout=90) == 0, "cline exited non-zero")
    deadline_wait(lambda: all(c["rc"] is not None for c in sb.hook_calls()), 20,
                  "every hook call to end")
    check_hooks(sb)
    beats = [c["beat"] for c in sb.hook_calls() if c["beat"]]
    check(beats, "no beat")
    for b in beats:
        check(b.get("pid") == str(p.pid), f"a beat names pid {b.get('pid')}, cline is {p.pid}")
        check(b.get("model") == MODEL, f"a beat without the model: {b}")
    st = [b["status"] for b in beats]
    check(st[0] == "busy" and st[-1] == "ok", f"beats {st}")
    r = subprocess.run([os.path.join(HB_BIN, "hb-read"), "--dir", sb.hb, "cline-direct"],
                       capture_output=True, text=True)
    return st + [r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr]


def cline_hub(sb):
    """The pitfall, with the launcher's setting overridden (`-- env
    CLINE_SESSION_BACKEND_MODE=auto cline ...`): a's run leaves a hub daemon, b's
    session runs inside it and its hooks carry a's name. hb-write sees the
    hub above the hook and writes nothing: a's beat stays the sidecar's
    `exited`, and b's beats stay the sidecar's too (honest, if poor)."""
    env = cline_setup(sb)
    auto = ["env", "CLINE_SESSION_BACKEND_MODE=auto", cline_bin(), "run the tool"]
    a = sb.start("cline-a", auto, env)
    check_exited(a, timeout=90)
    deadline_wait(lambda: all(c["rc"] is not None for c in sb.hook_calls()), 20,
                  "a's hooks to end")
    n = len(sb.hook_calls())
    final = open(os.path.join(sb.hb, "cline-a.hb")).read()
    b = sb.start("cline-b", auto, env)
    check_exited(b, timeout=90)
    deadline_wait(lambda: all(c["rc"] is not None for c in sb.hook_calls()), 20,
                  "b's hooks to end")
    in_hub = sb.hook_calls()[n:]
    check(in_hub, "b ran no hook")
    for c in in_hub:
        check(c["name"] == "cline-a" and "--cline-hub-daemon" in (c["tree"] or ""),
              f"b's hook did not run in a's hub: {c['name']} {c['tree']}")
        check(c["rc"].strip() == "0" and c["stdout"] == "", f"a hook disturbed Cline: {c}")
    check(open(os.path.join(sb.hb, "cline-a.hb")).read() == final,
          "a hook in the hub wrote a's beat")
    check(all(s.get("src") == "sidecar" for s in b.sampler.samples), "b got a native beat")
    return statuses(a.sampler.samples) + ["|"] + statuses(b.sampler.samples)


MODES = {
    "cline-hub-3.0.65": (cline_hub, "cline", {}),
    "cline-print-3.0.65": (cline_print, "cline", {"delay": 1.5}),
    "cline-direct-3.0.65": (cline_direct, "cline", {"delay": 1.5}),
    "cline-tui-3.0.65": (cline_tui, "cline", {"ask": True}),
    "cline-esc-3.0.65": (cline_esc, "cline", {"delay": 20}),
    "cline-deny-3.0.65": (cline_deny, "cline", {}),
    "cline-two-3.0.65": (cline_two, "cline", {"ask": True}),
    "cline-two-tui-3.0.65": (cline_two_tui, "cline", {"ask": True}),
}
