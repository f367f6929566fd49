"""OpenCode: `opencode run` and the TUI, pinned, with the plugin
`hb-install-hooks opencode` installs beside the user's own plugin.

OpenCode waits for `npm install @opencode-ai/plugin` in its config
directory before it loads any plugin (offline: a 70 s stall); it skips
that when node_modules/ exists and package-lock.json lists every
dependency, as one online start leaves it. The sandbox's config directory
is set up that way from the pinned @opencode-ai/plugin of the e2e cache.
"""

import json
import os
import shutil
import time

from harness import (
    Failure, check, deadline_wait, MODS, HERE, ROOT, check_common, check_exited, check_hooks_silent,
    hold_idle, hold_waiting, install_hooks, statuses)
from edges import after_key, busy_then_ok

PACKAGES = ["opencode", "opencode-plugin"]

MODEL = "hb-mock-model"
PLUGIN = "mosaic-heartbeat.ts"
USER_PLUGIN = "opencode_user_plugin.js"


def oc_bin():
    """The native binary. The lock pins opencode-ai's linux-x64 package
    itself: it is the binary opencode-ai's postinstall links as
    `.bin/opencode`, and the registry here serves no other platform's
    package, so a lock of opencode-ai that `npm ci` accepts cannot be made."""
    return os.path.join(MODS, "opencode", "bin", "opencode")


def config_dir(sb):
    return os.path.join(sb.root, "xdg", "config", "opencode")


def snapshot(d):
    """Every file (bytes) and symlink (target) under d."""
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, d)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
                if n in dirs:
                    dirs.remove(n)
            elif n in files:
                with open(p, "rb") as f:
                    out[rel] = ("file", f.read())
            else:
                out[rel] = ("dir", None)
    return out


def deps_as_after_an_online_start(cdir):
    """What OpenCode's own `npm install @opencode-ai/plugin` leaves, from
    the pinned package: package.json, package-lock.json, node_modules/."""
    pkg = os.path.join(MODS, "opencode-plugin")
    with open(os.path.join(pkg, "package.json")) as f:
        version = json.load(f)["version"]
    with open(os.path.join(HERE, "package-lock.json")) as f:
        pinned = json.load(f)["packages"]["node_modules/opencode-plugin"]
    deps = {"@opencode-ai/plugin": version}
    with open(os.path.join(cdir, "package.json"), "w") as f:
        json.dump({"dependencies": deps}, f, indent=2)
    lock = {"name": "opencode", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"dependencies": deps},
                         "node_modules/@opencode-ai/plugin": {
                             k: v for k, v in pinned.items() if k != "name"}}}
    with open(os.path.join(cdir, "package-lock.json"), "w") as f:
        json.dump(lock, f, indent=2)
    os.makedirs(os.path.join(cdir, "node_modules", "@opencode-ai"))
    os.symlink(pkg, os.path.join(cdir, "node_modules", "@opencode-ai", "plugin"))


def oc_setup(sb):
    """The user's configuration (a provider on the mock, `bash: ask`, no
    update, share or fetch), their own plugin, OpenCode's dependencies as
    an online start leaves them; then hb-install-hooks, undone and done
    again."""
    cdir = config_dir(sb)
    os.makedirs(os.path.join(cdir, "plugins"))
    config = {
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "model": f"hbmock/{MODEL}",
        "provider": {"hbmock": {
            "npm": "@ai-sdk/openai-compatible", "name": "hb mock",
            "options": {"baseURL": sb.base + "/v1", "apiKey": "hb-mock-key"},
            "models": {MODEL: {"name": "hb mock"}}}},
        "permission": {"bash": "ask"},
    }
    with open(os.path.join(cdir, "opencode.json"), "w") as f:
        json.dump(config, f, indent=2)
    shutil.copy(os.path.join(HERE, "runtimes", USER_PLUGIN), os.path.join(cdir, "plugins"))
    deps_as_after_an_online_start(cdir)

    before = snapshot(cdir)
    out = install_hooks(sb, "opencode", {})
    check("installed" in out and "note:" not in out, f"hb-install-hooks opencode: {out}")
    check("nothing to change" in install_hooks(sb, "opencode", {}), "a second install changed")
    out = install_hooks(sb, "opencode", {}, "--uninstall")
    check("removed" in out, f"--uninstall: {out}")
    check(snapshot(cdir) == before, "--uninstall did not give the user's config directory back")
    install_hooks(sb, "opencode", {})
    with open(os.path.join(cdir, "plugins", PLUGIN), "rb") as f, \
            open(os.path.join(ROOT, "integrations", "opencode", PLUGIN), "rb") as g:
        check(f.read() == g.read(), "the installed plugin is not integrations/opencode's")
    return {"OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_MODELS_FETCH": "1",
            "OPENCODE_DISABLE_LSP_DOWNLOAD": "1", "OPENCODE_DISABLE_SHARE": "1",
            "HB_E2E_OPENCODE_EVENTS": os.path.join(sb.root, "opencode-events.jsonl")}


