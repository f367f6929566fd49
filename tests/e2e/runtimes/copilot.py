"""GitHub Copilot CLI: `copilot -p` and the interactive CLI, configured by
`hb-install-hooks copilot` alone in a fresh HOME, offline (no GitHub login)
against the mock's chat completions.

Issue 22's edges (interrupts, a denial, Esc at a dialog, ask_user) are
the `copilot-edge-*` modes.

Copilot CLI is fail-closed and reads what a hook prints, so on top of the
common checks every hook call must leave stderr empty too, and no problem
may reach the hook log.
"""

import json
import os
import shlex
import time

from harness import (
    CACHE, MODS, Failure, check, check_common, check_exited, deadline_wait, hold_waiting,
    install_hooks, statuses, hold_idle, check_hooks_silent)
from edges import hold, moving, next_prompt, press

PACKAGES = ["copilot"]

COPILOT_MODEL = "hb-mock-model"


def copilot_setup(sb, model_env=True, round_trip=False):
    hooks = os.path.join(sb.home, ".copilot", "hooks")
    os.makedirs(hooks)
    # The user's own hooks, beside ours: they must keep working, and the
    # installer must never touch their file.
    mine = os.path.join(hooks, "mine.json")
    touch = "touch " + shlex.quote(os.path.join(sb.root, "user-hook-ran"))
    with open(mine, "w") as f:
        json.dump({"version": 1, "hooks": {"agentStop": [
            {"type": "command", "bash": touch, "timeoutSec": 5}]}}, f)
    with open(mine, "rb") as f:
        user = f.read()
    out = install_hooks(sb, "copilot", {})
    check(out.count(": added ") == 10, f"hb-install-hooks copilot: {out}")
    if round_trip:
        out = install_hooks(sb, "copilot", {})
        check("nothing to change" in out, f"a second install changed something: {out}")
        out = install_hooks(sb, "copilot", {}, "--uninstall")
        check(out.count(": removed ") == 11 and "the file, now empty" in out,
              f"--uninstall: {out}")
        check(sorted(os.listdir(hooks)) == ["mine.json"], f"left: {os.listdir(hooks)}")
        install_hooks(sb, "copilot", {})
    with open(mine, "rb") as f:
        check(f.read() == user, "the user's hooks file changed")
    env = {"COPILOT_OFFLINE": "true", "COPILOT_AUTO_UPDATE": "false",
           "COPILOT_PROVIDER_BASE_URL": sb.base + "/v1",
           # The binary unpacks itself (235 MB) once per version: shared.
           "COPILOT_PKG_CACHE_HOME": os.path.join(CACHE, "copilot-pkg")}
    if model_env:
        env["COPILOT_MODEL"] = COPILOT_MODEL
    return env


def copilot_bin():
    return [os.path.join(MODS, ".bin", "copilot"), "--no-auto-update"]


def check_hooks(sb, want):
    """Nothing on stderr either, nothing in the hook log; the hooks named
    the events this version sends, in order, and each left the beat
    `want` says, with the model from the first on."""
    check_hooks_silent(sb)
    calls = sb.hook_calls()
    # A compound command (`... || true`) keeps Copilot's bash between
    # the hook and the runtime: the pid walk went past it (check_pids).
    tree = (calls[0]["tree"] or "").splitlines()
    check(len(tree) > 1 and "--norc --noprofile -c" in tree[1],
          f"the hook's parent is not Copilot's bash: {tree[:3]}")
    events = [c["args"][c["args"].index("--event") + 1] for c in calls]
    beats = [c["beat"] or {} for c in calls]
    # sessionEnd hands the beat back: what its copy shows is the sidecar's.
    got = [(e, None if e == "sessionEnd" else b.get("status")) for e, b in zip(events, beats)]
    check(got == want, f"event -> beat {got}, want {want}")
    models = {b.get("model") for e, b in zip(events, beats) if e != "sessionEnd"}
    check(models == {COPILOT_MODEL}, f"the hooks' beats named {models}")


def copilot_print(sb):
    # No COPILOT_MODEL: the model comes from `--model` until the session's
    # events file names it.
    env = copilot_setup(sb, model_env=False, round_trip=True)
    a = sb.start("cp-print", copilot_bin() + ["-p", "run the tool", "--allow-all-tools",
                                              "--model", COPILOT_MODEL], env)
    check_exited(a, timeout=60)
    check_common(sb, a)
    # permissionRequest comes for a tool approved by itself: busy.
    check_hooks(sb, [("sessionStart", "busy"), ("userPromptSubmitted", "busy"),
                     ("preToolUse", "busy"), ("permissionRequest", "busy"),
                     ("postToolUse", "busy"), ("agentStop", "ok"), ("sessionEnd", None)])
    st = statuses(a.sampler.samples)
    check("busy" in st and "waiting" not in st, f"statuses {st}")
    check(st[-2:] == ["ok", "exited"], f"the run did not end ok before exited: {st}")
    check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
    check(os.path.exists(os.path.join(sb.root, "user-hook-ran")), "the user's hook never ran")
    return st


