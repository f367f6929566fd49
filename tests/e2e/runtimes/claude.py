"""Claude Code: `claude -p` and the TUI, both pinned versions, configured by
`hb-install-hooks claude`.
"""

import json
import os
import time

from harness import (
    check, deadline_wait, MODS, HOLD, check_common, check_exited, hold_waiting, install_hooks,
    statuses)

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
        a.wait_status("ok", timeout=30)
        m = a.sampler.mark()
        time.sleep(HOLD)  # idle at the prompt: ok stays ok, carried
        idle = a.sampler.since(m)
        check(all(s.get("status") == "ok" for s in idle), f"idle beat not ok: {idle[:3]}")
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
    "claude-interactive-2.1.197": (claude_interactive("claude-old"), "claude-old", {}),
    "claude-interactive-2.1.332": (claude_interactive("claude-new"), "claude-new", {}),
}
