"""Mistral Vibe 3.0.3 (PyPI, in its own venv: tests/e2e/pypi/vibe.txt):
`vibe -p` alone and under the launcher, and the TUI under the launcher
with `--titles vibe`, configured by `hb-install-hooks vibe` in a fresh
HOME, against the mock's chat completions.

Vibe's hooks (`pre_tool`, `post_tool`, `post_agent`) say busy and the
turn's end; its prompt, its permission dialog and an interrupt show only on
its terminal (OSC 7501), which `hb-write --titles vibe` reads.
"""

import os
import subprocess
import time

from harness import (
    CACHE, HB_BIN, INTERVAL, Agent, Failure, check, check_common, check_exited, check_hooks_silent,
    deadline_wait, hold_idle, hold_waiting, install_hooks, statuses)

PACKAGES = []  # from PyPI: the version is in the mode names and checked below
VERSION = "3.0.3"
VIBE = os.path.join(CACHE, "venv", "vibe", "bin", "vibe")
MODEL = "mock-model"

# The user's own hook, kept by the installer.
USER_HOOKS = '[[hooks]]\nname = "mine"\ntype = "post_agent"\ncommand = "true"\n'


def vibe_setup(sb):
    """~/.vibe/config.toml: the mock as a keyless provider, nothing that
    reaches past it; hooks.toml by the installer."""
    r = subprocess.run([VIBE, "--version"], capture_output=True, text=True,
                       env=dict(sb.env, HOME=sb.home))
    check(r.stdout.strip() == f"vibe {VERSION}", f"vibe --version: {r.stdout!r} {r.stderr!r}")
    d = os.path.join(sb.home, ".vibe")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.toml"), "w") as f:
        f.write(f"""active_model = "{MODEL}"
enable_telemetry = false
enable_update_checks = false
enable_notifications = false
show_greeting = false

[[providers]]
name = "mock"
api_base = "{sb.base}/v1"
api_key_env_var = ""
backend = "generic"

[[models]]
name = "{MODEL}"
provider = "mock"
alias = "{MODEL}"
""")
    hooks = os.path.join(d, "hooks.toml")
    with open(hooks, "w") as f:
        f.write(USER_HOOKS)
    out = install_hooks(sb, "vibe", {})
    check(out.count("added ") == 3, f"hb-install-hooks vibe: {out}")
    out = install_hooks(sb, "vibe", {}, "--uninstall")
    check(open(hooks).read() == USER_HOOKS, f"--uninstall left {open(hooks).read()!r}")
    install_hooks(sb, "vibe", {})
    check("nothing to change" in install_hooks(sb, "vibe", {}), "a second install changed")
    # Vibe runs its shell tool after sourcing $SHELL's login profile: a
    # plain bash, not the machine's root shell (zsh here, whose profile
    # took Vibe's 10 s limit).
    return {"SHELL": "/bin/bash"}


def check_ran(sb):
    check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")


