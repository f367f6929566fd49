#!/usr/bin/env bash
# `make dist`: one release tarball per target that `make static` built
# (BINDIR/TARGET/hb-*), OUT/hb-VERSION-TARGET.tar.gz, and OUT/SHA256SUMS.
#
# Reproducible: the same commit and binaries give byte-identical tarballs.
# Every entry is dated SOURCE_DATE_EPOCH (default: the commit's time),
# owned by 0:0, with normalised modes, in name order, and gzip stores no
# name or time. What a tarball holds is listed in doc/install.md ("From a
# release tarball"); scripts/check-dist.sh checks the two agree.
# Usage: scripts/dist.sh BINDIR VERSION [OUT]
set -euo pipefail

bindir=${1:?usage: dist.sh BINDIR VERSION [OUT]}
version=${2:?usage: dist.sh BINDIR VERSION [OUT]}
out=${3:-$bindir}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
top=$(cd -- "$here/.." && pwd -P)
bindir=$(cd -- "$bindir" && pwd -P)
mkdir -p -- "$out"
out=$(cd -- "$out" && pwd -P)
fail() { echo "dist: $*" >&2; exit 1; }

if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
    SOURCE_DATE_EPOCH=$(git -C "$top" log -1 --format=%ct 2>/dev/null) ||
        fail "not a git checkout: set SOURCE_DATE_EPOCH"
fi
[[ $SOURCE_DATE_EPOCH =~ ^[0-9]+$ ]] || fail "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH is not a Unix time"

# The integrations as the repository tracks them (no build leftovers such
# as node_modules); a tree without git ships what it holds.
integrations() {
    if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$top" ls-files -- integrations
    else
        (cd -- "$top" && find integrations -type f | sort)
    fi
}

stage=$(mktemp -d)
trap 'rm -rf -- "$stage"' EXIT

targets=()
for b in "$bindir"/*/hb-write; do
    [[ -e $b ]] || continue
    t=${b%/hb-write}
    targets+=("${t##*/}")
done
((${#targets[@]} > 0)) || fail "no $bindir/TARGET/hb-write: run make static first"

tarballs=()
for t in "${targets[@]}"; do
    name=hb-$version-$t
    d=$stage/$name
    install -d "$d" "$d/doc" "$d/complete" "$d/systemd"
    for b in hb-write hb-defer-check hb-read; do
        install -m 0755 "$bindir/$t/$b" "$d/$b"
    done
    for s in start-agent-session.sh stop-agent-session.sh hb-install-hooks; do
        install -m 0755 "$top/scripts/$s" "$d/$s"
    done
    install -m 0755 "$top/scripts/release-install.sh" "$d/install.sh"
    install -m 0644 "$top/README.md" "$top/LICENSE" "$d/"
    install -m 0644 "$top"/doc/*.1 "$top"/doc/*.7 "$top"/doc/*.md "$d/doc/"
    install -m 0644 "$top/complete/hb.bash" "$top/complete/_hb" "$top/complete/hb.fish" "$d/complete/"
    # The units point at /usr/local/bin; install.sh rewrites them for
    # another prefix.
    for u in "$top"/scripts/systemd/*.service "$top"/scripts/systemd/*.timer; do
        sed 's|@BINDIR@|/usr/local/bin|g' "$u" >"$d/systemd/${u##*/}"
        chmod 0644 "$d/systemd/${u##*/}"
    done
    while IFS= read -r f; do
        install -D -m 0644 "$top/$f" "$d/$f"
    done < <(integrations)
    tar --sort=name --format=gnu --mtime="@$SOURCE_DATE_EPOCH" \
        --owner=0 --group=0 --numeric-owner --mode='u=rwX,go=rX' \
        -C "$stage" -cf - "$name" | gzip -9n >"$out/$name.tar.gz"
    tarballs+=("$name.tar.gz")
done
(cd -- "$out" && sha256sum -- "${tarballs[@]}" >SHA256SUMS)
for f in "${tarballs[@]}"; do
    echo "dist: $out/$f ($(stat -c %s -- "$out/$f") bytes)"
done
echo "dist: $out/SHA256SUMS"
