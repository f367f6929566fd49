#!/usr/bin/env bash
# The release build itself is reproducible, not only its archiving: builds
# the tarballs from a fresh clone of HEAD in another directory and compares
# them with this checkout's `make dist`, byte for byte. A full release build
# of both targets (minutes on two cores), so not part of `make test`:
# `make check-reproducible`.
set -euo pipefail

top=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
fail() { echo "check-reproducible: $*" >&2; exit 1; }
[[ -z $(git -C "$top" status --porcelain) ]] ||
    fail "the checkout has changes a clone would not have: commit them first"
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
git clone -q --no-hardlinks -- "$top" "$work/hb"
make -C "$top" -s dist >/dev/null
make -C "$work/hb" -s dist >/dev/null
diff -- "$top/dist/SHA256SUMS" "$work/hb/dist/SHA256SUMS" >&2 ||
    fail "a clone in $work/hb built other tarballs"
echo "check-reproducible: ok: a fresh clone of $(git -C "$top" rev-parse --short HEAD) builds the same bytes:"
cat -- "$top/dist/SHA256SUMS"
