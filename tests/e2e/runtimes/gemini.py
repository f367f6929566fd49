"""Gemini CLI: `gemini -p` and the TUI, configured by `hb-install-hooks
gemini` alone (the hb-heartbeat extension, installed with Gemini's own
`gemini extensions install`) in a fresh HOME. Gemini shows a hook's stderr
to its user, so every hook must be silent on both streams, and none may
leave a line in the hook log.
"""

import json
import os
import re
import time

from harness import (
    Failure, check, deadline_wait, MODS, check_common, check_exited, hold_waiting,
    install_hooks, statuses, hold_idle, check_hooks_silent)
from edges import after_key, busy_then_ok

PACKAGES = ["gemini-cli"]

GEMINI_JS = os.path.join(MODS, "gemini-cli", "bundle", "gemini.js")
EXTENSION = "hb-heartbeat"

# The user's own settings: the mock's key, and no update check, usage
# statistics or telemetry. Their own hook stays theirs.
USER_SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "hooks": {"AfterAgent": [{"hooks": [{"type": "command", "command": "true",
                                          "timeout": 5000}]}]},
}


def gemini_setup(sb, cycle=False):
    """HOME as a user has it (settings, the work folder trusted), then the
    integration as a user installs it. `cycle`: install, uninstall (the
    user's files byte for byte, the extension gone), install."""
    gdir = os.path.join(sb.home, ".gemini")
    os.makedirs(gdir, exist_ok=True)
    users = {}
    for name, doc in (("settings.json", USER_SETTINGS),
                      ("trustedFolders.json", {sb.work: "TRUST_FOLDER"})):
        with open(os.path.join(gdir, name), "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        users[name] = open(os.path.join(gdir, name), "rb").read()
    # `gemini` on the PATH, as a user has it: the installer runs it.
    sb.env["PATH"] = os.path.join(MODS, ".bin") + ":" + sb.env["PATH"]
    ext = os.path.join(gdir, "extensions", EXTENSION)
    env = {"GOOGLE_GEMINI_BASE_URL": sb.base, "GEMINI_API_KEY": "hb-mock-key"}
    if cycle:
        out = install_hooks(sb, "gemini", env)
        check("installed" in out and os.path.isdir(ext), f"not installed: {out}")
        out = install_hooks(sb, "gemini", env, "--uninstall")
        check("removed" in out and not os.path.exists(ext), f"--uninstall left {ext}: {out}")
        check("nothing to change" in install_hooks(sb, "gemini", env, "--uninstall"),
              "a second --uninstall changed")
    out = install_hooks(sb, "gemini", env)
    check("installed" in out, f"hb-install-hooks installed nothing: {out}")
    check("nothing to change" in install_hooks(sb, "gemini", env), "a second install changed")
    for name, before in users.items():
        check(open(os.path.join(gdir, name), "rb").read() == before,
              f"hb-install-hooks changed the user's {name}")
    return env


def gemini_model(sb):
    """The model of the runtime's first turn (Gemini names it in the path,
    after routing)."""
    for r in sb.requests_seen():
        m = re.match(r"/v1beta/models/([^:/]+):streamGenerateContent", r["path"])
        if r["method"] == "POST" and m:
            return m.group(1)
    raise Failure("the mock saw no streamGenerateContent request")


def check_silent(sb, a):
    """Nothing on stderr from any hook, no line in any hook log, and every
    hook ran under the relaunched child, whose parent is the pane's node
    (but SessionEnd's, which may find the child already gone: at `/quit`
    Gemini does not wait for it)."""
    calls = sb.hook_calls()
    check(calls, "no hook ran")
    check_hooks_silent(sb)
    for c in calls:
        tree = [line.split(" ", 2) for line in (c["tree"] or "").splitlines()]
        if '"SessionEnd"' in (c["payload"] or "") and len(tree) == 1:
            continue
        # The shim (bash -c execs it), the CLI's child, the pane's node.
        check(len(tree) >= 3 and tree[2][0] == str(a.pane_pid) and tree[1][1] == tree[2][0]
              and "node" in tree[1][2] and "node" in tree[2][2],
              f"the hook ran outside the relaunched pair of {a.pane_pid}: {c['tree']}")


def gemini_print(sb):
    env = gemini_setup(sb, cycle=True)
    a = sb.start("gm-print", [GEMINI_JS, "-p", "run the tool", "--approval-mode", "yolo"], env)
    check_exited(a, timeout=90)
    check_common(sb, a, gemini_model(sb))
    check_silent(sb, a)
    st = statuses(a.sampler.samples)
    check("busy" in st, f"never busy: {st}")
    check(st[-2:] == ["ok", "exited"], f"the turn did not end ok before exited: {st}")
    check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
    return st


def gemini_interactive(sb):
    env = gemini_setup(sb)
    a = sb.start("gm-tui", [GEMINI_JS], env)
    deadline_wait(lambda: a.sampler.latest().get("src") == "native", 60, "the SessionStart beat")
    a.wait_status("ok", timeout=30)
    deadline_wait(lambda: "Type your message" in a.pane(), 60, "gemini's prompt")
    a.type_line("run the tool")
    hold_waiting(a)
    check("Allow" in a.pane(), f"no approval dialog in the pane:\n{a.pane()}")
    a.keys("Enter")  # "1. Allow once" is selected
    deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                  "the tool to run")
    hold_idle(a)
    a.type_line("/quit")
    check_exited(a)
    check_common(sb, a, gemini_model(sb))
    check_silent(sb, a)
    st = statuses(a.sampler.samples)
    check("busy" in st and "waiting" in st, f"statuses {st}")
    check(st.index("busy") < st.index("waiting"), f"statuses {st}")
    return st


