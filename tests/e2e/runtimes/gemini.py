"""Gemini CLI: `gemini -p` and the TUI, configured by `hb-install-hooks
gemini` alone (the hb-heartbeat extension, installed with Gemini's own
`gemini extensions install`) in a fresh HOME. Gemini shows a hook's stderr
to its user, so every hook must be silent on both streams, and none may
leave a line in the hook log.
"""

import json
import os
import re

from harness import (
    Failure, check, deadline_wait, MODS, check_common, check_exited, hold_waiting,
    install_hooks, statuses, hold_idle, check_hooks_silent)

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


MODES = {
    "gemini-print-0.61.0": (gemini_print, "gemini-cli", {"delay": 1.5}),
    "gemini-interactive-0.61.0": (gemini_interactive, "gemini-cli", {"delay": 1.0}),
}
