"""Hermes Agent (PyPI `hermes-agent`, its venv from tests/e2e/pypi/hermes.txt):
`hermes -z` on its own and under the launcher, and the CLI in tmux with its
approval dialog held, denied by Ctrl-C and approved, configured by
`hb-install-hooks hermes` in a fresh HOME against the mock's chat
completions.
"""

import json
import os
import subprocess
import time

from harness import (
    INTERVAL, Sampler, check, check_common, check_exited, check_hooks_quiet, check_hooks_silent,
    check_model_kept, deadline_wait, hold_idle, hold_waiting, install_hooks, pypi_version,
    statuses, venv_bin)

PACKAGES = []
VERSION = pypi_version("hermes", "hermes-agent")
MODEL = "hermes-hb-mock"
# A command Hermes' pattern list calls dangerous ("recursive delete"), so the
# CLI asks for approval: the `smart` classifier first (the mock's answer is
# no verdict), then the dialog.
COMMAND = "rm -rf hb-e2e-scratch; touch hb-e2e-tool-ran"

# The user's own settings: the mock as a custom OpenAI-compatible provider,
# no lazy installs (else `pip install edge-tts` at launch), and a hook of
# their own, which the installer keeps.
USER_CONFIG = """model:
  provider: custom
  default: {model}
  base_url: {base}/v1
  api_key: hb-mock-key
security:
  allow_lazy_installs: false
hooks:
  on_session_end:
    - command: /bin/true
"""


def setup(sb):
    d = os.path.join(sb.home, ".hermes")
    os.makedirs(d, exist_ok=True)
    cfg = os.path.join(d, "config.yaml")
    allow = os.path.join(d, "shell-hooks-allowlist.json")
    with open(cfg, "w") as f:
        f.write(USER_CONFIG.format(model=MODEL, base=sb.base))
    # The user approved their own hook, as Hermes records it at its prompt.
    with open(allow, "w") as f:
        f.write(json.dumps({"approvals": [{
            "approved_at": "2026-01-02T03:04:05.678901Z", "command": "/bin/true",
            "event": "on_session_end", "script_mtime_at_approval": None}]},
            indent=2, sort_keys=True))
    os.chmod(allow, 0o600)
    before = {p: open(p, "rb").read() for p in (cfg, allow)}
    # Install, uninstall: the user's files come back byte for byte; then
    # install for good, and again changes nothing.
    out = install_hooks(sb, "hermes", {})
    check(out.count("added ") == 9, f"hb-install-hooks hermes: {out}")
    install_hooks(sb, "hermes", {}, "--uninstall")
    for p, had in before.items():
        now = open(p, "rb").read()
        check(now == had, f"--uninstall left {now!r} in {p}, the user had {had!r}")
    install_hooks(sb, "hermes", {})
    check("nothing to change" in install_hooks(sb, "hermes", {}), "a second install changed")
    # The allow-list as Hermes writes it (json.dumps(indent=2, sort_keys=True)).
    with open(allow) as f:
        text = f.read()
    check(text == json.dumps(json.loads(text), indent=2, sort_keys=True),
          f"the allow-list is not as Hermes writes it: {text[:200]!r}")
    check(os.stat(allow).st_mode & 0o777 == 0o600, "the allow-list is not 0600")
    return {"HERMES_ACCEPT_HOOKS": "", "NO_COLOR": "1"}


def argv(*args):
    return [venv_bin("hermes", "hermes"), *args]


def check_model_from_session_start(samples):
    """on_session_start names the model: the first native beat has it."""
    first = next((s for s in samples if s.get("src") == "native"), None)
    check(first is not None and first.get("model") == MODEL, f"the first native beat: {first}")


