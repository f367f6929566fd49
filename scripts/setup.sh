#!/usr/bin/env bash
# What `make demo` and `make test` need on a fresh machine, installed when
# missing: Debian packages with apt-get when run as root, the rustup targets
# and components. Not root (or no apt-get): stops at once and prints the one
# command that installs what is missing. Does nothing, quickly, when all is
# there: each need is looked up first (a command in PATH or a file).
# Usage: scripts/setup.sh [demo|test]    (default: test)
set -euo pipefail

profile=${1:-test}
fail() { echo "setup: $*" >&2; exit 1; }

# Each need: what to look for (a command, or a path when it starts with /)
# and the Debian package that provides it.
demo_needs=(
    tmux:tmux # the fleet runs in tmux panes
    ps:procps
)
test_needs=(
    "${demo_needs[@]}"
    strace:strace # fault injection
    jq:jq
    curl:curl # the docs' notification recipes, against a local server
    shellcheck:shellcheck
    setpriv:util-linux # unprivileged cases
    flock:util-linux
    script:bsdutils # a real terminal for the colour tests
    readelf:binutils # the static-binary check
    file:file
    promtool:prometheus # the Prometheus export and alert rules
    prometheus-node-exporter:prometheus-node-exporter
    systemd-analyze:systemd # the units
    qemu-aarch64-static:qemu-user-static # aarch64 binaries in an empty root
    man:man-db # the man pages render without a warning
    groff:groff-base
    /usr/share/bash-completion/bash_completion:bash-completion
    zsh:zsh # the zsh completion, in the real shell
    fish:fish # the fish completion, in the real shell
    node:nodejs # the Pi integration's type check and handlers
    npm:npm
    unshare:util-linux # agents in sandboxes and containers (tests/sandbox.rs)
    bwrap:bubblewrap
    podman:podman
    runc:runc # podman's runtime here: crun cannot run on hybrid cgroups
    newuidmap:uidmap
    busybox:busybox-static # a container's root, with no libraries
)
targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
case $profile in
    demo) needs=("${demo_needs[@]}") targets=() ;;
    test) needs=("${test_needs[@]}") ;;
    *) fail "unknown profile $profile (demo or test)" ;;
esac

missing=()
for n in "${needs[@]}"; do
    what=${n%%:*} pkg=${n#*:}
    if [[ $what == /* ]]; then
        [[ -e $what ]] && continue
    else
        command -v -- "$what" >/dev/null && continue
    fi
    [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done

if ((${#missing[@]} > 0)); then
    if ! command -v apt-get >/dev/null; then
        fail "missing, and no apt-get to install them: the Debian packages ${missing[*]} (or your system's equivalents)"
    fi
    if [[ $(id -u) -ne 0 ]]; then
        fail "missing: ${missing[*]}; install them with:
    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ((${#targets[@]} > 0)); then
    command -v rustup >/dev/null || fail "no rustup: the static builds need the rust targets ${targets[*]} (https://rustup.rs)"
    have=$(rustup target list --installed)
    add=()
    for t in "${targets[@]}"; do
        grep -qx -- "$t" <<<"$have" || add+=("$t")
    done
    if ((${#add[@]} > 0)); then
        echo "setup: rustup target add ${add[*]}"
        rustup target add "${add[@]}" >/dev/null
    fi
    comps=()
    cargo fmt --version >/dev/null 2>&1 || comps+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || comps+=(clippy)
    if ((${#comps[@]} > 0)); then
        echo "setup: rustup component add ${comps[*]}"
        rustup component add "${comps[@]}" >/dev/null
    fi
fi
