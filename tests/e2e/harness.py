"""The e2e suite's harness: a sandbox per mode (HOME, config dirs, work
dir, beats, hook log, a mock model server, a private tmux server), a
sampler that reads the beat through `hb-read --json` at 25 Hz, and the
timeline checks every runtime's modes share. A runtime's modes live in
`runtimes/NAME.py` (see e2e.py).
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tests", "e2e")
CACHE = os.environ.get("HB_E2E_CACHE") or os.path.join(ROOT, "target", "e2e")
MODS = os.path.join(CACHE, "node_modules")
HB_BIN = os.environ.get("HB_BIN") or os.path.join(ROOT, "target", "debug")
NODE_BIN = os.path.join(MODS, "node", "bin")
# PyPI runtimes: run.sh makes one venv per tests/e2e/pypi/NAME.txt here.
VENVS = os.path.join(CACHE, "venv")


def venv_bin(name, prog):
    """A PyPI runtime's program in its venv (tests/e2e/pypi/NAME.txt)."""
    return os.path.join(VENVS, name, "bin", prog)


def pypi_version(name, dist):
    """The version tests/e2e/pypi/NAME.txt pins for the distribution."""
    with open(os.path.join(HERE, "pypi", name + ".txt")) as f:
        for line in f:
            if line.lower().startswith(dist.lower() + "=="):
                return line.split("==", 1)[1].split()[0]
    return None