def oneshot(sb):
    """`hermes -z` started by hand, no launcher, no sidecar: the hooks alone,
    naming Hermes' own process."""
    env = setup(sb)
    name = "hm-z"
    run_env = dict(sb.env, **env, MOSAIC_AGENT_NAME=name, MOSAIC_HEARTBEAT_DIR=sb.hb,
                   MOSAIC_HEARTBEAT_INTERVAL=str(INTERVAL))
    sampler = Sampler(sb, name)
    sampler.start()
    try:
        p = subprocess.Popen(argv("-z", "run the tool"), cwd=sb.work, env=run_env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        out, _ = p.communicate(timeout=120)
        check(p.returncode == 0, f"hermes -z exited {p.returncode}: {out[-400:]!r}")
        check(b"Done: the tool ran." in out, f"hermes -z printed {out[-400:]!r}")
        deadline_wait(lambda: sampler.latest().get("status") == "ok", 10, "the last beat ok")
        time.sleep(0.3)
    finally:
        sampler.stop()
    samples = sampler.samples
    check_hooks_quiet(sb)
    check_hooks_silent(sb)
    for s in samples:
        if s.get("src") in ("native", "carried"):
            check(s.get("pid") == p.pid, f"a beat names pid {s.get('pid')}, hermes is {p.pid}")
    check_model_kept(samples, MODEL)
    check_model_from_session_start(samples)
    st = statuses(samples)
    check("busy" in st and st[-1] == "ok", f"statuses {st}")
    check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
    return st


def oneshot_launcher(sb):
    env = setup(sb)
    a = sb.start("hm-zl", argv("-z", "run the tool"), env)
    check_exited(a, timeout=120)
    check_common(sb, a, MODEL)
    check_hooks_silent(sb)
    check_model_from_session_start(a.sampler.samples)
    st = statuses(a.sampler.samples)
    # on_session_end's ok is the last native beat (-z sends no finalize).
    check("busy" in st and st[-2:] == ["ok", "exited"], f"statuses {st}")
    check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
    return st


def interactive(sb):
    env = setup(sb)
    a = sb.start("hm-cli", argv(), env)
    deadline_wait(lambda: "Welcome to Hermes" in a.pane(), 60, "hermes' prompt")
    # Nothing fires at start: the sidecar's ok.
    check(a.sampler.latest().get("src") == "sidecar", f"a beat at start: {a.sampler.latest()}")
    # 1. The dialog held, then Ctrl-C: deny, then the turn ends interrupted.
    a.type_line("run the tool")
    hold_waiting(a)
    check("Allow once" in a.pane(), "no approval dialog in the pane")
    m = a.sampler.mark()
    t0 = time.monotonic()
    a.keys("C-c")
    deadline_wait(lambda: a.sampler.latest().get("status") == "ok", 2 * INTERVAL + 1.5,
                  "ok after Ctrl-C at the dialog")
    took = time.monotonic() - t0
    check(not any(s.get("status") == "waiting" for s in a.sampler.since(m)[-3:]),
          "waiting after the interrupt")
    check(not os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "a denied tool ran")
    hold_idle(a)
    # 2. The dialog approved: busy, the tool runs, ok.
    a.type_line("run the tool")
    a.wait_status("waiting", timeout=60)
    a.wait_pane("Allow once")
    a.keys("Enter")  # "Allow once" is selected
    deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                  "the tool to run")
    a.wait_pane("Done: the tool ran.")
    hold_idle(a)
    a.type_line("/exit")
    check_exited(a, timeout=60)
    check_common(sb, a, MODEL)
    check_hooks_silent(sb)
    check_model_from_session_start(a.sampler.samples)
    st = statuses(a.sampler.samples)
    check(st[:4] == [None, "ok", "busy", "waiting"] or st[:3] == ["ok", "busy", "waiting"],
          f"statuses {st}")
    check(st.count("waiting") == 2 and st[-1] == "exited", f"statuses {st}")
    print(f"e2e: hermes: ok {took:.2f}s after Ctrl-C at the dialog")
    return st


def interrupt(sb):
    """Ctrl-C while the model answers (the mock holds the answer after the
    tool's result): `on_session_end` `interrupted` ends the turn."""
    env = setup(sb)
    a = sb.start("hm-int", argv(), env)
    deadline_wait(lambda: "Welcome to Hermes" in a.pane(), 60, "hermes' prompt")
    a.type_line("run the tool")
    deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 60,
                  "the tool to run")
    a.wait_status("busy", timeout=10)
    time.sleep(0.5)
    check(a.sampler.latest().get("status") == "busy", f"not busy: {a.sampler.latest()}")
    t0 = time.monotonic()
    a.keys("C-c")
    deadline_wait(lambda: a.sampler.latest().get("status") == "ok", 2 * INTERVAL + 1.5,
                  "ok after Ctrl-C in the model's answer")
    took = time.monotonic() - t0
    hold_idle(a)
    a.type_line("/exit")
    check_exited(a, timeout=60)
    check_common(sb, a, MODEL)
    check_hooks_silent(sb)
    st = statuses(a.sampler.samples)
    check("waiting" not in st and st[-1] == "exited", f"statuses {st}")
    print(f"e2e: hermes: ok {took:.2f}s after Ctrl-C in a model call")
    return st


MODES = {
    f"hermes-oneshot-{VERSION}": (oneshot, None, {"delay": 1.5, "command": COMMAND}),
    f"hermes-oneshot-launcher-{VERSION}": (oneshot_launcher, None,
                                           {"delay": 1.5, "command": COMMAND}),
    f"hermes-interactive-{VERSION}": (interactive, None, {"command": COMMAND}),
    # A command no pattern calls dangerous: no dialog; the answer after the
    # tool's result takes 6 s.
    f"hermes-interrupt-{VERSION}": (interrupt, None, {"delay": 6.0}),
}
