#!/usr/bin/env bash
# Stops an agent started by start-agent-session.sh: ends its tmux session by
# its exact name, waits for the agent's processes to go and for the sidecar
# to record `exited` and stop; with --remove, removes the beat as well.
#
# What tmux parses here (see start-agent-session.sh for the whole list):
# every tmux argument is NAME (letters, digits, `_`, `-`: never a `;`, `#`
# or `:`), the exact-name target `=NAME`, or a constant; none ends in `;`
# or holds a format, and the session's MOSAIC_HEARTBEAT_DIR is read back
# from show-environment as it was set (never expanded). The socket name
# gets the launcher's rules, so a name it refuses is refused here too.
set -euo pipefail

prog=stop-agent-session.sh
usage="\
$prog: stop an agent's tmux session and wait for its sidecar

Usage:
  $prog [-L SOCKET] [--dir DIR] [--remove] NAME

Options:
  -L SOCKET   tmux socket name (tmux -L); default: tmux's default
  --dir DIR   heartbeat directory; default: the session's
              MOSAIC_HEARTBEAT_DIR, else \$MOSAIC_HEARTBEAT_DIR, else
              \$XDG_STATE_HOME/mosaic/fleet/hb, else
              \$HOME/.local/state/mosaic/fleet/hb
  --remove    also remove the beat, the marker, DIR/NAME.sidecar.log and
              DIR/NAME.hook.log
              (the agent is gone for good and leaves the listing)
  -h, --help  this help

The session is ended with kill-session -t =NAME (an exact name, never a
pattern). Pane processes that outlive it get SIGTERM after 5 s, then
SIGKILL after 5 s more; a sidecar that has not stopped 5 s after its agent
is gone gets SIGTERM.

Exit status: 0 stopped; 1 no such session (with --remove, the beat is
removed all the same); 2 bad usage or input; 3 system error.
"

die() {
    local code=$1
    shift
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit "$code"
}

note() {
    printf '%s: %s\n' "$prog" "$*" >&2
}

absolute() {
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s\n' "$PWD/$1" ;;
    esac
}

hb_bin() {
    local b=$1 here found
    if [[ -n ${HB_BIN:-} ]]; then
        [[ -x $HB_BIN/$b ]] || die 3 "HB_BIN=$HB_BIN holds no executable $b"
        absolute "$HB_BIN/$b"
        return
    fi
    here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
    if [[ -x $here/$b ]]; then
        printf '%s\n' "$here/$b"
        return
    fi
    found=$(command -v -- "$b") || die 3 "$b not found (set HB_BIN, or install it next to $prog or in PATH)"
    absolute "$found"
}

# Alive and not a zombie: `kill -0` alone still sees an unreaped process.
alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != [ZX] ]]
}

