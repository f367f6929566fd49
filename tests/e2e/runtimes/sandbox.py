"""Claude Code inside bubblewrap (`bwrap --unshare-pid`, the recipe of
doc/sandboxes.md), under the launcher on the host: its hooks name pid 2 of
the sandbox's pid namespace, and the host's hb-read must show the agent's
pid on the host, never dead while it lives (issue 23).
"""

import json
import os
import subprocess

from harness import (
    CACHE, HB_BIN, INTERVAL, ROOT, check, check_exited, check_hooks_quiet, deadline_wait,
    hold_idle, hold_waiting, statuses)
from claude import claude_bin, claude_setup

PACKAGES = ["claude-new"]


def bwrap_argv(sb):
    """doc/sandboxes.md's bubblewrap recipe; the sandbox's whole world
    (HOME with ~/.claude, the work dir, the beats, the hook recorder's
    log) is under sb.root, bound writable over a fresh /tmp."""
    # The checkout (hb's binaries) and the e2e cache (Claude Code) are
    # bound back read-only over the fresh /tmp, for a checkout under /tmp.
    return ["bwrap", "--unshare-pid", "--die-with-parent", "--ro-bind", "/", "/",
            "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--ro-bind", ROOT, ROOT, "--ro-bind", CACHE, CACHE,
            "--bind", sb.root, sb.root]


def ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def under(pid, root):
    for _ in range(64):
        if pid == root:
            return True
        pid = ppid(pid)
        if not pid or pid <= 1:
            return False
    return False


def row(sb, name):
    r = subprocess.run([os.path.join(HB_BIN, "hb-read"), "--json", "--dir", sb.hb,
                        "--interval", str(INTERVAL), name], capture_output=True, text=True)
    return json.loads(r.stdout)["rows"][0]


def claude_in_bwrap(pkg):
    def run(sb):
        env = claude_setup(sb)
        a = sb.start("cl-bwrap", [*bwrap_argv(sb), claude_bin(pkg)], env)
        a.wait_status("ok", timeout=30)
        deadline_wait(lambda: a.sampler.latest().get("src") == "native", 30,
                      "the SessionStart beat")
        deadline_wait(lambda: "shortcuts" in a.pane() or "\u276f" in a.pane(), 30,
                      "claude's prompt")
        r = row(sb, "cl-bwrap")
        hb = r["heartbeat"]
        check(hb.get("ns_pid") == 2, f"the runtime is pid 2 under bwrap's init: {r}")
        check(under(hb["pid"], a.pane_pid), f"pid {hb['pid']} is not under the pane: {r}")
        a.type_line("run the tool")
        hold_waiting(a)
        a.keys("Enter")  # "1. Yes" is selected
        deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                      "the tool to run")
        hold_idle(a)
        # Never dead nor exited while it lived, and every native or
        # carried beat names the agent's process on the host.
        lived = list(a.sampler.samples)
        bad = [s for s in lived if s.get("health") == "dead" or s.get("status") == "exited"]
        check(not bad, f"dead or exited while alive: {bad[:3]}")
        for s in lived:
            if s.get("src") in ("native", "carried"):
                check(s.get("pid") == hb["pid"], f"a beat names pid {s.get('pid')}: {s}")
        a.type_line("/exit")
        check_exited(a)
        check_hooks_quiet(sb)
        st = statuses(a.sampler.samples)
        check("busy" in st and "waiting" in st, f"statuses {st}")
        check(st.index("busy") < st.index("waiting"), f"statuses {st}")
        return st
    return run


MODES = {
    "sandbox-claude-bwrap-2.1.332": (claude_in_bwrap("claude-new"), "claude-new", {}),
}
