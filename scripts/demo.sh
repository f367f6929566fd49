#!/usr/bin/env bash
# A few beats in a temporary directory, shown by hb-read.
set -euo pipefail
bin=${HB_BIN:-$(cd "$(dirname "$0")/../target/release" && pwd)}
dir=$(mktemp -d)
trap 'rm -rf -- "$dir"' EXIT
"$bin/hb-write" --dir "$dir" --native --status busy --model glm-5.2 --pid "$$" w-native
"$bin/hb-write" --dir "$dir" --fallback --pid "$$" w-sidecar
"$bin/hb-write" --dir "$dir" --status exited --pid "$$" w-exited
"$bin/hb-read" --dir "$dir"
