#!/usr/bin/env bash
# Checks what `make dist` made in DIST: SHA256SUMS verifies; a second run
# of scripts/dist.sh gives byte-identical tarballs; each tarball holds
# exactly the files doc/install.md lists ("From a release tarball"); and,
# unpacked, its binaries write, defer-check and read beats in an empty root
# (aarch64 under qemu-aarch64-static), its launcher scripts answer --help,
# and its install.sh installs it under another prefix.
# Usage: scripts/check-dist.sh DIST VERSION
set -euo pipefail

dist=${1:?usage: check-dist.sh DIST VERSION}
version=${2:?usage: check-dist.sh DIST VERSION}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
top=$(cd -- "$here/.." && pwd -P)
fail() { echo "check-dist: $*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

shopt -s nullglob
tarballs=("$dist"/hb-"$version"-*.tar.gz)
shopt -u nullglob
((${#tarballs[@]} >= 2)) || fail "expected a tarball per target in $dist, found ${#tarballs[@]}"

(cd -- "$dist" && sha256sum --quiet --strict -c SHA256SUMS) || fail "SHA256SUMS does not verify"
[[ $(wc -l <"$dist/SHA256SUMS") -eq ${#tarballs[@]} ]] || fail "SHA256SUMS does not list every tarball"

# Reproducible: the same inputs, archived again elsewhere, are the same bytes.
"$here/dist.sh" "$dist" "$version" "$work/again" >/dev/null
cmp -s "$dist/SHA256SUMS" "$work/again/SHA256SUMS" ||
    fail "a second run gave other tarballs: $(diff "$dist/SHA256SUMS" "$work/again/SHA256SUMS" | tr '\n' ' ')"

# doc/install.md's list, one path a line between its markers; a path
# ending in / stands for every file the repository tracks below it, and one
# holding a * for every tracked file it matches.
expected() {
    local line
    sed -n '/<!-- tarball contents: begin -->/,/<!-- tarball contents: end -->/p' "$top/doc/install.md" |
        sed -n 's/^    \([^ ]\)/\1/p' | while IFS= read -r line; do
        line=${line%% *}
        if [[ $line == */ || $line == *'*'* ]]; then
            git -C "$top" ls-files -- "$line"
        else
            printf '%s\n' "$line"
        fi
    done | sort
}
expected >"$work/expected"
[[ -s $work/expected ]] || fail "doc/install.md lists no tarball contents"

for tb in "${tarballs[@]}"; do
    base=${tb##*/}
    name=${base%.tar.gz}
    target=${name#hb-"$version"-}
    tar -tzf "$tb" | grep -v '/$' | sed "s|^$name/||" | sort >"$work/listed"
    diff -u "$work/expected" "$work/listed" >"$work/diff" ||
        fail "$base does not hold what doc/install.md lists (- the list, + tarball): $(cat "$work/diff")"
    # Every entry is in one top directory, owned by root, dated the commit.
    tar -tvzf "$tb" | awk -v n="$name/" 'index($6, n) != 1 || $2 != "0/0" { bad = 1 } END { exit bad }' ||
        fail "$base has entries outside $name/ or not owned by 0/0"

    mkdir "$work/$target"
    tar -xzf "$tb" -C "$work/$target"
    u=$work/$target/$name
    case $target in
        x86_64-*) "$here/check-static.sh" "$u" ;;
        aarch64-*) "$here/check-static.sh" "$u" qemu-aarch64-static ;;
        *) fail "no way to run $target here" ;;
    esac
    for s in start-agent-session.sh stop-agent-session.sh install.sh; do
        "$u/$s" --help >/dev/null || fail "$base: $s --help failed"
    done
    grep -q '^ExecStart=/usr/local/bin/hb-' "$u/systemd/mosaic-hb-export.service" ||
        fail "$base: the units do not point at /usr/local/bin"
    DESTDIR=$work/root-$target "$u/install.sh" /opt/hb >/dev/null
    r=$work/root-$target/opt/hb
    for b in hb-write hb-defer-check hb-read; do
        cmp -s "$u/$b" "$r/bin/$b" || fail "$base: install.sh did not install $b"
    done
    grep -q '^ExecStart=/opt/hb/bin/hb-write ' "$r/lib/systemd/system/mosaic-hb-fallback@.service" ||
        fail "$base: install.sh did not point the units at /opt/hb/bin"
    [[ -f $r/share/man/man1/hb-read.1 && -f $r/share/man/man7/hb.7 && -e $r/share/bash-completion/completions/hb-read &&
        -f $r/share/zsh/site-functions/_hb && -f $r/share/fish/vendor_completions.d/hb-read.fish ]] ||
        fail "$base: install.sh did not install the man pages and completions"
    # The hooks' installer finds the Pi and Gemini extensions and the
    # OpenCode plugin beside it, installed.
    if command -v node >/dev/null; then
        out=$(PI_CODING_AGENT_DIR=$work/pi-$target "$r/bin/hb-install-hooks" --dry-run pi) ||
            fail "$base: the installed hb-install-hooks failed"
        [[ $out == *mosaic-heartbeat.ts* ]] || fail "$base: hb-install-hooks did not find the Pi extension"
        out=$(GEMINI_CLI_HOME=$work/gemini-$target "$r/bin/hb-install-hooks" --dry-run gemini) ||
            fail "$base: the installed hb-install-hooks failed for gemini"
        [[ $out == *"$r/share/hb/gemini"* ]] || fail "$base: hb-install-hooks did not find the Gemini extension"
        out=$(XDG_CONFIG_HOME=$work/xdg-$target "$r/bin/hb-install-hooks" --dry-run opencode) ||
            fail "$base: the installed hb-install-hooks failed for opencode"
        [[ $out == *opencode/plugins/mosaic-heartbeat.ts:\ installed* ]] ||
            fail "$base: hb-install-hooks did not find the OpenCode plugin"
    fi
    echo "check-dist: ok: $base ($(stat -c %s -- "$tb") bytes, $(wc -l <"$work/listed") files) holds what doc/install.md lists and runs unpacked"
done
echo "check-dist: ok: SHA256SUMS verifies and a second run gives the same bytes"
