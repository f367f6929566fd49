"""Claude Code: `claude -p` and the TUI, both pinned versions, configured by
`hb-install-hooks claude`.
"""

import calendar
import json
import os
import re
import time

from harness import (
    check, deadline_wait, MODS, check_common, check_exited, hold_waiting, install_hooks,
    statuses, hold_idle, HOLD, INTERVAL, Failure)

PACKAGES = ["claude-old", "claude-new"]

CLAUDE_MODEL = "claude-opus-5-5"
CLAUDE_KEY = "sk-ant-hb-e2e-0123456789abcdefghijklmnop"


def claude_setup(sb):
    cdir = os.path.join(sb.home, ".claude")
    os.makedirs(cdir, exist_ok=True)
    # The user's settings (2.1.3xx defaults to "auto" mode, which answers
    # prompts itself), then the integration as a user installs it.
    with open(os.path.join(cdir, "settings.json"), "w") as f:
        json.dump({"permissions": {"defaultMode": "default"}}, f)
    install_hooks(sb, "claude", {})
    state = {"hasCompletedOnboarding": True, "lastOnboardingVersion": "9.9.9",
             "theme": "dark", "hasSeenTasksHint": True, "autoUpdates": False,
             "bypassPermissionsModeAccepted": False,
             "customApiKeyResponses": {"approved": [CLAUDE_KEY[-20:]], "rejected": []},
             "projects": {sb.work: {"hasTrustDialogAccepted": True,
                                    "hasCompletedProjectOnboarding": True,
                                    "allowedTools": []}}}
    with open(os.path.join(sb.home, ".claude.json"), "w") as f:
        json.dump(state, f)
    return {"ANTHROPIC_BASE_URL": sb.base, "ANTHROPIC_API_KEY": CLAUDE_KEY,
            "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_BUG_COMMAND": "1", "CLAUDE_CODE_DISABLE_TERMINAL_TITLE": "1",
            }


def claude_bin(pkg):
    return os.path.join(MODS, pkg, "bin", "claude.exe")


def claude_print(pkg):
    def run(sb):
        env = claude_setup(sb)
        a = sb.start("cl-print", [claude_bin(pkg), "-p", "run the tool", "--allowedTools",
                                  "Bash"], env)
        check_exited(a, timeout=60)
        check_common(sb, a)
        st = statuses(a.sampler.samples)
        check("busy" in st and st.index("busy") < len(st) - 1, f"never busy: {st}")
        check(st[-2:] == ["ok", "exited"] or st[-3:-1] == ["ok", "ok"],
              f"the turn did not end ok before exited: {st}")
        check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
        return st
    return run


def transcript_names_model(path, size):
    """Did the transcript's first `size` bytes name the main thread's model
    (an `api-request` entry's params.model, or an assistant message's)?"""
    try:
        with open(path, "rb") as f:
            head = f.read(size)
    except OSError:
        return False
    for line in head.split(b"\n"):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if not isinstance(e, dict):
            continue
        if e.get("type") == "api-request" and "agentId" not in e:
            if (e.get("params") or {}).get("model"):
                return True
        m = e.get("message")
        if (e.get("type") == "assistant" and not e.get("isSidechain") and isinstance(m, dict)
                and m.get("model") not in (None, "<synthetic>")):
            return True
    return False


def check_model_from_first_carrier(sb, name, want, pinned=False):
    """Every hook's beat names the model from the first hook that could
    know it on: the first (pinned: the operator named it), else the first
    hook after the transcript names it."""
    calls = [c for c in sb.hook_calls() if c["name"] == name and "--hook" in c["args"]]
    check(calls, f"no hook calls of {name}")
    knows = False
    trail = []
    for c in calls:
        p = json.loads(c["payload"] or "{}")
        ev = p.get("hook_event_name")
        knows = knows or pinned or bool(
            c["tsize"] and transcript_names_model(p.get("transcript_path", ""),
                                                  int(c["tsize"])))
        got = (c["beat"] or {}).get("model")
        trail.append((ev, knows, got))
        if knows:
            check(got == want, f"{name}: the {ev} hook's beat names {got!r}, want {want!r} "
                               f"(the transcript or the pin named it by then): {trail}")
    check(knows, f"{name}: no hook ever ran after the transcript named the model: {trail}")
    return [e for e, k, _ in trail if k][:1]