# Waits up to $1 seconds for every pid in the rest to be gone; the ones
# still alive are left in the array `left`.
left=()
wait_gone() {
    local secs=$1 p
    shift
    local end=$((SECONDS + secs))
    while :; do
        left=()
        for p in "$@"; do
            if alive "$p"; then left+=("$p"); fi
        done
        if ((${#left[@]} == 0 || SECONDS >= end)); then return; fi
        sleep 0.05
    done
}

# The sidecars of NAME in DIR: hb-write processes whose argv holds
# --sidecar, `--dir DIR` and ends in NAME, read exactly from /proc (no
# pattern matching on a flattened command line).
find_sidecars() {
    local d p args i sidecar dir_ok
    sidecars=()
    for d in /proc/[0-9]*; do
        p=${d#/proc/}
        args=()
        { mapfile -d '' -t args <"$d/cmdline"; } 2>/dev/null || continue
        ((${#args[@]} > 0)) || continue
        [[ ${args[0]##*/} == hb-write && ${args[${#args[@]} - 1]} == "$name" ]] || continue
        sidecar=0 dir_ok=0
        for ((i = 1; i < ${#args[@]}; i++)); do
            [[ ${args[i]} != --sidecar ]] || sidecar=1
            if [[ ${args[i]} == --dir ]] && ((i + 1 < ${#args[@]})) && [[ ${args[i + 1]} == "$dir" ]]; then
                dir_ok=1
            fi
        done
        if ((sidecar && dir_ok)) && alive "$p"; then sidecars+=("$p"); fi
    done
}

# A socket name the launcher accepts: a file name in tmux's socket
# directory that tmux's $TMUX in a pane can carry.
check_socket() {
    local s=$1
    [[ -n $s && $s != . && $s != .. && $s != */* && $s != *,* && $s != *$'\n'* ]] ||
        die 2 "-L '${s//[[:cntrl:]]/?}': not a socket name (empty, '.', '..', or holding '/', ',' or a newline)"
}

socket='' socket_given=0 dir='' remove=0
while (($# > 0)); do
    case $1 in
        -h | --help)
            printf '%s' "$usage"
            exit 0
            ;;
        -L | --dir)
            (($# >= 2)) || die 2 "$1: missing value"
            case $1 in
                -L) socket=$2 socket_given=1 ;;
                --dir)
                    [[ -n $2 ]] || die 2 "--dir: empty path"
                    dir=$2
                    ;;
            esac
            shift 2
            ;;
        --remove)
            remove=1
            shift
            ;;
        --)
            shift
            break
            ;;
        -*) die 2 "unknown option '$1' (see --help)" ;;
        *) break ;;
    esac
done
(($# == 1)) || die 2 "expected one NAME (see --help)"
name=$1

hb_write=$(hb_bin hb-write)
# NAME by the binary's own rules before tmux is touched (the directory and
# interval given here only let the check run; they are not used).
status=0
"$hb_write" --dry-run --dir / --interval 10 -- "$name" || status=$?
((status == 0)) || exit "$status"

tmux=$(command -v tmux) || die 3 "tmux not found in PATH"
((!socket_given)) || check_socket "$socket"
tmux_cmd=("$tmux")
((!socket_given)) || tmux_cmd+=(-L "$socket")

session=0
if "${tmux_cmd[@]}" has-session -t "=$name" 2>/dev/null; then session=1; fi

# The directory: --dir, else the one the launcher gave the session, else
# the contract's order.
if [[ -z $dir ]] && ((session)); then
    line=$("${tmux_cmd[@]}" show-environment -t "=$name" MOSAIC_HEARTBEAT_DIR 2>/dev/null) || line=''
    [[ $line != MOSAIC_HEARTBEAT_DIR=* ]] || dir=${line#MOSAIC_HEARTBEAT_DIR=}
fi
if [[ -z $dir ]]; then
    if [[ -n ${MOSAIC_HEARTBEAT_DIR:-} ]]; then
        dir=$MOSAIC_HEARTBEAT_DIR
    elif [[ ${XDG_STATE_HOME:-} == /* ]]; then
        dir=$XDG_STATE_HOME/mosaic/fleet/hb
    elif [[ -n ${HOME:-} ]]; then
        dir=$HOME/.local/state/mosaic/fleet/hb
    else
        die 2 "no heartbeat directory: set --dir, MOSAIC_HEARTBEAT_DIR, XDG_STATE_HOME or HOME"
    fi
fi
dir=$(absolute "$dir")
beat=$dir/$name.hb

remove_all() {
    "$hb_write" --remove --dir "$dir" -- "$name"
    rm -f -- "$dir/$name.sidecar.log" "$dir/$name.hook.log"
    printf 'removed the beat of %s from %s\n' "$name" "$dir"
}

if ((!session)); then
    note "no session $name${socket:+ on socket $socket}"
    ((!remove)) || remove_all
    exit 1
fi

panes=()
mapfile -t panes < <("${tmux_cmd[@]}" list-panes -s -t "=$name" -F '#{pane_pid}' 2>/dev/null || true)
sidecars=()
find_sidecars

if ! "${tmux_cmd[@]}" kill-session -t "=$name" 2>/dev/null; then
    # Failing because the session ended meanwhile (its agent exited) is fine.
    if "${tmux_cmd[@]}" has-session -t "=$name" 2>/dev/null; then
        die 3 "tmux kill-session failed for $name"
    fi
fi

# The panes got SIGHUP from their closing terminals; an agent that ignores
# it is asked again, then made to go.
if ((${#panes[@]} > 0)); then
    wait_gone 5 "${panes[@]}"
    if ((${#left[@]} > 0)); then
        note "agent pid(s) ${left[*]} still running: SIGTERM"
        kill -TERM -- "${left[@]}" 2>/dev/null || true
        wait_gone 5 "${left[@]}"
    fi
    if ((${#left[@]} > 0)); then
        note "agent pid(s) ${left[*]} still running: SIGKILL"
        kill -KILL -- "${left[@]}" 2>/dev/null || true
        wait_gone 5 "${left[@]}"
    fi
fi

# Each sidecar notices its agent's end through a pidfd, writes `exited` and
# stops on its own; one that does not is told to.
if ((${#sidecars[@]} > 0)); then
    wait_gone 5 "${sidecars[@]}"
    if ((${#left[@]} > 0)); then
        note "sidecar pid(s) ${left[*]} still running: SIGTERM"
        kill -TERM -- "${left[@]}" 2>/dev/null || true
        wait_gone 5 "${left[@]}"
    fi
    ((${#left[@]} == 0)) || die 3 "sidecar pid(s) ${left[*]} did not stop"
else
    note "no sidecar of $name was running"
fi

if grep -qsx -- 'status=exited' "$beat"; then
    printf 'stopped %s; its beat says exited\n' "$name"
else
    note "warning: stopped $name, but its beat does not say exited (no sidecar?)"
fi
((!remove)) || remove_all
exit 0
