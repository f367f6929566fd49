"""Issue 22's edges, shared by the runtimes' edge modes: press a key that
ends a turn or a dialog (an interrupt, a denial, Esc at a dialog, an
answer), then check the listing against the key: the state it must show
within BOUND seconds, held while the agent idles, and how long it took.

Each check returns the latency from the key to the first sample that
shows the state (the sampler's resolution, 25 Hz plus one `hb-read`),
whether the marker was still fresh when the key came (`src` native: the
last hook was less than 2 x interval before it), and the `src` that
showed the state (`native`: a hook wrote it; `settled`: hb read it from
the runtime's record), for the report.
"""

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
