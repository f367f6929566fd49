"""Aider (PyPI `aider-chat`, its venv from tests/e2e/pypi/aider.txt): `aider
--message` on its own and under the launcher, and the chat in tmux with its
"Run shell command?" held, ended by Ctrl-C and answered, configured by
`hb-install-hooks aider` in a fresh HOME against the mock's chat
completions. Aider declares no tools: the mock answers its edit format's
system prompt with a fenced shell block, which Aider offers to run.

Aider's one hook (the notifications command) fires at the first input after
a model call: `waiting` when the chat history's last reply holds a shell
block, else `ok`. Nothing fires when a prompt is submitted: the sidecar
reads the history's `#### PROMPT` and makes the beat busy (the table
`starts`), from the session's second prompt on (the first comes before any
hook named the history); the answer and Ctrl-C are read from the history
too (src `settled`). The mock's "hb-pause" holds its answer, "hb-slow"
streams until Ctrl-C, "hb-text" asks nothing (integrations/aider/README.md).
"""

import json
import os
import subprocess
import time

from harness import (
    HOLD, INTERVAL, Sampler, beat_keys, check, check_common, check_exited, check_hooks_quiet,
    check_hooks_silent, check_model_kept, deadline_wait, hold_idle, hold_waiting, install_hooks,
    pypi_version, statuses, venv_bin)

PACKAGES = []
VERSION = pypi_version("aider", "aider-chat")
MODEL = "openai/aider-hb-mock"
USER_CONF = "dark-mode: true\n"


