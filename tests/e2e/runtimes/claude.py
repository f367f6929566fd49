"""Claude Code: `claude -p` and the TUI, both pinned versions, configured by
`hb-install-hooks claude`.
"""

import json
import os

from harness import (
    check, deadline_wait, MODS, check_common, check_exited, hold_waiting, install_hooks,
    statuses, hold_idle)

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
