"""Qwen Code: `qwen -p` and the TUI, configured by `hb-install-hooks qwen`
in a fresh HOME, against the mock's chat completions.
"""

import json
import os
import time

from harness import (
    check, deadline_wait, MODS, NODE_BIN, check_common, check_exited, hold_waiting,
    install_hooks, statuses, hold_idle, check_hooks_silent)
from edges import after_key, busy_then_ok, deny_key

PACKAGES = ["qwen"]

QWEN_MODEL = "qwen-hb-mock"

# The user's own settings: the mock as an OpenAI-compatible provider, and
# everything that would reach past it switched off by Qwen's own settings.
# Tool search off: the shell tool is then declared to the model directly
# (else it hides behind Qwen's tool_search / tool_call bridge).
USER_SETTINGS = {
    "security": {"auth": {"selectedType": "openai"}},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "general": {"enableAutoUpdate": False},
    "memory": {"enableManagedAutoMemory": False, "enableManagedAutoDream": False},
    "ui": {"enableFollowupSuggestions": False},
    "tools": {"approvalMode": "default", "toolSearch": {"enabled": False}},
    # A hook of the user's own, kept by the installer.
    "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true", "timeout": 5}]}]},
}


def settings_path(sb):
    return os.path.join(sb.home, ".qwen", "settings.json")


def qwen_setup(sb):
    path = settings_path(sb)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(USER_SETTINGS, f, indent=2)
        f.write("\n")
    # Install, uninstall: the user's file comes back byte for byte; then
    # install for good, and a second install changes nothing.
    with open(path, "rb") as f:
        before = f.read()
    out = install_hooks(sb, "qwen", {})
    check(out.count("added ") == 7, f"hb-install-hooks qwen: {out}")
    out = install_hooks(sb, "qwen", {}, "--uninstall")
    check(out.count("removed ") == 7, f"hb-install-hooks --uninstall qwen: {out}")
    with open(path, "rb") as f:
        after = f.read()
    check(before == after, f"--uninstall left {after!r}, the user had {before!r}")
    install_hooks(sb, "qwen", {})
    check("nothing to change" in install_hooks(sb, "qwen", {}), "a second install changed")
    with open(path) as f:
        settings = json.load(f)
    check(settings["hooks"]["Stop"][0]["hooks"][0]["command"] == "true",
          f"the user's own hook was not kept first: {settings['hooks']['Stop']}")
    return {"OPENAI_BASE_URL": sb.base + "/v1", "OPENAI_API_KEY": "sk-hb-mock",
            "OPENAI_MODEL": QWEN_MODEL, "QWEN_CODE_SUPPRESS_YOLO_WARNING": "1"}


def qwen_cli():
    return [os.path.join(NODE_BIN, "node"), os.path.join(MODS, "qwen", "cli-entry.js")]


def check_model_from_the_first_beat(a):
    """SessionStart names the model: the first native beat has it."""
    first = next(s for s in a.sampler.samples if s.get("src") == "native")
    check(first.get("model") == QWEN_MODEL, f"the first native beat: {first}")


def qwen_print(sb):
    env = qwen_setup(sb)
    # Headless Qwen declines every tool that needs approval: yolo, as a
    # headless agent runs.
    a = sb.start("qw-print", qwen_cli() + ["-p", "run the tool", "--approval-mode", "yolo"],
                 env)
    check_exited(a, timeout=60)
    check_common(sb, a, QWEN_MODEL)
    check_model_from_the_first_beat(a)
    check_hooks_silent(sb)  # Qwen reads what a hook prints
    st = statuses(a.sampler.samples)
    check("busy" in st, f"never busy: {st}")
    # No SessionEnd in print mode: Stop's ok, then the sidecar's exited.
    # Qwen exits at once after Stop, so its ok may stand for less than the
    # sampler's 40 ms under load: then the beat the Stop hook left (the
    # recording wrapper keeps it) shows it was written.
    calls = sb.hook_calls()
    stop_ok = bool(calls) and (calls[-1]["beat"] or {}).get("status") == "ok"
    check(st[-1:] == ["exited"] and (st[-2:] == ["ok", "exited"] or stop_ok),
          f"the turn did not end ok before exited: {st}")
    check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
    # Qwen migrated the file as it ran (it adds "$version"); --uninstall
    # after it still takes out exactly what the installer added.
    install_hooks(sb, "qwen", {}, "--uninstall")
    with open(settings_path(sb)) as f:
        after = json.load(f)
    after.pop("$version", None)
    check(after == USER_SETTINGS, f"after the run, --uninstall left {after!r}")
    return st


