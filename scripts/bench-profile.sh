#!/usr/bin/env bash
# How the release profile was chosen: builds the static binaries and the
# no-op floor once per candidate setting (each a change from the shipped
# profile in Cargo.toml), and prints a table of file sizes and start-up
# times, measured in one hyperfine run so the variants compare like with
# like, and instruction counts under callgrind, which this machine's noise
# does not move. Start-up is `hb-defer-check` on a fresh marker (no fsync,
# so it is almost all exec and start); then `hb-read --json` of 100 beats.
# Usage: scripts/bench-profile.sh   (from the repository; takes ~3 min)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine valgrind; do
    command -v "$tool" >/dev/null || { echo "bench-profile: needs $tool (apt-get install $tool)" >&2; exit 2; }
done

target=x86_64-unknown-linux-musl
rustup target list --installed 2>/dev/null | grep -qx "$target" ||
    { echo "bench-profile: needs the musl target (rustup target add $target)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# name, then the environment that makes the variant (cargo reads profile
# settings from CARGO_PROFILE_RELEASE_*; RUSTFLAGS as `make static` sets).
variants=(
    "shipped|"
    "opt-level=z|CARGO_PROFILE_RELEASE_OPT_LEVEL=z"
    "opt-level=3|CARGO_PROFILE_RELEASE_OPT_LEVEL=3"
    "lto=thin|CARGO_PROFILE_RELEASE_LTO=thin"
    "lto=off|CARGO_PROFILE_RELEASE_LTO=off"
    "codegen-units=16|CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16"
    "panic=unwind|CARGO_PROFILE_RELEASE_PANIC=unwind"
    "strip=false|CARGO_PROFILE_RELEASE_STRIP=false"
    "static-pie|PIE=1"
)
dir=$work/hb
mkdir -p "$dir"
args=()
for v in "${variants[@]}"; do
    name=${v%%|*} setting=${v#*|}
    out=$work/$name
    mkdir -p "$out"
    flags="-C relocation-model=static"
    envs=()
    case $setting in
        PIE=1) flags="" ;;
        ?*) envs=("$setting") ;;
    esac
    env "${envs[@]}" RUSTFLAGS="$flags" cargo build -q --release --locked --bins --examples \
        --target "$target" --target-dir "target/profile/$name"
    for b in hb-write hb-defer-check hb-read examples/floor-noop; do
        cp "target/profile/$name/$target/release/$b" "$out/"
    done
    args+=(-n "$name: hb-defer-check" "$out/hb-defer-check --dir $dir --interval 86400 w-fresh")
    args+=(-n "$name: hb-read --json" "$out/hb-read --dir $dir --interval 86400 --json")
done
for i in $(seq 1 100); do "$work/shipped/hb-write" --dir "$dir" --pid 1 "w-$i"; done
"$work/shipped/hb-write" --dir "$dir" --native --pid 1 w-fresh

json=$work/startup.json
hyperfine -N --warmup 20 --runs 300 --export-json "$json" "${args[@]}" >/dev/null 2>&1

# Instructions executed, from callgrind's summary line.
instructions() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        awk '/Collected :/ { print $NF }'
}

echo "| variant | hb-write | hb-defer-check | hb-read | floor-noop | hb-defer-check start-up | hb-read --json, 100 beats | instructions: hb-defer-check | instructions: hb-read --json |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for v in "${variants[@]}"; do
    name=${v%%|*}
    sizes=$(for b in hb-write hb-defer-check hb-read floor-noop; do printf '%s | ' "$(stat -c %s "$work/$name/$b")"; done)
    times=$(jq -r --arg n "$name" '[.results[] | select(.command | startswith($n + ": ")) | "\(.median * 1e6 | floor) µs"] | join(" | ")' "$json")
    defer=$(instructions "$work/$name/hb-defer-check" --dir "$dir" --interval 86400 w-fresh)
    read=$(instructions "$work/$name/hb-read" --dir "$dir" --interval 86400 --json)
    echo "| $name | ${sizes}${times} | $defer | $read |"
done
