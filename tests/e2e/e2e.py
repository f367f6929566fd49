#!/usr/bin/env python3
"""`make e2e`: real agent runtimes against hb.

Each mode starts a real agent with scripts/start-agent-session.sh in a
private tmux server, in a network namespace with only loopback (the caller
runs this under `unshare -n`), against a mock model server on 127.0.0.1
(mock.py). A sampler reads the beat through `hb-read --json` at 25 Hz
while the test drives the agent (tmux send-keys, capture-pane), then the
timeline is checked: busy through the turn, waiting for as long as a
permission prompt is open, ok after, the model kept, the pid the agent's,
SRC as the contract says, exited at the end, every hook quiet and exit 0.

A runtime is one file, `runtimes/NAME.py`: its `PACKAGES` (the npm
aliases of tests/e2e/package.json its modes run) and its `MODES`, each
`"mode-name": (function(sandbox) -> statuses, package, sandbox options)`.
The harness (harness.py) is shared. Modes run `--jobs N` at a time
(default 2, or $HB_E2E_JOBS): each has its own mock, port, tmux server and
directories.

On failure it prints the runtime's version, the hook payloads, the sampled
timeline, the mock's request log and the pane.

Usage: e2e.py [--keep] [--capture DIR] [--jobs N] [MODE...]   (modes: --list)
Environment: HB_E2E_CACHE (the npm install, default target/e2e),
HB_BIN (hb binaries, default target/debug), HB_E2E_JOBS.
"""

import concurrent.futures
import importlib
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402  (after the path above)
    Failure, MODS, Sandbox, assert_loopback_only, capture, dump, event_table)

RUNTIMES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtimes")


def runtimes():
    """Every runtimes/NAME.py, by name."""
    sys.path.insert(0, RUNTIMES_DIR)
    names = sorted(f[:-3] for f in os.listdir(RUNTIMES_DIR)
                   if f.endswith(".py") and not f.startswith("_"))
    return [importlib.import_module(n) for n in names]


def versions(packages):
    out = {}
    for pkg in packages:
        try:
            with open(os.path.join(MODS, pkg, "package.json")) as f:
                out[pkg] = json.load(f)["version"]
        except OSError:
            out[pkg] = None
    return out


def run_mode(mode, fn, pkg, opts, version, keep, cap):
    """One mode in its own sandbox; returns (ok, the lines to print)."""
    lines = []
    say = lines.append
    t0 = time.monotonic()
    sb = Sandbox(mode, **opts)
    ok = False
    try:
        st = fn(sb)
        us = sorted(int(c["us"]) for c in sb.hook_calls() if (c["us"] or "").strip())
        took = f"; hb-write took {us[0] / 1000:.1f} to {us[-1] / 1000:.1f} ms" if us else ""
        say(f"e2e: ok   {mode} ({time.monotonic() - t0:.1f}s): statuses {st}; "
            f"events {event_table(sb, mode)}{took}")
        if cap:
            capture(sb, mode, cap)
        ok = True
    except Exception as e:
        say(f"e2e: FAIL {mode} ({time.monotonic() - t0:.1f}s): {e}")
        if not isinstance(e, Failure):
            say(traceback.format_exc().rstrip())
        dump(sb, pkg, version, print=say)
    finally:
        sb.close(keep=keep)
    return ok, lines


def main(argv):
    keep = "--keep" in argv
    cap = None
    jobs = int(os.environ.get("HB_E2E_JOBS") or 2)
    args = []
    it = iter(argv)
    for a in it:
        if a == "--capture":
            cap = next(it)
        elif a == "--jobs":
            jobs = int(next(it))
        elif not a.startswith("--"):
            args.append(a)
    rts = runtimes()
    modes = {}
    for rt in rts:
        modes.update(rt.MODES)
    if "--list" in argv:
        print("\n".join(modes))
        return 0
    picked = [m for m in modes if not args or any(m.startswith(a) for a in args)]
    if not picked:
        print(f"e2e: no mode matches {args}; see --list", file=sys.stderr)
        return 2
    assert_loopback_only()
    vers = versions([p for rt in rts for p in rt.PACKAGES] + ["node"])
    print(f"e2e: versions {json.dumps(vers)}", flush=True)
    t0 = time.monotonic()
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {}
        for mode in picked:
            fn, pkg, opts = modes[mode]
            futures[pool.submit(run_mode, mode, fn, pkg, opts, vers.get(pkg), keep, cap)] = mode
        for f in concurrent.futures.as_completed(futures):
            ok, lines = f.result()
            print("\n".join(lines), flush=True)
            if not ok:
                failed.append(futures[f])
    print(f"e2e: {len(picked) - len(failed)} of {len(picked)} modes passed in "
          f"{time.monotonic() - t0:.0f}s with {jobs} at a time"
          + (f"; failed: {' '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
