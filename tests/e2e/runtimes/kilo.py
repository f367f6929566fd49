"""Kilo Code CLI: `kilo run` and the TUI, pinned, with OpenCode's plugin
as `hb-install-hooks kilo` installs it (Kilo is an OpenCode fork: the
same plugin API and events).

`@kilocode/cli` 7.8.1 is the node wrapper users install (`bin/kilo`, the
pane's process), which spawns the native binary for the session; the
registry has no `@kilocode/cli-linux-x64` 7.8.1, so the lock pins 7.7.9,
which is what runs (`kilo --version`: 7.7.9). The plugin runs in the
native child and names the wrapper, the pane's process.

Like OpenCode, Kilo npm-installs `@kilocode/plugin` (its own version,
7.7.9, which the registry does not have) into its config directory before
it loads any plugin, and skips that when node_modules/ exists and
package-lock.json lists it: the sandbox's directory is set up that way.
"""

import json
import os
import shutil
import subprocess
import time

from harness import (
    check, deadline_wait, HERE, MODS, ROOT, check_common, check_exited, hold_idle, hold_waiting,
    install_hooks, statuses, INTERVAL, HB_BIN, check_hooks_silent)
from opencode import USER_PLUGIN, check_calls, plugin_calls, snapshot, typed

PACKAGES = ["@kilocode/cli", "@kilocode/cli-linux-x64"]

MODEL = "hb-mock-model"
PLUGIN = "mosaic-heartbeat.ts"
ENV = {"KILO_DISABLE_MODELS_FETCH": "1", "KILO_DISABLE_AUTOUPDATE": "1",
       "KILO_TELEMETRY_LEVEL": "off", "KILO_DISABLE_SHARE": "1",
       "KILO_DISABLE_LSP_DOWNLOAD": "1"}


def kilo_bin():
    """The node wrapper `npm i -g @kilocode/cli` puts on PATH."""
    return os.path.join(MODS, "@kilocode", "cli", "bin", "kilo")


def config_dir(sb):
    return os.path.join(sb.root, "xdg", "config", "kilo")


def deps_in_place(cdir):
    """What Kilo's own `npm install @kilocode/plugin` would leave: the
    package.json, a package-lock.json that lists it, node_modules/. The
    plugin imports the package only for its types, so nothing is in it."""
    deps = {"@kilocode/plugin": "7.7.9"}
    with open(os.path.join(cdir, "package.json"), "w") as f:
        json.dump({"dependencies": deps}, f, indent=2)
    lock = {"name": "kilo", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"dependencies": deps},
                         "node_modules/@kilocode/plugin": {"version": "7.7.9"}}}
    with open(os.path.join(cdir, "package-lock.json"), "w") as f:
        json.dump(lock, f, indent=2)
    os.makedirs(os.path.join(cdir, "node_modules", "@kilocode"))


def kilo_setup(sb):
    """The user's configuration (a provider on the mock, `bash: ask`), Kilo's
    dependencies in place; then hb-install-hooks, undone and done again."""
    cdir = config_dir(sb)
    os.makedirs(cdir)
    config = {
        "$schema": "https://app.kilo.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "model": f"hbmock/{MODEL}",
        "provider": {"hbmock": {
            "npm": "@ai-sdk/openai-compatible", "name": "hb mock",
            "options": {"baseURL": sb.base + "/v1", "apiKey": "hb-mock-key"},
            "models": {MODEL: {"name": "hb mock"}}}},
        "permission": {"bash": "ask"},
    }
    with open(os.path.join(cdir, "kilo.json"), "w") as f:
        json.dump(config, f, indent=2)
    # The user's own plugin (OpenCode's e2e one: it records what Kilo hands
    # its plugins, the streams tests/fixtures/hooks/kilo/ keeps).
    os.makedirs(os.path.join(cdir, "plugins"))
    shutil.copy(os.path.join(HERE, "runtimes", USER_PLUGIN), os.path.join(cdir, "plugins"))
    deps_in_place(cdir)

    before = snapshot(cdir)
    out = install_hooks(sb, "kilo", {})
    check("installed" in out and "note:" not in out, f"hb-install-hooks kilo: {out}")
    check("nothing to change" in install_hooks(sb, "kilo", {}), "a second install changed")
    out = install_hooks(sb, "kilo", {}, "--uninstall")
    check("removed" in out, f"--uninstall: {out}")
    check(snapshot(cdir) == before, "--uninstall did not give the user's config directory back")
    install_hooks(sb, "kilo", {})
    with open(os.path.join(cdir, "plugins", PLUGIN), "rb") as f, \
            open(os.path.join(ROOT, "integrations", "opencode", PLUGIN), "rb") as g:
        check(f.read() == g.read(), "the installed plugin is not integrations/opencode's")
    return dict(ENV, HB_E2E_OPENCODE_EVENTS=os.path.join(sb.root, "kilo-events.jsonl"))


def keep_events(sb, mode):
    """HB_E2E_KILO_KEEP=DIR keeps the event stream (the fixtures)."""
    dest = os.environ.get("HB_E2E_KILO_KEEP")
    if dest:
        os.makedirs(dest, exist_ok=True)
        shutil.copy(os.path.join(sb.root, "kilo-events.jsonl"),
                    os.path.join(dest, f"{mode}.jsonl"))


