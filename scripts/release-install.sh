#!/usr/bin/env bash
# Installs an unpacked release tarball (this file is its install.sh): the
# binaries and launcher scripts, the systemd units pointing at them, the man
# pages and the bash, zsh and fish completion. From a checkout, use `make install`.
set -euo pipefail

prog=install.sh
usage="\
$prog: install hb from this unpacked release

Usage:
  ./$prog [PREFIX]      default PREFIX: /usr/local

Installs into PREFIX/bin, PREFIX/lib/systemd/system (the units' ExecStart=
rewritten for PREFIX/bin), PREFIX/share/man/man1 and man7,
PREFIX/share/bash-completion/completions, the zsh and fish completion
(PREFIX/share/zsh/site-functions, PREFIX/share/fish/vendor_completions.d),
and the Pi and Gemini CLI
extensions and the OpenCode plugin for hb-install-hooks in PREFIX/share/hb.
DESTDIR=DIR in the environment stages everything under DIR, for packaging.
"

die() {
    printf '%s: error: %s\n' "$prog" "$2" >&2
    exit "$1"
}

case ${1:-} in
    -h | --help)
        printf '%s' "$usage"
        exit 0
        ;;
    -*) die 2 "unknown option ${1} (see --help)" ;;
esac
(($# <= 1)) || die 2 "too many arguments (see --help)"
prefix=${1:-/usr/local}
[[ $prefix == /* ]] || die 2 "PREFIX must be an absolute path: $prefix"
# The prefix goes into sed's replacement and into unit files.
[[ $prefix != *[\|\&\\[:space:]%]* ]] || die 2 "PREFIX holds a character a unit file cannot take: $prefix"
prefix=${prefix%/}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
root=${DESTDIR:-}

bin=$root$prefix/bin
units=$root$prefix/lib/systemd/system
man=$root$prefix/share/man
comp=$root$prefix/share/bash-completion/completions
zsh=$root$prefix/share/zsh/site-functions
fish=$root$prefix/share/fish/vendor_completions.d
install -d "$bin" "$units" "$man/man1" "$man/man7" "$comp" "$zsh" "$fish"
for b in hb-write hb-defer-check hb-read start-agent-session.sh stop-agent-session.sh hb-install-hooks; do
    install -m 0755 "$here/$b" "$bin/$b"
done
# The Pi extension and the OpenCode plugin, where hb-install-hooks looks
# for them (../share/hb).
install -D -m 0644 "$here/integrations/pi/mosaic-heartbeat.ts" "$root$prefix/share/hb/mosaic-heartbeat.ts"
install -D -m 0644 "$here/integrations/opencode/mosaic-heartbeat.ts" "$root$prefix/share/hb/opencode/mosaic-heartbeat.ts"
# The Gemini CLI extension, which hb-install-hooks hands to gemini.
for f in gemini-extension.json README.md hooks/hooks.json; do
    install -D -m 0644 "$here/integrations/gemini/$f" "$root$prefix/share/hb/gemini/$f"
done
for u in "$here"/systemd/*; do
    sed "s|/usr/local/bin/|$prefix/bin/|g" "$u" >"$units/${u##*/}"
    chmod 0644 "$units/${u##*/}"
done
install -m 0644 "$here"/doc/*.1 "$man/man1/"
install -m 0644 "$here"/doc/*.7 "$man/man7/"
# bash-completion loads a command's completion from a file named after it.
install -m 0644 "$here/complete/hb.bash" "$comp/hb-write"
for c in hb-defer-check hb-read start-agent-session.sh stop-agent-session.sh; do
    ln -sf hb-write "$comp/$c"
done
# zsh: one function for all five (#compdef); fish loads CMD.fish.
install -m 0644 "$here/complete/_hb" "$zsh/_hb"
for c in hb-write hb-defer-check hb-read start-agent-session.sh stop-agent-session.sh; do
    install -m 0644 "$here/complete/hb.fish" "$fish/$c.fish"
done
echo "$prog: installed into ${root}${prefix}"
