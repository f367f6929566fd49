"""Issue 22's edges (contract v4, "The end of a turn"), shared by the
runtimes' edge modes: an interrupt while the model streams (E1), an
interrupt while a long tool runs (E2), "No" at the permission dialog (E3),
Esc at the dialog (E4), the question tool (E5). Press a key that ends a
turn or a dialog, then check the listing against the key: the state it
must show within BOUND seconds (2 x interval + 1.5 s, the issue's
acceptance), held while the agent idles, and how long it took.

Two ways to drive them, from two runtimes' sets of modes written at once
(issue 22's helpers), kept side by side: `press`/`hold`/`next_prompt`
(Codex, Copilot CLI) and `after_key`/`busy_then_ok`/`hold_status`
(Gemini CLI, Qwen Code, OpenCode, Pi), which also logs each latency to
$HB_E2E_LATENCY and lets a hook-driven runtime that is slow to act on the
key count from its own hook. The mock plays the turns a prompt names
(mock.py).
"""

import json
import os
import time

from harness import HOLD, INTERVAL, Failure, check, deadline_wait

# The acceptance bound: after the key, the listing is true within this.
BOUND = 2 * INTERVAL + 1.5

def press(agent, keys, want, bound=BOUND, what=None):
    """Sends `keys` (a list of send-keys arguments, or a callable, which
    may return the monotonic time of its last key), then
    waits for a sample whose status is `want` (a status, or a predicate
    on the status). Returns {"latency": seconds, "fresh": bool}."""
    ok = want if callable(want) else (lambda st: st == want)
    what = what or (keys if not callable(keys) else getattr(keys, "__doc__", None) or "the key")
    wanted = want if not callable(want) else getattr(want, "__doc__", None) or "the state"
    before = agent.sampler.latest()
    m = agent.sampler.mark()
    t = time.monotonic() - agent.sampler.t0
    if callable(keys):
        # A callable that had to press again says when its last key went.
        last = keys()
        if isinstance(last, float):
            t = last - agent.sampler.t0
    else:
        agent.keys(*keys)

    def seen():
        return next((s for s in agent.sampler.since(m)
                     if s.get("t", 0) >= t and ok(s.get("status"))), None)
    try:
        s = deadline_wait(seen, bound, f"the listing to show {wanted} after {what}")
    except Failure:
        tail = [(x.get("t"), x.get("status"), x.get("src")) for x in agent.sampler.since(m)]
        raise Failure(f"{wanted} not within {bound}s of {what}: since the key {tail[-8:]}")
    return {"latency": round(s["t"] - t, 2), "fresh": before.get("src") == "native",
            "src": s.get("src")}


def moving(status):
    """not waiting (busy or ok)"""
    return status in ("busy", "ok")


def hold(agent, status, seconds=HOLD):
    """The listing stays `status` for `seconds` (the agent idles, or a
    dialog stays open): the sidecar carries it, nothing settles it away."""
    m = agent.sampler.mark()
    time.sleep(seconds)  # held this long on purpose
    got = agent.sampler.since(m)
    bad = [s for s in got if s.get("status") != status]
    check(not bad, f"the listing left {status} while it should hold: {bad[:3]}")


def next_prompt(agent, text="hb-plain now"):
    """A following prompt goes busy, then ok, and ok holds."""
    m = agent.sampler.mark()
    agent.type_line(text)
    deadline_wait(lambda: any(s.get("status") == "busy" for s in agent.sampler.since(m)), 30,
                  "the next prompt's busy")
    deadline_wait(lambda: agent.sampler.latest().get("status") == "ok", 30,
                  "the next prompt's ok")
    hold(agent, "ok")


def latency_log(sb, mode, edge, seconds, hook=None):
    """Appends one measured latency (and when the runtime's first hook after
    the key came) to $HB_E2E_LATENCY (a JSON line each), for the report's
    p50/p99 over runs."""
    path = os.environ.get("HB_E2E_LATENCY")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"mode": mode, "edge": edge, "latency": seconds,
                                "hook": hook}) + "\n")