def plugin_calls(sb):
    """The hb-write calls the plugin made: [status or --clear-native]."""
    out = []
    for c in sb.hook_calls():
        a = c["args"]
        out.append(a[a.index("--status") + 1] if "--status" in a else a[0])
    return out


def check_no_npm_install(sb):
    """OpenCode found its dependencies in place: it ran no npm install."""
    logs = os.path.join(sb.home, ".local", "share", "opencode", "log")
    for n in os.listdir(logs) if os.path.isdir(logs) else []:
        with open(os.path.join(logs, n), errors="replace") as f:
            bad = [line for line in f if "dependency install" in line]
        check(not bad, f"OpenCode tried to install its plugin dependencies: {bad[:1]}")


def keep_events(sb, mode):
    """HB_E2E_OPENCODE_KEEP=DIR keeps the event stream (the fixtures)."""
    dest = os.environ.get("HB_E2E_OPENCODE_KEEP")
    if dest:
        os.makedirs(dest, exist_ok=True)
        shutil.copy(os.path.join(sb.root, "opencode-events.jsonl"),
                    os.path.join(dest, f"{mode}.jsonl"))


def check_calls(sb, calls):
    """Every plugin call said nothing and left its own beat, and they ran
    one at a time: each started (the shim's name for it, in ns) after the
    one before had ended (its .rc file written)."""
    check_hooks_silent(sb)
    prev = None
    for c, want in zip(sb.hook_calls(), calls):
        if want != "--clear-native":
            got = (c["beat"] or {}).get("status")
            check(got == want, f"{c['args']} left status={got}")
        start = int(os.path.basename(c["stem"]).split(".")[0])
        if prev is not None:
            check(start >= os.stat(prev["stem"] + ".rc").st_mtime_ns,
                  f"{c['args']} started before {prev['args']} had ended")
        prev = c
    check(calls.count("--clear-native") <= 1, f"more than one hand-back: {calls}")


def oc_run(sb):
    env = oc_setup(sb)
    a = sb.start("oc-run", [oc_bin(), "run", "--auto", "run the tool"], env)
    check_exited(a, timeout=90)
    check_common(sb, a, MODEL)
    st = statuses(a.sampler.samples)
    calls = plugin_calls(sb)
    check_calls(sb, calls)
    check("busy" in st, f"never busy: {st}")
    check(st[-2:] == ["ok", "exited"], f"the run did not end ok before exited: {st}")
    check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
    # --auto answers the permission itself, milliseconds after it is asked:
    # the plugin still says waiting, then busy again.
    i = calls.index("waiting") if "waiting" in calls else -1
    check(i > 0 and calls[i - 1] == "busy" and calls[i + 1] == "busy", f"calls: {calls}")
    # Hand-back: the last call, after the run's ok.
    check(calls[-2:] == ["ok", "--clear-native"], f"no hand-back after the run: {calls}")
    posts = [r for r in sb.requests_seen() if r["method"] == "POST"]
    check(len(posts) == 3, f"{len(posts)} model requests, want 3 (title, tool call, text)")
    check_no_npm_install(sb)
    keep_events(sb, "run")
    return st


def typed(a, text):
    """Types text into the prompt unless the pane shows it already; true
    once it shows (polled for 2 s, then typed again)."""
    if text in a.pane():
        return True
    a.sb.tmux("send-keys", "-t", f"={a.name}:", "-l", text)
    end = time.monotonic() + 2
    while time.monotonic() < end:
        if text in a.pane():
            return True
        time.sleep(0.1)
    return False