def claude_print_model(pkg, runs=3, pinned=False):
    """`claude -p` again and again (several runs, since the timing of the
    transcript's writes varies): the model from its first carrier on."""
    def run(sb):
        env = claude_setup(sb)
        flags = ["--model", CLAUDE_MODEL] if pinned else []
        firsts, st = [], []
        for i in range(runs):
            name = f"cl-model-{i}"
            a = sb.start(name, [claude_bin(pkg), *flags, "-p", "run the tool",
                                "--allowedTools", "Bash"], env)
            check_exited(a, timeout=60)
            firsts += check_model_from_first_carrier(sb, name, CLAUDE_MODEL, pinned)
            check_common(sb, a, CLAUDE_MODEL)
            if pinned:
                first = next(s for s in a.sampler.samples if s.get("src") == "native")
                check(first.get("model") == CLAUDE_MODEL, f"the first native beat: {first}")
            st = statuses(a.sampler.samples)
            check("busy" in st, f"{name} never busy: {st}")
        return f"{st}, the model from {firsts}"
    return run


def claude_interactive(pkg):
    def run(sb):
        env = claude_setup(sb)
        a = sb.start("cl-tui", [claude_bin(pkg)], env)
        a.wait_status("ok", timeout=30)
        deadline_wait(lambda: a.sampler.latest().get("src") == "native", 30,
                      "the SessionStart beat")
        deadline_wait(lambda: "shortcuts" in a.pane() or "\u276f" in a.pane(), 30,
                      "claude's prompt")
        a.type_line("run the tool")
        hold_waiting(a)
        check("Do you want to proceed" in a.pane() or "proceed" in a.pane().lower(),
              "no permission prompt in the pane")
        a.keys("Enter")  # "1. Yes" is selected
        deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                      "the tool to run")
        hold_idle(a)
        a.type_line("/exit")
        check_exited(a)
        check_common(sb, a)
        st = statuses(a.sampler.samples)
        check("busy" in st and "waiting" in st, f"statuses {st}")
        check(st.index("busy") < st.index("waiting"), f"statuses {st}")
        return st
    return run


MODES = {
    "claude-print-2.1.197": (claude_print("claude-old"), "claude-old", {"delay": 1.5}),
    "claude-print-2.1.332": (claude_print("claude-new"), "claude-new", {"delay": 1.5}),
    # The tool call's message ends a second after its block: Claude Code
    # starts the tool (PreToolUse) before the answer is in the transcript.
    "claude-print-model-2.1.332": (claude_print_model("claude-new"), "claude-new",
                                   {"tail_delay": 1.0}),
    "claude-print-pinned-2.1.332": (claude_print_model("claude-new", runs=1, pinned=True),
                                    "claude-new", {}),
    "claude-interactive-2.1.197": (claude_interactive("claude-old"), "claude-old", {}),
    "claude-interactive-2.1.332": (claude_interactive("claude-new"), "claude-new", {}),
}


# --- issue 22: the ends of turns Claude Code fires no hook for -------------
#
# Each edge, in one TUI session, EDGE_RUNS times (HB_E2E_EDGE_RUNS, default
# 1): the key, then the listing `ok` (SRC `settled`: read from the
# transcript) within BOUND of it, `ok` while idle, and a next prompt busy
# -> ok. The latency from each key to the first sample that shows the end
# is reported with the mode's line.

LONG = "timeout 60 tail -f /dev/null"  # mock.py's ANTHROPIC_LONG
EDGE_RUNS = int(os.environ.get("HB_E2E_EDGE_RUNS") or 1)
BOUND = 2 * INTERVAL + 1.5


def wait_for(a, pred, timeout, what):
    return deadline_wait(lambda: pred(a.sampler.latest()), timeout, what)