def copilot_interactive(sb):
    env = copilot_setup(sb)
    a = sb.start("cp-tui", copilot_bin(), env)
    a.wait_pane("Confirm folder trust")
    # Nothing at launch: no hook before the first prompt.
    check(not sb.hook_calls(), f"a hook before the first prompt: {sb.hook_calls()[:1]}")
    a.keys("Enter")  # "1. Yes"
    deadline_wait(lambda: "Confirm folder trust" not in a.pane() and "/ commands" in a.pane(),
                  30, "copilot's prompt")
    a.type_line("run the tool")
    hold_waiting(a)
    check("Do you want to run this command?" in a.pane(), "no permission prompt in the pane")
    a.keys("Enter")  # "1. Yes"
    deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                  "the tool to run")
    hold_idle(a)
    a.type_line("/exit")
    check_exited(a)
    check_common(sb, a)
    # The dialog is the notification; its approval sends nothing.
    check_hooks(sb, [("sessionStart", "busy"), ("userPromptSubmitted", "busy"),
                     ("preToolUse", "busy"), ("permissionRequest", "busy"),
                     ("notification", "waiting"), ("postToolUse", "busy"),
                     ("agentStop", "ok"), ("sessionEnd", None)])
    st = statuses(a.sampler.samples)
    check("busy" in st and "waiting" in st and st.index("busy") < st.index("waiting"),
          f"statuses {st}")
    check(st[-2:] == ["ok", "exited"], f"the session did not end ok before exited: {st}")
    return st


def copilot_retry(sb):
    """The first model request fails: Copilot retries. No payload says
    whether an error ends the turn (a failed turn sends no agentStop), so
    errorOccurred is `ok` and the next event of a successful retry is busy
    again."""
    env = copilot_setup(sb)
    a = sb.start("cp-retry", copilot_bin() + ["-p", "run the tool", "--allow-all-tools"], env)
    check_exited(a, timeout=60)
    check_common(sb, a)
    check_hooks(sb, [("sessionStart", "busy"), ("userPromptSubmitted", "busy"),
                     ("errorOccurred", "ok"), ("preToolUse", "busy"),
                     ("permissionRequest", "busy"), ("postToolUse", "busy"),
                     ("agentStop", "ok"), ("sessionEnd", None)])
    posts = [r for r in sb.requests_seen() if r["method"] == "POST"]
    check(len(posts) == 3, f"Copilot did not retry once: {len(posts)} model requests")
    st = statuses(a.sampler.samples)
    check(st[-2:] == ["ok", "exited"] and "busy" in st, f"statuses {st}")
    check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
    return st


MODES = {
    "copilot-print-1.0.102": (copilot_print, "copilot", {"delay": 1.5}),
    "copilot-interactive-1.0.102": (copilot_interactive, "copilot", {}),
    "copilot-retry-1.0.102": (copilot_retry, "copilot", {"fail_first": 1}),
}


# --- issue 22: the edges (edges.py) ----------------------------------------
# No hook fires for an interrupt (Esc Esc, Ctrl+C), nor for Esc at a
# dialog, nor for a denial until the model's next answer (agentStop): hb
# reads them from the session's events.jsonl.


def copilot_edge_mode(drive):
    """The interactive CLI, one edge driven by `drive(sb, agent) ->
    {edge: result}`, then a following prompt busy -> ok, /exit, the
    common checks."""
    def mode(sb):
        env = copilot_setup(sb)
        a = sb.start("cp-edge", copilot_bin(), env)
        a.wait_pane("Confirm folder trust")
        a.keys("Enter")  # "1. Yes"
        deadline_wait(lambda: "Confirm folder trust" not in a.pane()
                      and "/ commands" in a.pane(), 30, "copilot's prompt")
        got = drive(sb, a)
        next_prompt(a)
        a.type_line("/exit")
        check_exited(a)
        check_common(sb, a)
        check_hooks_silent(sb)
        return {"edges": got, "statuses": statuses(a.sampler.samples)}
    return mode