# A runtime that fires a hook for an edge may itself be slow to act on the
# key on a loaded machine (OpenCode's TUI while it renders a stream, Qwen's
# after killing a shell): then the bound counts from its hook, which must
# come within RUNTIME_LAG of the key. The latency logged is the key's.
RUNTIME_LAG = 10


def first_hook_after(sb, epoch, says=lambda status: True):
    """The start (Unix seconds) of the first hook call after `epoch` whose
    beat `says` so (Pi's extension also beats on a timer), from the
    recording wrapper's names (`NS.PID`) and kept beats, or None."""
    starts = [int(os.path.basename(c["stem"]).split(".")[0]) / 1e9 for c in sb.hook_calls()
              if says((c["beat"] or {}).get("status"))]
    return min((t for t in starts if t >= epoch), default=None)


def after_key(a, key, want, edge, sb=None, mode="", hold=True, not_=None, src=None,
              by_hook=False):
    """Sends `key` (a function), then waits for the listing to say `want`
    (or, with `not_`, anything but it) within BOUND of the key (`by_hook`:
    of the runtime's first hook after the key, which must come within
    RUNTIME_LAG), and, with `hold`, that it stays so for HOLD seconds; with
    `src`, the first sample that says so has that `src` (`settled`: hb read
    it from the runtime's record). Returns the latency from the key, in
    seconds."""
    m = a.sampler.mark()
    t0 = time.monotonic() - a.sampler.t0
    e0 = time.time()
    key()

    def says(st):
        return (not_ is not None and st != not_) or (not_ is None and st == want)

    def landed():
        return next((s for s in a.sampler.since(m) if says(s.get("status"))), None)
    what = f"{edge}: status {want or 'not ' + not_}"
    try:
        got = deadline_wait(landed, BOUND + (RUNTIME_LAG if by_hook else 0), what, every=0.02)
    except Failure as e:
        raise Failure(f"{e}; the samples since the key: {a.sampler.since(m)[-3:]}") from None
    lat = round(got["t"] - t0, 2)
    if lat > BOUND:
        hook = first_hook_after(sb, e0, says) if by_hook and sb is not None else None
        check(hook is not None and hook - e0 <= RUNTIME_LAG and lat - (hook - e0) <= BOUND,
              f"{what} {lat}s after the key, the runtime's first hook "
              f"{None if hook is None else round(hook - e0, 2)}s after it")
    check(src is None or got.get("src") == src, f"{edge}: src {got.get('src')}, want {src}")
    if hold:
        h = a.sampler.mark()
        time.sleep(HOLD)  # idle this long on purpose: the state must stay
        held = a.sampler.since(h)
        bad = [s for s in held if not says(s.get("status"))]
        check(not bad, f"{edge}: the listing left {want} while idle: {bad[:3]}")
    if sb is not None:
        hook = first_hook_after(sb, e0, says)
        latency_log(sb, mode, edge, lat, None if hook is None else round(hook - e0, 2))
    return lat


def busy_then_ok(a, prompt, edge):
    """A following prompt goes busy, then ok (the turn after an edge)."""
    m = a.sampler.mark()
    a.type_line(prompt)
    deadline_wait(lambda: any(s.get("status") == "busy" for s in a.sampler.since(m)), 30,
                  f"after {edge}: the next prompt busy")
    deadline_wait(lambda: a.sampler.latest().get("status") == "ok", 30,
                  f"after {edge}: the next prompt's turn ok")


def deny_key(pane, word="No"):
    """The digit of the dialog's option that starts with `word` (`3. No,
    suggest changes (esc)`), or None."""
    import re
    m = re.search(r"(\d)\.\s+" + re.escape(word), pane)
    return m.group(1) if m else None


def hold_status(a, status):
    """Once `status`, the listing stays so for HOLD seconds (whoever beats:
    Pi's extension beats on its own timer, so nothing is carried there)."""
    a.wait_status(status, timeout=60)
    m = a.sampler.mark()
    time.sleep(HOLD)  # the dialog stays open this long on purpose
    bad = [s for s in a.sampler.since(m) if s.get("status") != status]
    check(not bad, f"the listing left {status} while the dialog was open: {bad[:3]}")