def key_then(a, keys, want, src=None, timeout=BOUND):
    """Sends `keys`; the seconds until the listing said `want` (and `src`,
    when given). The deadline is the bound."""
    before = a.sampler.latest()
    t_key = time.monotonic() - a.sampler.t0
    wall = time.time()
    a.keys(*keys)

    def seen():
        for s in a.sampler.samples[-50:]:
            if s.get("t", -1) >= t_key and s.get("status") == want and (
                    src is None or s.get("src") == src):
                return s
        return None
    s = deadline_wait(seen, timeout, f"{want} ({src or 'any src'}) after {keys} "
                                     f"(before: {before})", every=0.02)
    # When the sidecar settled it (its stamp), apart from when the sampler
    # (an hb-read every 40 ms) saw it.
    stamp = os.path.join(a.sb.hb, f".{a.name}.settled")
    settled = None
    if src == "settled":
        at = os.stat(stamp).st_mtime
        settled = (at - wall, at - entry_time(a))
    return round(s["t"] - t_key, 2), before.get("src"), settled


def entry_time(a):
    """When Claude Code wrote the transcript's last end of a turn (its
    entry's `timestamp`), in Unix seconds."""
    with open(os.path.join(a.sb.hb, f".{a.name}.record")) as f:
        path = f.read().split("\n")[1]
    with open(path, encoding="utf-8") as f:
        ends = [json.loads(line) for line in f if "[Request interrupted by user" in line]
    stamp = ends[-1]["timestamp"]  # 2026-12-05T04:31:41.304Z
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + float(
        "0" + stamp[19:-1])


def held(a, status, seconds):
    m = a.sampler.mark()
    time.sleep(seconds)  # the state must hold this long on purpose
    bad = [s for s in a.sampler.since(m) if s.get("status") != status]
    check(not bad, f"left {status} while it should hold: {bad[:3]}")


def next_prompt(a):
    """A following prompt goes busy -> ok."""
    a.type_line("hb-text: say something")
    a.wait_status("busy", timeout=30)
    a.wait_status("ok", timeout=30)


def tool_running(sb, command):
    """Is `command` running in the work directory (the tool, started)?"""
    want = command.encode().replace(b" ", b"\0") + b"\0"
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read() == want and os.readlink(f"/proc/{pid}/cwd") == sb.work:
                    return True
        except (OSError, ValueError):
            pass
    return False


def option_key(pane, label):
    """The digit of the open dialog's option that starts with `label`."""
    dialog = pane[pane.rfind("Do you want to proceed"):]
    m = re.search(r"(\d)\.\s+" + re.escape(label), dialog)
    check(m, f"no option {label!r} in the dialog:\n{pane}")
    return m.group(1)