def vibe_print_alone(sb):
    """`vibe -p` from a shell, no launcher: the hooks alone, naming vibe's
    own pid (vibe execs vibe-rs, which runs the hooks' server)."""
    name = "vb-alone"
    env = dict(sb.env, **vibe_setup(sb), MOSAIC_AGENT_NAME=name, MOSAIC_HEARTBEAT_DIR=sb.hb,
               MOSAIC_HEARTBEAT_INTERVAL=str(INTERVAL))
    p = subprocess.Popen([VIBE, "-p", "run the tool", "--auto-approve"], cwd=sb.work, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    a = Agent(sb, name, p.pid)
    sb.agents[name] = a
    out, err = p.communicate(timeout=120)
    check(p.returncode == 0, f"vibe -p exited {p.returncode}: {out!r} {err!r}")
    check("Done: the tool ran." in out, f"vibe -p printed {out!r}")
    deadline_wait(lambda: a.sampler.latest().get("status") == "ok", 10, "the ok beat")
    time.sleep(0.3)  # a few samples of the last beat
    a.sampler.stop()
    check_common(sb, a, MODEL)
    check_hooks_silent(sb)
    check_ran(sb)
    st = statuses(a.sampler.samples)
    check(st[-2:] == ["busy", "ok"], f"not busy, then ok: {st}")
    # Nobody watches the process: it is dead now, and says so.
    r = subprocess.run([os.path.join(HB_BIN, "hb-read"), "--dir", sb.hb, name],
                       capture_output=True, text=True)
    check(" dead " in r.stdout, f"after vibe -p ended: {r.stdout!r}")
    return st


def vibe_print(sb):
    env = vibe_setup(sb)
    a = sb.start("vb-print", [VIBE, "-p", "run the tool", "--auto-approve"], env,
                 launcher=["--titles", "vibe"])
    check_exited(a, timeout=120)
    check_common(sb, a, MODEL)
    check_hooks_silent(sb)
    check_ran(sb)
    st = statuses(a.sampler.samples)
    check("busy" in st, f"never busy: {st}")
    check(st[-2:] == ["ok", "exited"], f"the turn did not end ok before exited: {st}")
    return st


def model_calls(sb):
    """The model requests with tools (the turns' own, not a title's)."""
    return [r for r in sb.requests_seen()
            if r["method"] == "POST" and isinstance(r["body"], dict) and r["body"].get("tools")]


def approve(a):
    """Enter at the dialog ("1. Allow once"), again until the dialog goes:
    Vibe takes no key for a moment after it opens one."""
    for _ in range(10):
        a.keys("Enter")
        try:
            return deadline_wait(lambda: "Permission for" not in a.pane(), 1, "the dialog to go")
        except Failure:
            continue
    raise Failure("the dialog took no Enter")


def vibe_interactive(sb):
    """The TUI: a dialog held open (waiting, from the title), approved
    (busy), the answer interrupted with Esc while the model streams (ok
    within 2 x interval + 1.5 s, with no hook), a second turn to its end
    (ok), `/exit`."""
    env = vibe_setup(sb)
    a = sb.start("vb-tui", [VIBE], env, launcher=["--titles", "vibe"])
    a.wait_pane("Type /help", timeout=60)
    # Turn 1: the dialog, held; approved; the slow answer interrupted.
    a.type_line("run the tool")
    deadline_wait(lambda: "Permission for" in a.pane(), 60, "the permission dialog")
    hold_waiting(a)
    approve(a)
    deadline_wait(lambda: len(model_calls(sb)) >= 2, 30, "the request after the tool")
    check_ran(sb)
    a.wait_status("busy", timeout=5)
    m = a.sampler.mark()
    t_key = time.monotonic()
    a.keys("Escape")
    deadline_wait(lambda: any(s.get("status") == "ok" for s in a.sampler.since(m)),
                  2 * INTERVAL + 1.5, "ok after Esc")
    took = time.monotonic() - t_key
    a.wait_pane("Interrupted")
    hold_idle(a)
    # Turn 2, to its end.
    m = a.sampler.mark()
    a.type_line("run the tool again")
    deadline_wait(lambda: "Permission for" in a.pane(), 60, "the second dialog")
    a.wait_status("waiting", timeout=10)
    approve(a)
    a.wait_status("busy", timeout=10)
    deadline_wait(lambda: len(model_calls(sb)) >= 4, 30, "the second answer")
    hold_idle(a)
    check(a.pane().count("Done: the tool ran.") >= 1, "no answer in the pane")
    second = statuses(a.sampler.since(m))
    check(second == ["ok", "busy", "waiting", "busy", "ok"], f"turn 2: {second}")
    a.type_line("/exit")
    check_exited(a, timeout=60)
    check_common(sb, a, MODEL)
    check_hooks_silent(sb)
    st = statuses(a.sampler.samples)
    check(st.count("waiting") == 2, f"statuses {st}")
    check(st.index("busy") < st.index("waiting"), f"statuses {st}")
    return st + [f"Esc->ok {took:.2f}s"]


def vibe_interrupt_tool(sb):
    """The TUI: Esc while an approved tool runs (`sleep 30`): Vibe fires no
    hook (no post_tool), its tab status says idle: ok within 2 x interval
    + 1.5 s; then `/exit`."""
    env = vibe_setup(sb)
    a = sb.start("vb-tool", [VIBE], env, launcher=["--titles", "vibe"])
    a.wait_pane("Type /help", timeout=60)
    a.type_line("run the tool")
    deadline_wait(lambda: "Permission for" in a.pane(), 60, "the permission dialog")
    a.wait_status("waiting", timeout=10)
    approve(a)
    a.wait_status("busy", timeout=10)
    # The tool's shell is running.
    deadline_wait(lambda: any(c["payload"] and '"pre_tool"' in c["payload"]
                              for c in sb.hook_calls()), 10, "pre_tool")
    time.sleep(1.0)  # well inside the 30 s tool
    m = a.sampler.mark()
    t_key = time.monotonic()
    a.keys("Escape")
    deadline_wait(lambda: any(s.get("status") == "ok" for s in a.sampler.since(m)),
                  2 * INTERVAL + 1.5, "ok after Esc")
    took = time.monotonic() - t_key
    a.wait_pane("Interrupted")
    hold_idle(a)
    check(not any('"post_tool"' in (c["payload"] or "") for c in sb.hook_calls()),
          "a post_tool came after all: read it")
    a.type_line("/exit")
    check_exited(a, timeout=60)
    check_common(sb, a, MODEL)
    check_hooks_silent(sb)
    st = statuses(a.sampler.samples)
    return st + [f"Esc->ok {took:.2f}s"]


def vibe_deny(sb):
    """The TUI: Esc at the permission dialog (Vibe's "reject"): the tool
    does not run, no hook fires, and the tab status leaves `blocked`: not
    waiting within 2 x interval + 1.5 s, ok once the turn is over."""
    env = vibe_setup(sb)
    a = sb.start("vb-deny", [VIBE], env, launcher=["--titles", "vibe"])
    a.wait_pane("Type /help", timeout=60)
    a.type_line("run the tool")
    deadline_wait(lambda: "Permission for" in a.pane(), 60, "the permission dialog")
    a.wait_status("waiting", timeout=10)
    time.sleep(1.5)  # past the moment the dialog takes no key
    m = a.sampler.mark()
    t_key = time.monotonic()
    a.keys("Escape")
    deadline_wait(lambda: any(s.get("status") not in ("waiting", None)
                              for s in a.sampler.since(m)),
                  2 * INTERVAL + 1.5, "not waiting after Esc")
    took = time.monotonic() - t_key
    deadline_wait(lambda: "Permission for" not in a.pane(), 10, "the dialog to go")
    hold_idle(a)
    check(not os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool ran")
    a.type_line("/exit")
    check_exited(a, timeout=60)
    check_common(sb, a, MODEL)
    check_hooks_silent(sb)
    return statuses(a.sampler.samples) + [f"Esc->not waiting {took:.2f}s"]


MODES = {
    f"vibe-print-alone-{VERSION}": (vibe_print_alone, "vibe", {"delay": 1.5}),
    f"vibe-print-{VERSION}": (vibe_print, "vibe", {"delay": 1.5}),
    f"vibe-interactive-{VERSION}": (vibe_interactive, "vibe", {"delay": 4}),
    f"vibe-deny-{VERSION}": (vibe_deny, "vibe", {}),
    f"vibe-interrupt-tool-{VERSION}": (vibe_interrupt_tool, "vibe", {"command": "sleep 30"}),
}