def qwen_interactive(sb):
    env = qwen_setup(sb)
    a = sb.start("qw-tui", qwen_cli(), env)
    deadline_wait(lambda: a.sampler.latest().get("src") == "native", 30,
                  "the SessionStart beat")
    deadline_wait(lambda: "Type your message" in a.pane(), 30, "qwen's prompt")
    a.type_line("run the tool")
    hold_waiting(a)
    check("allow" in a.pane().lower() or "proceed" in a.pane().lower(),
          "no approval dialog in the pane")
    a.keys("Enter")  # "Allow once" is selected
    deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                  "the tool to run")
    a.wait_pane("Done: the tool ran.")
    hold_idle(a)
    a.type_line("/quit")
    check_exited(a)
    check_common(sb, a, QWEN_MODEL)
    check_model_from_the_first_beat(a)
    check_hooks_silent(sb)  # Qwen reads what a hook prints
    st = statuses(a.sampler.samples)
    check("busy" in st and "waiting" in st, f"statuses {st}")
    check(st.index("busy") < st.index("waiting"), f"statuses {st}")
    return st


def qwen_edges(sb):
    """Issue 22's edges in one TUI session, all told by Qwen's own hooks
    (Stop, `idle_prompt`): Esc while the model streams (E1), Esc while an
    approved `sleep 60` runs (E2), "No" at the dialog (E3), Esc at it (E4),
    the ask_user_question question (E5: waiting while open, busy after)."""
    env = qwen_setup(sb)
    a = sb.start("qw-edge", qwen_cli(), env)
    deadline_wait(lambda: a.sampler.latest().get("src") == "native", 30,
                  "the SessionStart beat")
    deadline_wait(lambda: "Type your message" in a.pane(), 30, "qwen's prompt")
    lat, mode = {}, "qwen-edges"
    a.type_line("hb-slow")
    a.wait_status("busy")
    a.wait_pane("word3")
    lat["E1"] = after_key(a, lambda: a.keys("Escape"), "ok", "E1", sb, mode, by_hook=True)
    busy_then_ok(a, "hb-text", "E1")
    a.type_line("hb-long")
    a.wait_status("waiting")
    deadline_wait(lambda: deny_key(a.pane()), 30, "E2: the dialog")
    a.keys("Enter")  # allow once
    deadline_wait(lambda: a.sampler.latest().get("status") == "busy", 30, "E2: busy in the tool")
    time.sleep(1.0)  # the tool runs a while (not a wait for the beat)
    lat["E2"] = after_key(a, lambda: a.keys("Escape"), "ok", "E2", sb, mode, by_hook=True)
    busy_then_ok(a, "hb-text", "E2")
    a.type_line("run the tool")
    a.wait_status("waiting")
    key = deadline_wait(lambda: deny_key(a.pane()), 30, "the dialog's No")
    lat["E3"] = after_key(a, lambda: a.keys(key), "ok", "E3", sb, mode, by_hook=True)
    busy_then_ok(a, "hb-text", "E3")
    a.type_line("run the tool")
    a.wait_status("waiting")
    deadline_wait(lambda: deny_key(a.pane()), 30, "the dialog")
    lat["E4"] = after_key(a, lambda: a.keys("Escape"), "ok", "E4", sb, mode, by_hook=True)
    busy_then_ok(a, "hb-text", "E4")
    a.type_line("hb-ask")
    hold_waiting(a)
    a.wait_pane("Red")
    lat["E5"] = after_key(a, lambda: a.keys("Enter"), None, "E5", sb, mode, hold=False,
                          not_="waiting", by_hook=True)
    hold_idle(a)
    check(not os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "a denied tool ran")
    a.type_line("/quit")
    check_exited(a)
    check_common(sb, a, QWEN_MODEL)
    check_hooks_silent(sb)
    return statuses(a.sampler.samples) + [f"latency {lat}"]


MODES = {
    "qwen-print-0.24.4": (qwen_print, "qwen", {"delay": 1.5}),
    "qwen-interactive-0.24.4": (qwen_interactive, "qwen", {}),
    "qwen-edges-0.24.4": (qwen_edges, "qwen", {"delay": 1.0}),
}