def check_no_npm_install(sb):
    """Kilo found its dependencies in place: no npm ran under it."""
    logs = os.path.join(sb.home, ".local", "share", "kilo", "log")
    for n in os.listdir(logs) if os.path.isdir(logs) else []:
        if not os.path.isfile(os.path.join(logs, n)):
            continue
        with open(os.path.join(logs, n), errors="replace") as f:
            bad = [line for line in f if "dependency install" in line]
        check(not bad, f"Kilo tried to install its plugin dependencies: {bad[:1]}")


def kilo_run(sb):
    env = kilo_setup(sb)
    a = sb.start("kilo-run", [kilo_bin(), "run", "--auto", "run the tool"], env)
    check_exited(a, timeout=90)
    check_common(sb, a, MODEL)
    st = statuses(a.sampler.samples)
    calls = plugin_calls(sb)
    check_calls(sb, calls)
    check("busy" in st, f"never busy: {st}")
    check(st[-2:] == ["ok", "exited"], f"the run did not end ok before exited: {st}")
    check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
    i = calls.index("waiting") if "waiting" in calls else -1
    check(i > 0 and calls[i - 1] == "busy" and calls[i + 1] == "busy", f"calls: {calls}")
    check(calls[-2:] == ["ok", "--clear-native"], f"no hand-back after the run: {calls}")
    check_no_npm_install(sb)
    keep_events(sb, "run")
    return st


def kilo_tui_start(sb, name):
    env = kilo_setup(sb)
    a = sb.start(name, [kilo_bin()], env)
    deadline_wait(lambda: a.sampler.latest().get("src") == "native"
                  and a.sampler.latest().get("model") == MODEL, 60, "the plugin's first beat")
    deadline_wait(lambda: typed(a, "run the tool"), 60, "the prompt to take the text")
    a.keys("Enter")
    a.wait_status("busy", timeout=60)
    return a


def kilo_tui(sb):
    a = kilo_tui_start(sb, "kilo-tui")
    hold_waiting(a)
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
    check_calls(sb, plugin_calls(sb))
    check(st.index("busy") < st.index("waiting") < len(st) - 1 - st[::-1].index("ok"),
          f"statuses {st}")
    check_no_npm_install(sb)
    keep_events(sb, "tui")
    return st


def kilo_interrupt(sb):
    """Esc during the turn (the mock holds the answer after the tool):
    ok within 2 x interval + 1.5 s of the key."""
    a = kilo_tui_start(sb, "kilo-esc")
    hold_waiting(a)
    a.keys("Enter")
    deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                  "the tool to run")
    a.wait_status("busy", timeout=10)
    a.keys("Escape")
    # The first Esc arms the interrupt ("esc again to interrupt"), the
    # second, while that shows, interrupts.
    a.wait_pane("again", timeout=5)
    t = time.monotonic()
    a.keys("Escape")
    deadline_wait(lambda: a.sampler.latest().get("status") == "ok", 2 * INTERVAL + 1.5,
                  "ok after Esc")
    took = time.monotonic() - t
    hold_idle(a)
    a.type_line("/exit")
    check_exited(a)
    check_common(sb, a, MODEL)
    st = statuses(a.sampler.samples)
    check_calls(sb, plugin_calls(sb))
    keep_events(sb, "esc")
    return st + [f"ok {took:.2f}s after Esc"]


def kilo_direct(sb):
    """One-shot without the launcher: `MOSAIC_AGENT_NAME=... kilo run` from
    a script. No sidecar: the beats are the plugin's own, naming the
    wrapper's pid, and the run hands the beat back at its end."""
    env = dict(sb.env, **kilo_setup(sb), MOSAIC_AGENT_NAME="kilo-direct",
               MOSAIC_HEARTBEAT_DIR=sb.hb)
    p = subprocess.Popen([kilo_bin(), "run", "--auto", "run the tool"], env=env, cwd=sb.work,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    check(p.wait(timeout=90) == 0, "kilo run exited non-zero")
    check_hooks_silent(sb)
    calls = plugin_calls(sb)
    check_calls(sb, calls)
    beats = [c["beat"] for c in sb.hook_calls() if c["beat"] and "--status" in c["args"]]
    for b in beats:
        check(b.get("pid") == str(p.pid), f"a beat names pid {b.get('pid')}, kilo is {p.pid}")
    check(beats[-1].get("model") == MODEL, f"the last beat has no model: {beats[-1]}")
    check(calls[-2:] == ["ok", "--clear-native"], f"calls {calls}")
    check(not os.path.exists(os.path.join(sb.hb, "kilo-direct.hb.native")),
          "the marker outlived the run")
    r = subprocess.run([os.path.join(HB_BIN, "hb-read"), "--dir", sb.hb, "kilo-direct"],
                       capture_output=True, text=True)
    return calls + [r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr]


MODES = {
    "kilo-direct-7.7.9": (kilo_direct, "@kilocode/cli-linux-x64", {"delay": 1.5}),
    "kilo-run-7.7.9": (kilo_run, "@kilocode/cli-linux-x64", {"delay": 1.5}),
    "kilo-tui-7.7.9": (kilo_tui, "@kilocode/cli-linux-x64", {}),
    "kilo-esc-7.7.9": (kilo_interrupt, "@kilocode/cli-linux-x64", {"delay": 20}),
}
