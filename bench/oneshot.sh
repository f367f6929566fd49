#!/usr/bin/env bash
# One-shot costs, as ratios measured in one hyperfine run on this machine:
#   - a fallback tick: `hb-write --fallback` against the original bash way
#     (date, stat, printf to a temporary, mv) and against a static no-op,
#   - a reader: `hb-read` of a 100-agent fleet, table and JSON.
# Usage: bench/oneshot.sh DIR_WITH_STATIC_BINARIES [RESULTS_MD]
set -euo pipefail

bin=${1:?usage: bench/oneshot.sh DIR [RESULTS_MD]}
out=${2:-}
command -v hyperfine >/dev/null || { echo "bench: needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
dir=$work/hb
mkdir -p "$dir"

# The static no-op: the floor of any process start on this machine.
printf 'int main(void) { return 0; }\n' >"$work/noop.c"
cc -O2 -static -o "$work/noop" "$work/noop.c"

# The original system's fallback tick, in bash (one process for bash, more
# for date, stat and mv). It does not fsync, so it is not even durable.
cat >"$work/bash-tick.sh" <<'BASH'
#!/usr/bin/env bash
set -euo pipefail
dir=$1 name=$2 pid=$3 interval=10
marker="$dir/$name.hb.native"
if [[ -f $marker ]] && (( $(date +%s) - $(stat -c %Y "$marker") < 2 * interval )); then
    exit 0
fi
tmp="$dir/.$name.hb.$$"
printf 'ts=%s\npid=%s\nstatus=ok\n' "$(date +%s)" "$pid" >"$tmp"
mv -f "$tmp" "$dir/$name.hb"
BASH
chmod +x "$work/bash-tick.sh"

for i in $(seq 1 100); do
    "$bin/hb-write" --dir "$dir" --pid 1 "w-$i"
done

json=$work/oneshot.json
hyperfine -N -i --warmup 20 --runs 300 --export-json "$json" \
    -n noop "$work/noop" \
    -n "hb-write --fallback" "$bin/hb-write --dir $dir --pid 1 --fallback w-bench" \
    -n "bash fallback tick" "$work/bash-tick.sh $dir w-bash 1" \
    -n "hb-defer-check" "$bin/hb-defer-check --dir $dir w-bench" \
    -n "hb-read (100 agents)" "$bin/hb-read --dir $dir" \
    -n "hb-read --json (100 agents)" "$bin/hb-read --dir $dir --json" \
    >/dev/null 2>&1

table=$(python3 - "$json" <<'PY'
import json, sys
rs = json.load(open(sys.argv[1]))["results"]
noop = next(r["mean"] for r in rs if r["command"] == "noop")
bash = next(r["mean"] for r in rs if r["command"] == "bash fallback tick")
print("| command | mean | stddev | x no-op | x bash tick |")
print("| --- | --- | --- | --- | --- |")
for r in rs:
    print(f"| {r['command']} | {r['mean']*1e3:.3f} ms | {r['stddev']*1e3:.3f} ms "
          f"| {r['mean']/noop:.1f} | {r['mean']/bash:.2f} |")
PY
)
sizes=$(for b in hb-write hb-defer-check hb-read; do printf '%s %s bytes; ' "$b" "$(stat -c %s "$bin/$b")"; done)
report="$table

Binary sizes: ${sizes%; }."
echo "$report"
if [[ -n $out ]]; then
    "$(dirname "$0")/splice.sh" oneshot "$out" <<EOF
## One-shot commands ($(date -u +%F), $(nproc) cores)

Measured with \`bench/oneshot.sh $1\` (run by \`make bench\`): hyperfine -N,
300 runs each after 20 warm-up runs, all in one run so the ratios compare
like with like. hb-write fsyncs every beat; the bash tick does not, so it
is not even durable.

$report
EOF
fi
