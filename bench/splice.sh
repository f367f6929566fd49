#!/usr/bin/env bash
# Puts a bench's section (stdin) into a results file between
# `<!-- NAME:begin -->` and `<!-- NAME:end -->`, replacing the old one in
# place or appending it; other benches' sections stay as they are.
# Usage: bench/splice.sh NAME FILE <section.md
set -euo pipefail
name=${1:?usage: splice.sh NAME FILE}
file=${2:?usage: splice.sh NAME FILE}
section="<!-- $name:begin -->
$(cat)
<!-- $name:end -->"
touch -- "$file"
tmp=$(mktemp)
trap 'rm -f -- "$tmp"' EXIT
awk -v section="$section" -v begin="<!-- $name:begin -->" -v end="<!-- $name:end -->" '
    $0 == begin { print section; skip = 1; done = 1; next }
    $0 == end { skip = 0; next }
    !skip { print }
    END { if (!done) { if (NR) print ""; print section } }
' "$file" >"$tmp"
cat -- "$tmp" >"$file"
