#!/usr/bin/env bash
# The follower's benchmark (issue 19): `hb-read --follow` over a fleet of
# AGENTS beats with live pids. Latency from `hb-write` returning to the
# change's line being read, over CHANGES changes; the follower's CPU over
# the idle fleet for IDLE seconds and while RATE changes a second are
# written for BUSY seconds (and how many read(2) calls a change costs, to
# show only the changed beats are read again); its memory and descriptors.
# `make bench` runs it as section 9 (scripts/bench.sh); alone, it replaces
# section 9 of an existing results file:
#
# Usage: scripts/bench-follow.sh DIST_DIR OUT_MD [OUT_JSON]
#        scripts/bench-follow.sh --into RESULTS_MD DIST_DIR
# Environment: AGENTS (1000), CHANGES (1000), IDLE (60), RATE (100), BUSY (30)
# Needs python3.
set -euo pipefail
export LC_ALL=C

prog=${0##*/}
die() {
    printf '%s: error: %s\n' "$prog" "$2" >&2
    exit "$1"
}
into=''
if [[ ${1:-} == --into ]]; then
    [[ $# -eq 3 ]] || die 2 "usage: $prog --into RESULTS_MD DIST_DIR"
    into=$2
    [[ -f $into ]] || die 2 "no $into to put section 9 into (run make bench first)"
    shift 2
    set -- "$1" "$(mktemp)"
fi
[[ $# -eq 2 || $# -eq 3 ]] || die 2 "usage: $prog DIST_DIR OUT_MD [OUT_JSON] | --into RESULTS_MD DIST_DIR"
dist=$1 out=$2 goals=${3:-/dev/null}
command -v python3 >/dev/null || die 2 "python3 not found: install the Debian package python3"
for b in hb-read hb-write; do
    [[ -x $dist/$b ]] || die 2 "no executable $dist/$b (make static builds it)"
done
for v in AGENTS CHANGES IDLE RATE BUSY; do
    [[ ${!v:-1} =~ ^[1-9][0-9]*$ ]] || die 2 "$v: not a whole number: ${!v}"
done

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
say "9/9 the follower: ${AGENTS:-1000} agents, ${CHANGES:-1000} changes, ${IDLE:-60} s idle, ${RATE:-100}/s for ${BUSY:-30} s"

python3 - "$dist" "$work" "$out" "$goals" "${AGENTS:-1000}" "${CHANGES:-1000}" \
    "${IDLE:-60}" "${RATE:-100}" "${BUSY:-30}" <<'PY'
import json, math, os, signal, socket, subprocess, sys, threading, time

dist, work, out, goals_out = sys.argv[1:5]
agents, changes, idle, rate, busy = (int(x) for x in sys.argv[5:10])
hb_read, hb_write = f"{dist}/hb-read", f"{dist}/hb-write"
load = lambda: open("/proc/loadavg").read().split()[0]
load0 = load()
tick = os.sysconf("SC_CLK_TCK")
d = f"{work}/hb"
os.mkdir(d)

def stat(pid):
    s = open(f"/proc/{pid}/stat").read()
    return s[s.rindex(")") + 2:].split()

def cpu_s(pid):
    f = stat(pid)
    return (int(f[11]) + int(f[12])) / tick  # utime, stime (fields 14, 15)

def status(pid):
    return dict(l.split(":", 1) for l in open(f"/proc/{pid}/status") if ":" in l)

def io(pid, key):
    return next(int(l.split()[1]) for l in open(f"/proc/{pid}/io") if l.startswith(key + ":"))

def pct(t, q):
    t = sorted(t)
    return t[max(0, math.ceil(q * len(t)) - 1)]

# Live agents: their pids pass the follower's liveness checks, and each
# agent gets a pidfd, as in a real fleet.
pool = [subprocess.Popen(["sleep", "3600"]) for _ in range(100)]
host = socket.gethostname()
pstart = {p.pid: int(stat(p.pid)[19]) for p in pool}
now = int(time.time())
state = {}

def beat(i, st):
    p = pool[i % len(pool)].pid
    name = f"w{i}"
    tmp = f"{d}/.{name}.hb.tmp"
    with open(tmp, "w") as f:
        f.write(f"ts={int(time.time())}\npid={p}\nstatus={st}\nmodel=glm-5.2\nhost={host}\npstart={pstart[p]}\nsince={now}\n")
    os.rename(tmp, f"{d}/{name}.hb")
    state[i] = st

for i in range(agents):
    beat(i, "ok")

# Interval 3600: nothing goes stale during the run, so every line is a
# change this harness made.
err = open(f"{work}/follower.err", "w")
f = subprocess.Popen([hb_read, "--follow", "--dir", d, "--interval", "3600"],
                     stdout=subprocess.PIPE, stderr=err, bufsize=0)
lines = f.stdout
rd = os.fdopen(os.dup(lines.fileno()), "rb")
deadline = time.monotonic() + 60
for _ in range(agents):
    if time.monotonic() > deadline:
        sys.exit("the follower did not list the fleet in 60 s")
    if b" appeared " not in rd.readline():
        sys.exit("not an appeared line at start")
res = {"agents": agents}

# Idle: the fleet as it is, nothing written.
c0, v0, t0 = cpu_s(f.pid), int(status(f.pid)["voluntary_ctxt_switches"]), time.monotonic()
time.sleep(idle)
c1, v1, t1 = cpu_s(f.pid), int(status(f.pid)["voluntary_ctxt_switches"]), time.monotonic()
res["idle"] = {"seconds": t1 - t0, "cpu_s": c1 - c0, "wakeups": v1 - v0}

# Latency: hb-write run to its end, then the line read.
lat = []
for k in range(changes):
    i = k % agents
    st = "busy" if state.get(i) == "ok" else "ok"
    p = pool[i % len(pool)].pid
    pid = os.posix_spawn(hb_write, [hb_write, "--dir", d, "--pid", str(p), "--status", st, f"w{i}"], os.environ)
    _, ws = os.waitpid(pid, 0)
    t = time.perf_counter_ns()
    if ws != 0:
        sys.exit(f"hb-write failed: {ws}")
    line = rd.readline()
    lat.append(time.perf_counter_ns() - t)
    if f" w{i} changed {st} ".encode() not in line:
        sys.exit(f"unexpected line for w{i} {st}: {line!r}")
    state[i] = st
res["latency_ns"] = lat

# Busy: RATE changes a second for BUSY seconds, written by this process
# (as hb-write writes them: a temporary, then a rename), lines counted.
got = [0]
def reader():
    while got[0] < rate * busy:
        if not rd.readline():
            return
        got[0] += 1
th = threading.Thread(target=reader, daemon=True)
th.start()
c0, r0, t0 = cpu_s(f.pid), io(f.pid, "syscr"), time.monotonic()
n, nxt = 0, time.monotonic()
while n < rate * busy:
    i = (n * 7919) % agents  # spread over the fleet
    beat(i, "busy" if state.get(i) == "ok" else "ok")
    n += 1
    nxt += 1 / rate
    time.sleep(max(0, nxt - time.monotonic()))
th.join(30)
t1 = time.monotonic()
c1, r1 = cpu_s(f.pid), io(f.pid, "syscr")
res["busy"] = {"seconds": t1 - t0, "cpu_s": c1 - c0, "changes": n, "lines": got[0], "reads": r1 - r0}

st = status(f.pid)
res["mem_kb"] = {k: int(st[k].split()[0]) for k in ("VmRSS", "VmHWM")}
res["fds"] = len(os.listdir(f"/proc/{f.pid}/fd"))
f.send_signal(signal.SIGTERM)
res["exit"] = f.wait(10)
for p in pool:
    p.kill()
    p.wait()
res["stderr"] = open(f"{work}/follower.err").read()
load1 = load()

L = res["latency_ns"]
p50, p99 = pct(L, 0.5) / 1e6, pct(L, 0.99) / 1e6
idle_pct = res["idle"]["cpu_s"] / res["idle"]["seconds"] * 100
b = res["busy"]
busy_pct = b["cpu_s"] / b["seconds"] * 100
hwm = res["mem_kb"]["VmHWM"]
goals = [
    ("9", "follower latency p99 < 10 ms", f"{p99:.2f} ms", p99 < 10),
    ("9", f"follower CPU over an idle fleet of {agents} < 0.5 % of a core", f"{idle_pct:.3f} %", idle_pct < 0.5),
    ("9", "follower VmHWM < 2 MiB", f"{hwm} kB", hwm < 2048),
]
verdict = lambda ok: "met" if ok else "**NOT met**"
s = ["## 9. The follower", ""]
s.append(f"`hb-read --follow --dir D --interval 3600` (`{dist}/hb-read`) over {agents} beats with a "
         "model, each naming one of 100 live `sleep` pids with its true host and start time (so "
         f"the follower holds a pidfd for each agent); interval 3600, so nothing goes stale and every "
         "line is a change the harness made. CPU is utime + stime from `/proc/PID/stat` "
         f"(resolution 1/{tick} s), read syscalls from `/proc/PID/io`, wake-ups from "
         "`voluntary_ctxt_switches`, memory from `/proc/PID/status` at the end. "
         f"Load average (1 min) {load0} at the start of this section, {load1} at its end, "
         f"on {os.cpu_count()} cores (other work on the machine shows in the latency's tail).")
s.append("")
s.append("| figure | measured | goal |")
s.append("| --- | --- | --- |")
s.append(f"| latency, `hb-write` returning to the line read, {len(L)} changes: p50 | {p50:.3f} ms | |")
s.append(f"| latency p99 | {p99:.3f} ms | < 10 ms: {verdict(p99 < 10)} |")
s.append(f"| latency max | {max(L) / 1e6:.3f} ms | |")
s.append(f"| CPU, the idle fleet for {res['idle']['seconds']:.0f} s | {res['idle']['cpu_s'] * 1e3:.0f} ms: {idle_pct:.3f} % of a core | < 0.5 %: {verdict(idle_pct < 0.5)} |")
s.append(f"| wake-ups, idle | {res['idle']['wakeups'] / res['idle']['seconds']:.2f} a second | |")
s.append(f"| CPU, {rate} changes a second for {b['seconds']:.0f} s | {b['cpu_s'] * 1e3:.0f} ms: {busy_pct:.2f} % of a core, {b['cpu_s'] / max(b['changes'], 1) * 1e6:.0f} µs a change | report |")
s.append(f"| read(2) calls a change, then | {b['reads'] / max(b['changes'], 1):.2f} (the fleet is {agents} beats) | report |")
s.append(f"| lines for the changes written | {b['lines']} of {b['changes']} | all |")
s.append(f"| VmRSS / VmHWM at the end | {res['mem_kb']['VmRSS']} kB / {hwm} kB | VmHWM < 2 MiB: {verdict(hwm < 2048)} |")
s.append(f"| open descriptors | {res['fds']} ({agents} agents' pidfds among them) | |")
s.append(f"| size of `hb-read` | {os.stat(hb_read).st_size:,} bytes | (section 5) |")
s.append(f"| exit status on SIGTERM; stderr | {res['exit']}; {'empty' if not res['stderr'] else repr(res['stderr'])} | 0, empty |")
s.append("")
s.append("Commands: the follower as above; each latency change is `hb-write --dir D --pid PID "
         "--status busy|ok wN` run by a harness that posix_spawns it, waits for it (wait4) and "
         "then reads the line, timing from the wait's return to the line; the busy phase's beats "
         "are written by the harness itself (a temporary, then a rename), spread over the fleet, "
         "every one a change.")
for sec, text, value, ok in goals:
    s.append(f"- Goal: {text}. Measured: {value}: {verdict(ok)}.")
if b["lines"] != b["changes"] or res["exit"] != 0 or res["stderr"]:
    s.append("- **The follower missed a change, did not end 0 on SIGTERM, or said something on stderr: these figures are not sound.**")
open(out, "w").write("\n".join(s) + "\n")
json.dump(goals, open(goals_out, "w"))
PY

if [[ -n $into ]]; then
    # Section 9 of RESULTS_MD, replaced (or added at the end), marked as
    # measured apart from the rest.
    python3 - "$into" "$out" <<'PY'
import sys, time
path, chunk = sys.argv[1], open(sys.argv[2]).read()
note = (f"\nMeasured on its own by `scripts/bench-follow.sh --into` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, not in the run above; its goals "
        "are listed here and not in the table at the top.\n")
head, sep, rest = chunk.partition("\n\n")
chunk = head + "\n" + note + "\n" + rest
text = open(path).read()
start = text.find("## 9. The follower")
if start < 0:
    text = text.rstrip("\n") + "\n\n" + chunk
else:
    end = text.find("\n## ", start + 1)
    text = text[:start] + chunk + ("" if end < 0 else text[end:])
open(path, "w").write(text)
PY
    rm -f -- "$out"
    say "wrote section 9 of $into"
else
    cat -- "$out"
fi