def claude_edges(pkg):
    def run(sb):
        env = claude_setup(sb)
        a = sb.start("cl-edges", [claude_bin(pkg)], env)
        a.wait_status("ok", timeout=30)
        deadline_wait(lambda: "shortcuts" in a.pane() or "\u276f" in a.pane(), 30,
                      "claude's prompt")
        lat = {e: [] for e in ("E1", "E2", "E3", "E4", "E5", "E5-esc")}
        stamped = {e: [] for e in lat}
        fresh = {e: 0 for e in lat}

        def took(edge, got):
            secs, src_before, settled = got
            lat[edge].append(secs)
            stamped[edge].append((round(settled[0], 3), round(settled[1], 3)))
            fresh[edge] += src_before == "native"
            held(a, "ok", HOLD)
            next_prompt(a)

        for _ in range(EDGE_RUNS):
            # E1: Esc while the model streams.
            a.type_line("hb-slow: stream for a minute")
            a.wait_status("busy", timeout=30)
            a.wait_pane("streaming slowly", timeout=30)
            took("E1", key_then(a, ["Escape"], "ok", "settled"))
            # E2: Esc while a tool runs.
            a.type_line("hb-long: run the long tool")
            # Claude Code asks even with an allow rule for it: "Yes" once.
            # (No hook follows the answer until the tool ends, so the beat
            # says `waiting` while the tool runs: nothing in the transcript
            # says the dialog was answered either.)
            asked = []

            def started():
                if tool_running(sb, LONG):
                    return True
                # "1. Yes" is selected; Claude Code ignores Enter for a
                # moment after a dialog opens, so it is pressed again while
                # the dialog stays open.
                if a.sampler.latest().get("status") == "waiting" and (
                        "Do you want to proceed" in a.pane()):
                    asked.append(time.monotonic())
                    if len(asked) > 2 and (len(asked) - 3) % 5 == 0:
                        a.keys("Enter")
                return False
            deadline_wait(started, 30, "the long tool", every=0.3)
            wait_for(a, lambda s: s.get("status") in ("busy", "waiting"), 10, "the tool's state")
            took("E2", key_then(a, ["Escape"], "ok", "settled"))
            # E3: "No" at the permission dialog, right after its hook.
            a.type_line("run the tool")
            a.wait_status("waiting", timeout=30)
            a.wait_pane("Do you want to proceed", timeout=10)
            # "No" selected with the arrows first (a digit selects, and
            # sometimes confirms too); the key is Enter.
            a.keys(*["Down"] * (int(option_key(a.pane(), "No")) - 1))
            deadline_wait(lambda: re.search(r"\u276f\s*\d\.\s+No", a.pane()), 5, "No selected")
            # Claude Code ignores Enter for a moment after a dialog's
            # selection moved (so that typing cannot answer it); an
            # operator is slower than that anyway. The marker stays fresh.
            time.sleep(0.7)
            took("E3", key_then(a, ["Enter"], "ok", "settled"))
            check(not os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")),
                  "the denied tool ran")
            # E4: Esc at the permission dialog.
            a.type_line("run the tool")
            a.wait_status("waiting", timeout=30)
            a.wait_pane("Do you want to proceed", timeout=10)
            took("E4", key_then(a, ["Escape"], "ok", "settled"))
            # E5: the question, waiting while it is on screen, busy after
            # the answer, then ok.
            a.type_line("hb-ask: ask me")
            a.wait_status("waiting", timeout=30)
            a.wait_pane("Which colour", timeout=10)
            held(a, "waiting", 1.5)
            t_key = time.monotonic() - a.sampler.t0
            # The choice, and the review step that may follow it.
            for _ in range(3):
                a.keys("Enter")
                try:
                    wait_for(a, lambda s: s.get("status") != "waiting", 2, "the answer")
                    break
                except Failure:
                    pass
            a.wait_status("ok", timeout=30)
            after = [s.get("status") for s in a.sampler.samples if s.get("t", -1) >= t_key]
            check("busy" in after, f"not busy after the answer: {after}")
            lat["E5"].append(statuses(a.sampler.samples)[-2:])
            held(a, "ok", HOLD)
            # E5, Esc at the question.
            a.type_line("hb-ask: ask me again")
            a.wait_status("waiting", timeout=30)
            a.wait_pane("Which colour", timeout=10)
            took("E5-esc", key_then(a, ["Escape"], "ok", "settled"))
        # A local command is no turn: the beat stays ok (its panel closed
        # with Esc, which interrupts nothing).
        a.type_line("/cost")
        held(a, "ok", HOLD)
        a.keys("Escape")
        held(a, "ok", 1)
        a.type_line("/exit")
        check_exited(a)
        check_common(sb, a)
        return (f"key -> listing (s) {lat}, (key, transcript entry) -> settled stamp (s) "
                f"{stamped}, "
                f"marker fresh at the key {fresh}")
    return run


MODES.update({
    # The answer to the question is followed by a second of the model's
    # work, so that the sampler sees it busy.
    "claude-edges-2.1.332": (claude_edges("claude-new"), "claude-new", {"delay": 1.0}),
    "claude-edges-2.1.197": (claude_edges("claude-old"), "claude-old", {"delay": 1.0}),
})