def setup(sb):
    conf = os.path.join(sb.home, ".aider.conf.yml")
    with open(conf, "w") as f:
        f.write(USER_CONF)
    # Install, uninstall: the user's file comes back byte for byte; then
    # install for good, and again changes nothing.
    out = install_hooks(sb, "aider", {})
    check("added notifications-command" in out, f"hb-install-hooks aider: {out}")
    install_hooks(sb, "aider", {}, "--uninstall")
    with open(conf) as f:
        check(f.read() == USER_CONF, "--uninstall did not give the user's file back")
    install_hooks(sb, "aider", {})
    check("nothing to change" in install_hooks(sb, "aider", {}), "a second install changed")
    # Offline: the model's metadata here (else Aider fetches a price list).
    with open(os.path.join(sb.home, ".aider.model.metadata.json"), "w") as f:
        json.dump({MODEL: {"max_tokens": 4096, "max_input_tokens": 32000,
                           "max_output_tokens": 4096, "input_cost_per_token": 0,
                           "output_cost_per_token": 0, "litellm_provider": "openai",
                           "mode": "chat"}}, f)
    return {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_COLOR": "1"}


def argv(sb, *args):
    return [venv_bin("aider", "aider"), "--model", MODEL, "--openai-api-base", sb.base + "/v1",
            "--openai-api-key", "hb-mock-key", "--no-check-update", "--analytics-disable",
            "--no-show-release-notes", "--no-git", "--edit-format", "diff", *args]


def tool_ran(sb):
    return os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran"))


def oneshot_args(sb):
    # --yes-always answers every question but a shell command's, which it
    # declines: no question waits, so the hook says ok.
    return argv(sb, "--message", "run the tool", "--yes-always")


def oneshot(sb):
    """`aider --message` started by hand, no launcher, no sidecar: the hook
    alone, naming Aider's own process."""
    env = setup(sb)
    name = "ai-m"
    run_env = dict(sb.env, **env, MOSAIC_AGENT_NAME=name, MOSAIC_HEARTBEAT_DIR=sb.hb,
                   MOSAIC_HEARTBEAT_INTERVAL=str(INTERVAL))
    sampler = Sampler(sb, name)
    sampler.start()
    try:
        p = subprocess.Popen(oneshot_args(sb), cwd=sb.work, env=run_env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        out, _ = p.communicate(timeout=120)
        check(p.returncode == 0, f"aider exited {p.returncode}: {out[-400:]!r}")
        check(b"```bash" in out or b"hb-e2e-tool-ran" in out, f"aider printed {out[-400:]!r}")
        time.sleep(0.3)
    finally:
        sampler.stop()
    samples = sampler.samples
    calls = check_hooks_quiet(sb)
    check_hooks_silent(sb)
    check(len(calls) == 1, f"{len(calls)} hook calls, want 1")
    for s in samples:
        if s.get("src") in ("native", "carried"):
            check(s.get("pid") == p.pid, f"a beat names pid {s.get('pid')}, aider is {p.pid}")
    check_model_kept(samples, MODEL)
    st = statuses(samples)
    check(st[-1] == "ok" and "waiting" not in st, f"statuses {st}")
    return st


def oneshot_launcher(sb):
    env = setup(sb)
    a = sb.start("ai-ml", oneshot_args(sb), env)
    check_exited(a, timeout=120)
    check_common(sb, a, MODEL)
    check_hooks_silent(sb)
    st = statuses(a.sampler.samples)
    check(st[-2:] == ["ok", "exited"] and "waiting" not in st, f"statuses {st}")
    check(any(s.get("src") in ("native", "carried") for s in a.sampler.samples),
              "the hook never wrote")
    return st


def beat_status(sb, name):
    """The beat file's status, read directly (finer than the sampler)."""
    try:
        with open(os.path.join(sb.hb, name + ".hb")) as f:
            return (beat_keys(f.read()) or {}).get("status")
    except OSError:
        return None


def submit_busy(sb, a, text):
    """Submits a prompt at an ok beat and waits for the history's
    `#### PROMPT` to make it busy (the sidecar's inotify follow); returns
    the seconds from sending Enter to the beat file saying busy."""
    check(beat_status(sb, a.name) == "ok", f"not ok before {text!r}")
    sb.tmux("send-keys", "-t", f"={a.name}:", "-l", text)
    time.sleep(0.3)  # let the TUI take the text before Enter (not a wait for the beat)
    t0 = time.monotonic()
    a.keys("Enter")
    deadline_wait(lambda: beat_status(sb, a.name) == "busy", 10, f"busy after {text!r}",
                  every=0.002)
    return time.monotonic() - t0


def interactive(sb):
    env = setup(sb)
    a = sb.start("ai-chat", argv(sb), env)
    deadline_wait(lambda: "diff>" in a.pane(), 60, "aider's prompt")
    check(a.sampler.latest().get("src") == "sidecar", f"a beat at start: {a.sampler.latest()}")
    # 1. The session's first prompt: no hook has pointed at the history
    # yet, so it reads ok until "Run shell command?" (the hook: waiting),
    # held, then Ctrl-C: the history's "^C again to exit" settles it ok.
    a.type_line("run the tool")
    hold_waiting(a)
    check("Run shell command?" in a.pane(), "no question in the pane")
    t0 = time.monotonic()
    a.keys("C-c")
    deadline_wait(lambda: a.sampler.latest().get("status") == "ok", 2 * INTERVAL + 1.5,
                  "ok after Ctrl-C at the question")
    took = time.monotonic() - t0
    check(a.sampler.latest().get("src") == "settled", f"after Ctrl-C: {a.sampler.latest()}")
    check(not tool_ran(sb), "a declined command ran")
    hold_idle(a)
    # 2. Busy from the history's prompt line while the model answers, then
    # the question (the hook: waiting), answered: Aider runs it and comes
    # back to its prompt with no hook; the history's answer settles ok.
    lat = [submit_busy(sb, a, "run the tool hb-pause")]
    a.wait_status("waiting", timeout=60)
    a.wait_pane("Run shell command?")
    m = a.sampler.mark()
    time.sleep(HOLD / 2)
    check(all(s.get("status") == "waiting" for s in a.sampler.since(m)), "left waiting")
    a.type_line("y")
    deadline_wait(lambda: tool_ran(sb), 30, "the tool to run")
    deadline_wait(lambda: a.sampler.latest().get("status") == "ok", 2 * INTERVAL + 1.5,
                  "ok after the answer")
    hold_idle(a)
    # 3. A turn that asks nothing: busy, then the hook's ok.
    lat.append(submit_busy(sb, a, "say hb-text hb-pause"))
    deadline_wait(lambda: a.sampler.latest().get("status") == "ok"
                  and a.sampler.latest().get("src") == "native", 30, "the hook's ok")
    hold_idle(a)
    # 4. Ctrl-C while the model answers: busy, then ok from the history's
    # "^C again to exit".
    lat.append(submit_busy(sb, a, "stream hb-slow"))
    time.sleep(1)
    check(beat_status(sb, a.name) == "busy", "left busy while the model answers")
    t1 = time.monotonic()
    a.keys("C-c")
    deadline_wait(lambda: a.sampler.latest().get("status") == "ok", 2 * INTERVAL + 1.5,
                  "ok after Ctrl-C while the model answers")
    took2 = time.monotonic() - t1
    hold_idle(a)
    # A command that calls no model: never busy.
    m = a.sampler.mark()
    a.type_line("/tokens")
    time.sleep(1.5)
    check(all(s.get("status") == "ok" for s in a.sampler.since(m)), "/tokens made it busy")
    a.type_line("/exit")
    check_exited(a, timeout=60)
    check_common(sb, a, MODEL)
    check_hooks_silent(sb)
    st = statuses(a.sampler.samples)
    check(st.count("waiting") == 2 and st.count("busy") == 3 and st[-1] == "exited",
          f"statuses {st}")
    print(f"e2e: aider: ok {took:.2f}s after Ctrl-C at the question, {took2:.2f}s after "
          f"Ctrl-C in a model call; busy {', '.join(f'{x * 1000:.0f}' for x in lat)} ms after Enter")
    return st


MODES = {
    f"aider-oneshot-{VERSION}": (oneshot, None, {"delay": 1.5}),
    f"aider-oneshot-launcher-{VERSION}": (oneshot_launcher, None, {"delay": 1.5}),
    f"aider-interactive-{VERSION}": (interactive, None, {}),
}