def gemini_edges(sb):
    """Issue 22's edges in one TUI session: Esc while the model streams
    (E1: AfterAgent), Esc while an approved tool runs (E2: AfterTool says
    the tool was cancelled), "No" at the dialog (E3) and Esc at it (E4),
    which fire no hook (the chat recording says "Request cancelled."), and
    the ask_user question (E5: waiting while open, busy after). E3 and E4
    are settled from the recording while the Notification's marker is
    still fresh (the key comes as soon as the dialog shows)."""
    env = gemini_setup(sb)
    a = sb.start("gm-edge", [GEMINI_JS], env)
    deadline_wait(lambda: a.sampler.latest().get("src") == "native", 60, "the SessionStart beat")
    deadline_wait(lambda: "Type your message" in a.pane(), 60, "gemini's prompt")
    lat = {}
    mode = "gemini-edges"
    # E1: the model streams (the mock's hb-slow), Esc.
    a.type_line("hb-slow")
    a.wait_status("busy")
    a.wait_pane("word3")
    lat["E1"] = after_key(a, lambda: a.keys("Escape"), "ok", "E1", sb, mode)
    busy_then_ok(a, "hb-text", "E1")
    # E2: an approved shell tool that runs long, Esc.
    a.type_line("hb-long")
    a.wait_status("waiting")
    a.wait_pane("Allow once")
    a.keys("Enter")  # "1. Allow once"
    # The shell runs. (No hook marks the approval and the recording has
    # the call only once it is done: the beat says waiting until then.)
    a.wait_pane("Tab to focus")
    time.sleep(1.0)  # the tool runs a while (not a wait for the beat)
    lat["E2"] = after_key(a, lambda: a.keys("Escape"), "ok", "E2", sb, mode)
    busy_then_ok(a, "hb-text", "E2")
    # E3: "No" at the dialog (its third option).
    a.type_line("run the tool")
    a.wait_status("waiting")
    a.wait_pane("Allow once")
    lat["E3"] = after_key(a, lambda: a.keys("3"), "ok", "E3", sb, mode, src="settled")
    busy_then_ok(a, "hb-text", "E3")
    # E4: Esc at the dialog, right after its hook (the marker fresh).
    a.type_line("run the tool")
    a.wait_status("waiting")
    a.wait_pane("Allow once")
    lat["E4"] = after_key(a, lambda: a.keys("Escape"), "ok", "E4", sb, mode, src="settled")
    busy_then_ok(a, "hb-text", "E4")
    # E5: the question, waiting for as long as it is open, busy after.
    a.type_line("hb-ask")
    hold_waiting(a)
    a.wait_pane("Red")
    lat["E5"] = after_key(a, lambda: a.keys("Enter"), None, "E5", sb, mode, hold=False,
                          not_="waiting")
    hold_idle(a)
    check(not os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")),
          "a denied tool ran")
    a.type_line("/quit")
    check_exited(a)
    check_common(sb, a, gemini_model(sb))
    check_silent(sb, a)
    return statuses(a.sampler.samples) + [f"latency {lat}"]


MODES = {
    "gemini-print-0.61.0": (gemini_print, "gemini-cli", {"delay": 1.5}),
    "gemini-interactive-0.61.0": (gemini_interactive, "gemini-cli", {"delay": 1.0}),
    "gemini-edges-0.61.0": (gemini_edges, "gemini-cli", {"delay": 1.0}),
}