INTERVAL = 1
# A prompt is held open this long: more than 2 x interval + a tick, so
# that the sidecar's carry (not only the hooks' fresh marker) is proven.
HOLD = 2 * INTERVAL + INTERVAL + 1.5
SAMPLE_EVERY = 0.04  # 25 Hz


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def deadline_wait(pred, timeout, what, every=0.05):
    end = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() >= end:
            raise Failure(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def assert_loopback_only():
    """The namespace must route nowhere: no route but loopback's."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for fam in (["ip", "route"], ["ip", "-6", "route"]):
        out = subprocess.run(fam + ["show", "table", "all"], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            check(" dev lo " in line + " " or line.endswith(" lo") or "dev lo" in line,
                  f"`{' '.join(fam)}` shows a route that is not loopback: {line}")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True,
                           check=True).stdout
    for line in links.splitlines():
        check(line.split(":")[1].strip() == "lo", f"a link other than lo: {line}")


class Sandbox:
    """One mode's world: HOME, config dirs, work dir, beats, hook log, mock,
    tmux socket."""

    def __init__(self, mode, delay=0.0, command=None, fail_first=0, escalate=True,
                 tail_delay=0.0, ask=False):
        self.mode = mode
        self.root = tempfile.mkdtemp(prefix=f"hb-e2e-{mode}-")
        for d in ("home", "work", "hb", "hooks", "xdg/config", "xdg/state", "xdg/cache"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        self.home = os.path.join(self.root, "home")
        self.work = os.path.join(self.root, "work")
        self.hb = os.path.join(self.root, "hb")
        self.hooks = os.path.join(self.root, "hooks")
        self.socket = f"hb-e2e-{os.getpid()}-{mode}"
        self.requests = os.path.join(self.root, "requests.log")
        portfile = os.path.join(self.root, "port")
        menv = dict(os.environ, MOCK_DELAY=str(delay), MOCK_FAIL_FIRST=str(fail_first),
                    MOCK_ESCALATE="1" if escalate else "0", MOCK_TAIL_DELAY=str(tail_delay),
                    MOCK_ASK="1" if ask else "0")
        args = [sys.executable, os.path.join(HERE, "mock.py"), portfile, self.requests]
        if command:
            args.append(command)
        self.mock = subprocess.Popen(args, env=menv, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.root, "mock.err"), "w"))
        deadline_wait(lambda: os.path.exists(portfile), 10, "the mock's port")
        self.port = int(open(portfile).read())
        self.base = f"http://127.0.0.1:{self.port}"
        open(self.requests, "a").close()
        self.env = {
            "PATH": ":".join([os.path.join(HERE, "shim"), NODE_BIN, HB_BIN,
                              "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": self.home,
            "USER": os.environ.get("USER", "root"),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": os.path.join(self.root, "xdg/config"),
            "XDG_STATE_HOME": os.path.join(self.root, "xdg/state"),
            "XDG_CACHE_HOME": os.path.join(self.root, "xdg/cache"),
            "TMPDIR": os.path.join(self.root, "xdg/cache"),
            "HB_E2E_HOOKLOG": self.hooks,
            "HB_E2E_REAL": os.path.join(HB_BIN, "hb-write"),
            "HB_BIN": HB_BIN,
        }
        self.agents = {}
        # A server of our own that keeps dead panes (their last words stay
        # readable, and a closing pty does not SIGHUP a runtime's last hooks).
        self.tmux("new-session", "-d", "-s", "keeper", "-x", "200", "-y", "50")
        self.tmux("set-option", "-g", "remain-on-exit", "on")
        self.tmux("set-option", "-g", "default-size", "200x50")

    def tmux(self, *args, check_rc=True):
        r = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                           env=self.env)
        if check_rc and r.returncode != 0:
            raise Failure(f"tmux {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def start(self, name, argv, extra_env=None, launcher=()):
        """The agent under scripts/start-agent-session.sh, with `launcher`'s
        options (`--titles RUNTIME`) before NAME."""
        env = dict(self.env, **(extra_env or {}))
        # A pane inherits the tmux server's environment, and the keeper
        # session started the server: hand the runtime's settings over.
        for k, v in (extra_env or {}).items():
            self.tmux("set-environment", "-g", k, v)
        r = subprocess.run([os.path.join(ROOT, "scripts", "start-agent-session.sh"), "-L",
                            self.socket, "--dir", self.hb, "--interval", str(INTERVAL),
                            "--workdir", self.work, *launcher, name, "--", *argv],
                           capture_output=True, text=True, env=env, cwd=self.work)
        check(r.returncode == 0, f"start-agent-session.sh {name}: {r.returncode}: {r.stderr}")
        info = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
        self.agents[name] = Agent(self, name, int(info["pane_pid"]))
        return self.agents[name]

    def hook_calls(self):
        """Every recorded hook call, in order."""
        calls = []
        for f in sorted(os.listdir(self.hooks)):
            if not f.endswith(".args"):
                continue
            stem = os.path.join(self.hooks, f[:-5])

            def rd(ext, stem=stem):
                try:
                    with open(stem + ext, encoding="utf-8", errors="replace") as fh:
                        return fh.read()
                except FileNotFoundError:
                    return None
            calls.append({"args": rd(".args").splitlines(), "payload": rd(".in"),
                          "stdout": rd(".out"), "stderr": rd(".err"), "rc": rd(".rc"),
                          "tree": rd(".tree"), "us": rd(".us"), "stem": stem,
                          "beat": beat_keys(rd(".beat")), "tsize": rd(".tsize"),
                          "name": (rd(".name") or "").strip()})
        return calls

    def requests_seen(self):
        with open(self.requests) as f:
            return [json.loads(line) for line in f if line.strip()]

    def close(self, keep=False):
        self.tmux("kill-server", check_rc=False)
        # A runtime's own daemons (Codex's app server) outlive their panes:
        # end those started from this sandbox, and only those.
        for pid in os.listdir("/proc"):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if self.root.encode() in f.read():
                        os.kill(int(pid), 15)
            except (OSError, ValueError):
                pass
        for a in self.agents.values():
            a.sampler.stop()
        self.mock.kill()
        self.mock.wait()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)


def beat_keys(text):
    """A beat file's keys, or None."""
    if text is None:
        return None
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


class Sampler(threading.Thread):
    def __init__(self, sb, name):
        super().__init__(daemon=True)
        self.sb, self.name = sb, name
        self.samples = []
        self.halt = threading.Event()
        self.t0 = time.monotonic()

    def read(self):
        r = subprocess.run([os.path.join(HB_BIN, "hb-read"), "--json", "--dir", self.sb.hb,
                            "--interval", str(INTERVAL), self.name], capture_output=True,
                           text=True)
        row = json.loads(r.stdout)["rows"][0]
        hb = row.get("heartbeat") or {}
        src = row.get("src")
        if src is None:  # a reader from before contract v2: the marker says
            src = "native" if row.get("native") else (
                "carried" if os.path.exists(os.path.join(self.sb.hb, self.name + ".hb.native"))
                else "sidecar")
        return {"t": round(time.monotonic() - self.t0, 2), "health": row["health"],
                "src": src, "status": hb.get("status"), "model": hb.get("model"),
                "pid": hb.get("pid")}

    def run(self):
        while not self.halt.is_set():
            try:
                self.samples.append(self.read())
            except Exception as e:  # a sample that fails is itself a finding
                self.samples.append({"t": round(time.monotonic() - self.t0, 2),
                                     "error": repr(e)})
            self.halt.wait(SAMPLE_EVERY)

    def stop(self):
        self.halt.set()

    def mark(self):
        return len(self.samples)

    def since(self, mark):
        return self.samples[mark:]

    def latest(self):
        return self.samples[-1] if self.samples else {}

    def timeline(self):
        """Consecutive equal samples folded into one line each."""
        out, prev = [], None
        for s in self.samples:
            key = tuple((k, v) for k, v in s.items() if k != "t")
            if key != prev:
                out.append(s)
                prev = key
        return out


class Agent:
    def __init__(self, sb, name, pane_pid):
        self.sb, self.name, self.pane_pid = sb, name, pane_pid
        self.sampler = Sampler(sb, name)
        self.sampler.start()

    def pane(self):
        return self.sb.tmux("capture-pane", "-p", "-t", f"={self.name}:", check_rc=False)

    def keys(self, *keys):
        self.sb.tmux("send-keys", "-t", f"={self.name}:", *keys)

    def type_line(self, text):
        self.sb.tmux("send-keys", "-t", f"={self.name}:", "-l", text)
        time.sleep(0.3)  # let the TUI take the text before Enter (not a wait for the beat)
        self.keys("Enter")

    def wait_pane(self, text, timeout=30):
        return deadline_wait(lambda: text in self.pane(), timeout, f"{text!r} in the pane")

    def wait_status(self, status, timeout=30):
        return deadline_wait(lambda: self.sampler.latest().get("status") == status, timeout,
                             f"status={status}")

    def alive(self):
        try:
            with open(f"/proc/{self.pane_pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except (OSError, IndexError):
            return False


# --- timeline checks -------------------------------------------------------

def check_hooks_quiet(sb):
    # A runtime may leave a hook running as it exits (Codex's notify):
    # wait for every call to end before judging.
    deadline_wait(lambda: all(c["rc"] is not None for c in sb.hook_calls()), 20,
                  "every hook call to end")
    calls = sb.hook_calls()
    for c in calls:
        check(c["rc"] is not None and c["rc"].strip() == "0",
              f"a hook exited {c['rc']!r}: {c['args']} stderr={c['stderr']!r}")
        check(c["stdout"] == "", f"a hook printed on stdout: {c['stdout']!r}")
    return calls


def check_model_kept(samples, want_model):
    """From the first beat with a model on, every beat but the sidecar's
    last (exited, plain) has it."""
    seen = False
    for s in samples:
        # The sidecar's own beats (before the first hook, after the session
        # handed the beat back, the last `exited`) are plain: no model.
        if s.get("status") == "exited" or s.get("src") == "sidecar":
            continue
        if s.get("model"):
            check(s["model"] == want_model or want_model is None,
                  f"model {s['model']!r}, want {want_model!r} at t={s['t']}")
            seen = True
        elif seen:
            raise Failure(f"the model was dropped at t={s['t']}: {s}")
    check(seen, "no beat ever carried the model")


def check_pids(samples, pid):
    for s in samples:
        if s.get("src") in ("native", "carried"):
            check(s.get("pid") == pid, f"a native beat names pid {s.get('pid')}, "
                                       f"the agent is {pid}: {s}")


def check_exited(agent, timeout=30):
    deadline_wait(lambda: not agent.alive(), timeout, "the agent to quit")
    agent.wait_status("exited", timeout=10)
    # The sidecar renames its `exited` beat, then removes the marker: a
    # sample may fall between the two.
    deadline_wait(lambda: agent.sampler.latest().get("src") == "sidecar", 5,
                  f"the marker gone after exited: {agent.sampler.latest()}")
    last = agent.sampler.latest()
    check(last.get("status") == "exited" and last.get("health") == "exited",
          f"after the agent quit: {last}")


def statuses(samples):
    out = []
    for s in samples:
        st = s.get("status")
        if not out or out[-1] != st:
            out.append(st)
    return out


def hold_waiting(agent):
    """Once waiting, the beat must stay waiting for HOLD seconds; the
    sidecar carries it once the hooks' marker is no longer fresh."""
    agent.wait_status("waiting", timeout=60)
    m = agent.sampler.mark()
    time.sleep(HOLD)  # the prompt stays open this long on purpose
    held = agent.sampler.since(m)
    check(len(held) >= HOLD / SAMPLE_EVERY / 3, f"too few samples while held: {len(held)}")
    bad = [s for s in held if s.get("status") != "waiting"]
    check(not bad, f"the beat left waiting while the prompt was open: {bad[:3]}")
    check(any(s.get("src") == "carried" for s in held),
          "the sidecar never carried the waiting beat (src stayed native)")
    # (Health is not asserted: on a loaded machine a tick can come late and
    # the beat read `stale` for a moment; that is timing, not the state.)


def hold_idle(agent):
    """Once the turn has ended, the beat must stay ok for HOLD seconds
    while the agent idles at its prompt (carried by the sidecar)."""
    agent.wait_status("ok", timeout=30)
    m = agent.sampler.mark()
    time.sleep(HOLD)  # idle at the prompt this long on purpose
    idle = agent.sampler.since(m)
    check(all(s.get("status") == "ok" for s in idle), f"idle beat not ok: {idle[:3]}")


def check_hooks_silent(sb):
    """For a runtime that reads what a hook prints: no hook wrote on
    stderr either, and none left a line in any hook log."""
    for c in sb.hook_calls():
        check(c["stderr"] == "", f"a hook wrote on stderr: {c['args']} {c['stderr']!r}")
    logs = glob.glob(os.path.join(sb.hb, "*hook.log"))
    check(not logs, f"a hook logged a problem: {[open(p).read() for p in logs]}")


def event_table(sb, name):
    """event -> beat, from the recorded hook calls (for the report)."""
    rows = []
    for c in sb.hook_calls():
        if "--hook" not in c["args"]:  # Pi's extension calls hb-write itself
            a = c["args"]
            rows.append(a[a.index("--status") + 1] if "--status" in a else " ".join(a[:-1]))
            continue
        try:
            p = json.loads(c["payload"] or (c["args"][-1] if c["args"] else "{}"))
        except ValueError:
            p = {}
        a = c["args"]
        # Copilot CLI's payloads do not name their event: the hook's --event does.
        given = a[a.index("--event") + 1] if "--event" in a[:-1] else None
        ev = given or p.get("hook_event_name") or p.get("hookName") or p.get("type") or "?"
        if p.get("notification_type"):
            ev += f"({p['notification_type']})"
        rows.append(f"{ev}")
    return rows


def runtime_model(sb):
    """The model the runtime asked the mock for in its first turn."""
    for r in sb.requests_seen():
        b = r.get("body")
        if r["method"] == "POST" and isinstance(b, dict) and b.get("tools"):
            return b.get("model")
    raise Failure("the mock saw no model request with tools")


def check_common(sb, a, model=None):
    check_hooks_quiet(sb)
    check_pids(a.sampler.samples, a.pane_pid)
    check_model_kept(a.sampler.samples, model or runtime_model(sb))
    reqs = sb.requests_seen()
    check(any(r["method"] == "POST" for r in reqs), "the mock saw no model request")
    errs = [s for s in a.sampler.samples if "error" in s]
    check(not errs, f"hb-read failed while sampling: {errs[:2]}")


def install_hooks(sb, runtime, env, *flags):
    """The integration as a user installs it: scripts/hb-install-hooks."""
    r = subprocess.run([os.path.join(ROOT, "scripts", "hb-install-hooks"), *flags, runtime],
                       capture_output=True, text=True, env=dict(sb.env, **env))
    check(r.returncode == 0, f"hb-install-hooks {runtime}: {r.returncode}: {r.stdout}{r.stderr}")
    return r.stdout


def dump(sb, pkg, version, print=print):
    print(f"--- runtime: {pkg} {version}")
    print("--- hook calls (args, rc, stderr, payload):")
    for c in sb.hook_calls():
        print(f"  {c['args']} rc={c['rc']!r} stderr={c['stderr']!r}")
        print(f"    {c['payload']}")
    for a in sb.agents.values():
        print(f"--- beat timeline of {a.name} (pane pid {a.pane_pid}):")
        for s in a.sampler.timeline():
            print(f"  {s}")
        print(f"--- pane of {a.name}:")
        print(a.pane())
    print("--- mock requests:")
    for r in sb.requests_seen():
        b = r["body"]
        summary = {k: b.get(k) for k in ("model", "stream")} if isinstance(b, dict) else b
        print(f"  {r['method']} {r['path']} {json.dumps(summary)[:200]}")


def capture(sb, mode, dest):
    """Keeps the payloads a real CLI sent, for tests/fixtures/hooks/."""
    out = os.path.join(dest, mode)
    os.makedirs(out, exist_ok=True)
    for i, c in enumerate(sb.hook_calls()):
        with open(os.path.join(out, f"{i:02d}.json"), "w") as f:
            json.dump({"args": c["args"], "payload": c["payload"], "tree": c["tree"]}, f,
                      indent=1)