def ctrl_c(a):
    def keys():
        """Ctrl+C"""
        a.keys("C-c")
    return keys


def esc_esc(a):
    def keys():
        """Esc Esc"""
        # Two presses, as a person makes them. On a loaded machine the
        # CLI can miss the pair (the footer still offers it): press
        # again, and time the latency from the second key of the pair
        # that took.
        for i in range(3):
            # Apart from any earlier press, so that no stray one pairs.
            time.sleep(0.5 if i == 0 else 1.5)
            a.keys("Escape")
            # Closer than this, the CLI can read the pair as one Alt+Esc.
            time.sleep(0.4)
            a.keys("Escape")
            last = time.monotonic()
            try:
                deadline_wait(lambda: "esc esc interrupt" not in a.pane(), 1.5,
                              "the interrupt")
                break
            except Failure:
                pass
        return last
    return keys


def copilot_e1_stream(sb, a):
    """E1: Ctrl+C, then Esc Esc, while the model streams. (Esc Esc as
    the session's very first key went unseen by the CLI in some runs.)"""
    got = {}
    for edge, keys in (("E1 C-c", ctrl_c(a)), ("E1 Esc Esc", esc_esc(a))):
        a.type_line(f"hb-stall {edge}")
        a.wait_status("busy")
        a.wait_pane("esc esc interrupt")
        got[edge] = press(a, keys, "ok")
        hold(a, "ok")
    return got


def copilot_e2_tool(sb, a):
    """E2: Esc Esc, then Ctrl+C, while a long tool runs (approved)."""
    got = {}
    for edge, keys in (("E2 Esc Esc", esc_esc(a)), ("E2 C-c", ctrl_c(a))):
        a.type_line(f"hb-long {edge}")
        a.wait_pane("Do you want to run this command?")
        # Copilot runs hooks without waiting for them: approving before
        # the dialog's own hook has landed leaves that hook the last word.
        a.wait_status("waiting")
        a.keys("Enter")  # "1. Yes"
        deadline_wait(lambda: "sleep 60" in a.pane() and "Do you want" not in a.pane(), 30,
                      "the long tool to run")
        a.wait_status("busy")
        time.sleep(0.5)
        got[edge] = press(a, keys, "ok")
        hold(a, "ok")
    return got


def copilot_e3_deny(sb, a):
    """E3: "No, and tell Copilot what to do differently": the model goes
    on (not waiting at once), and its agentStop ends the turn."""
    a.type_line("run the tool")
    a.wait_status("waiting")
    a.wait_pane("Do you want to run this command?")
    a.keys("3")
    time.sleep(0.3)
    got = {"E3 deny": press(a, lambda: a.type_line("do not"), moving, what="the denial")}
    a.wait_status("ok")
    hold(a, "ok")
    check(not os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "a denied tool ran")
    return got


def copilot_e4_escape(sb, a):
    """E4: Esc at the permission dialog ends the turn."""
    a.type_line("run the tool")
    a.wait_status("waiting")
    a.wait_pane("Do you want to run this command?")
    time.sleep(0.3)  # the dialog's hook just ran: the marker is fresh
    got = {"E4 Escape": press(a, ["Escape"], "ok")}
    hold(a, "ok")
    check(not os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "a cancelled tool ran")
    return got


def copilot_e5_question(sb, a):
    """E5: ask_user waits while on screen; its answer, and Esc at it
    (the model goes on), are busy, then ok."""
    got = {}
    for edge, key in (("E5 answer", "Enter"), ("E5 Escape", "Escape")):
        a.type_line(f"hb-ask {edge}")
        a.wait_status("waiting")
        a.wait_pane("Copilot needs information")
        if key == "Enter":
            hold(a, "waiting")
        got[edge] = press(a, [key], moving)
        a.wait_status("ok")
        hold(a, "ok")
    return got


MODES.update({
    "copilot-edge-e1-stream-1.0.102": (copilot_edge_mode(copilot_e1_stream), "copilot", {}),
    "copilot-edge-e2-tool-1.0.102": (copilot_edge_mode(copilot_e2_tool), "copilot", {}),
    "copilot-edge-e3-deny-1.0.102": (copilot_edge_mode(copilot_e3_deny), "copilot",
                                     {"delay": 6.0}),
    "copilot-edge-e4-escape-1.0.102": (copilot_edge_mode(copilot_e4_escape), "copilot", {}),
    "copilot-edge-e5-question-1.0.102": (copilot_edge_mode(copilot_e5_question), "copilot",
                                         {"delay": 1.0}),
})