def oc_tui(sb):
    env = oc_setup(sb)
    a = sb.start("oc-tui", [oc_bin()], env)
    # The plugin's first beat: ok with the configured model, before any prompt.
    deadline_wait(lambda: a.sampler.latest().get("src") == "native"
                  and a.sampler.latest().get("model") == MODEL, 60, "the plugin's first beat")
    a.wait_pane("Ask anything", timeout=60)
    # The prompt is drawn a moment before it takes keys: type until the
    # text shows, then submit it.
    deadline_wait(lambda: typed(a, "run the tool"), 30, "the prompt to take the text")
    a.keys("Enter")
    a.wait_status("busy", timeout=60)
    hold_waiting(a)
    check("Permission required" in a.pane(), "no permission dialog in the pane")
    a.keys("Enter")  # "Allow once" is selected
    deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                  "the tool to run")
    a.wait_pane("Done: the tool ran.")
    a.wait_status("ok", timeout=30)
    m = a.sampler.mark()
    hold_idle(a)
    check(any(s.get("src") == "carried" for s in a.sampler.since(m)),
          "the idle beat was never carried")
    a.type_line("/exit")
    check_exited(a)
    check_common(sb, a, MODEL)
    st = statuses(a.sampler.samples)
    calls = plugin_calls(sb)
    check_calls(sb, calls)
    check("busy" in st and "waiting" in st, f"statuses {st}")
    check(st.index("busy") < st.index("waiting") < len(st) - 1 - st[::-1].index("ok"),
          f"statuses {st}")
    check_no_npm_install(sb)
    keep_events(sb, "tui")
    return st


def oc_edges(sb):
    """Issue 22's edges in one TUI session, all told by OpenCode's own
    events through the plugin (session.status idle, permission.replied,
    question.replied/rejected): Esc Esc while the model streams (E1) and
    while an approved long tool runs (E2), Reject at the permission dialog
    (E3), Esc at it (E4), the question tool (E5)."""
    env = oc_setup(sb)
    a = sb.start("oc-edge", [oc_bin()], env)
    deadline_wait(lambda: a.sampler.latest().get("src") == "native"
                  and a.sampler.latest().get("model") == MODEL, 60, "the plugin's first beat")
    a.wait_pane("Ask anything", timeout=60)
    lat, mode = {}, "opencode-edges"

    def interrupt():
        """Esc, then Esc again once the TUI says "esc again to interrupt"
        (Ctrl+C quits). On a loaded machine OpenCode's TUI, busy drawing
        the stream, can drop the second: as an operator would, press again
        until it says "interrupted"."""
        for _ in range(5):
            a.keys("Escape")
            try:
                a.wait_pane("esc again to interrupt", timeout=3)
            except Failure:
                continue
            a.keys("Escape")
            try:
                a.wait_pane("interrupted", timeout=4)
                return
            except Failure:
                continue

    # The prompt is drawn a moment before it takes keys: type until the
    # text shows (once it has, later prompts are typed as a user does).
    deadline_wait(lambda: typed(a, "hb-slow"), 30, "the prompt to take the text")
    a.keys("Enter")
    a.wait_status("busy", timeout=60)
    a.wait_pane("word3", timeout=90)  # its first turn asks for a title first
    lat["E1"] = after_key(a, interrupt, "ok", "E1", sb, mode, by_hook=True)
    busy_then_ok(a, "hb-text", "E1")
    a.type_line("hb-long")
    a.wait_status("waiting")
    a.wait_pane("Permission required")
    a.keys("Enter")  # "Allow once"
    deadline_wait(lambda: a.sampler.latest().get("status") == "busy", 30, "E2: busy in the tool")
    time.sleep(1.0)  # the tool runs a while (not a wait for the beat)
    lat["E2"] = after_key(a, interrupt, "ok", "E2", sb, mode, by_hook=True)
    busy_then_ok(a, "hb-text", "E2")
    a.type_line("run the tool")
    a.wait_status("waiting")
    a.wait_pane("Permission required")
    reject = lambda: a.keys("Right", "Right", "Enter")  # noqa: E731 ("Reject")
    lat["E3"] = after_key(a, reject, "ok", "E3", sb, mode, by_hook=True)
    busy_then_ok(a, "hb-text", "E3")
    a.type_line("run the tool")
    a.wait_status("waiting")
    a.wait_pane("Permission required")
    lat["E4"] = after_key(a, lambda: a.keys("Escape"), "ok", "E4", sb, mode, by_hook=True)
    busy_then_ok(a, "hb-text", "E4")
    a.type_line("hb-ask")
    hold_waiting(a)
    a.wait_pane("Red")
    lat["E5"] = after_key(a, lambda: a.keys("Enter"), None, "E5", sb, mode, hold=False,
                          not_="waiting", by_hook=True)
    hold_idle(a)
    check(not os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "a denied tool ran")
    a.type_line("/exit")
    check_exited(a)
    check_common(sb, a, MODEL)
    check_calls(sb, plugin_calls(sb))
    return statuses(a.sampler.samples) + [f"latency {lat}"]


MODES = {
    "opencode-run-1.18.33": (oc_run, "opencode", {"delay": 1.5}),
    "opencode-tui-1.18.33": (oc_tui, "opencode", {}),
    "opencode-edges-1.18.33": (oc_edges, "opencode", {"delay": 1.0}),
}
