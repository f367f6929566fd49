#!/usr/bin/env bash
# The sidecar's running cost, measured on the live process:
#   - CPU per beat: on-CPU nanoseconds from /proc/PID/schedstat over BEATS
#     ticks at interval 1, once writing (no marker) and once deferring (a
#     marker kept fresh), start-up excluded (it is reported on its own);
#   - memory: VmRSS, VmHWM, RssAnon, RssFile and Pss after the ticks.
# Goals (the issue): under 1 ms of CPU per beat and under 1 MiB RSS.
# Usage: bench/sidecar.sh DIR_WITH_BINARIES [RESULTS_MD]
#   RESULTS_MD: the section between the "sidecar" markers is replaced (or
#   appended), the rest of the file is left as it is.
set -euo pipefail

bin=${1:?usage: bench/sidecar.sh DIR [RESULTS_MD]}
out=${2:-}
beats=${BEATS:-20}
bin=$(cd -- "$bin" && pwd)
[[ -x $bin/hb-write ]] || { echo "bench: no $bin/hb-write" >&2; exit 2; }
[[ -r /proc/self/schedstat ]] || { echo "bench: needs /proc/PID/schedstat (CONFIG_SCHED_INFO)" >&2; exit 2; }

work=$(mktemp -d)
agent='' sidecar=''
cleanup() {
    local p
    for p in "$sidecar" "$agent"; do
        [[ -z $p ]] || kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
dir=$work/hb

cpu_ns() { local a _; read -r a _ <"/proc/$1/schedstat"; printf '%s\n' "$a"; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
pss_kb() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup"; }
us() { awk -v ns="$1" -v n="$2" 'BEGIN { printf "%.1f", ns / n / 1000 }'; }

sleep 100000 &
agent=$!
"$bin/hb-write" --sidecar --dir "$dir" --interval 1 --while-pid "$agent" w-bench \
    </dev/null >/dev/null 2>"$work/err" &
sidecar=$!
until [[ -s $dir/w-bench.hb ]]; do sleep 0.01; done
start_ns=$(cpu_ns "$sidecar")

# Writing: every tick writes, fsyncs and renames a beat.
c0=$(cpu_ns "$sidecar")
sleep "$beats.5"
c1=$(cpu_ns "$sidecar")
write_us=$(us "$((c1 - c0))" "$beats")

# Deferring: a fresh marker; every tick is one stat.
"$bin/hb-write" --dir "$dir" --native --pid "$agent" w-bench
sleep 0.5
c0=$(cpu_ns "$sidecar")
for ((i = 0; i < beats; i++)); do
    touch -c -- "$dir/w-bench.hb.native"
    sleep 1
done
sleep 0.5
c1=$(cpu_ns "$sidecar")
defer_us=$(us "$((c1 - c0))" "$beats")

rss=$(status_kb "$sidecar" VmRSS)
hwm=$(status_kb "$sidecar" VmHWM)
anon=$(status_kb "$sidecar" RssAnon)
file=$(status_kb "$sidecar" RssFile)
pss=$(pss_kb "$sidecar")
threads=$(status_kb "$sidecar" Threads)
[[ ! -s $work/err ]] || { echo "bench: the sidecar complained:" >&2; cat "$work/err" >&2; exit 1; }

linked=dynamic
if ! readelf -lW "$bin/hb-write" 2>/dev/null | grep -q INTERP; then linked=static; fi
verdict() { if awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; then echo met; else echo "NOT met"; fi; }

report="| measure | value | goal |
| --- | --- | --- |
| CPU per beat, writing | ${write_us} µs | < 1000 µs: $(verdict "$write_us" 1000) |
| CPU per beat, deferring to a fresh marker | ${defer_us} µs | < 1000 µs: $(verdict "$defer_us" 1000) |
| CPU to start, incl. the first beat | $(us "$start_ns" 1) µs | |
| VmRSS (VmHWM) | ${rss} kB (${hwm} kB) | < 1024 kB: $(verdict "$hwm" 1024) |
| of which private (RssAnon) / file-backed (RssFile) | ${anon} kB / ${file} kB | |
| Pss | ${pss} kB | |
| threads | ${threads} | 1 |

Binary: \`$1/hb-write\` ($linked, $(stat -c %s "$bin/hb-write") bytes); $beats beats per phase at interval 1; $(nproc) cores, $(uname -sr)."
echo "$report"

if [[ -n $out ]]; then
    "$(dirname "$0")/splice.sh" sidecar "$out" <<EOF
## The sidecar (\`hb-write --sidecar\`) ($(date -u +%F))

Measured with \`bench/sidecar.sh $1\` (run by \`make bench\`): the live
process's on-CPU time from \`/proc/PID/schedstat\` over $beats ticks, and its
memory from \`/proc/PID/status\` and \`smaps_rollup\`.

$report
EOF
fi
