#!/usr/bin/env bash
# Starts an agent in a detached tmux session, and its heartbeat sidecar.
#
# Every value travels as one argv element: the command goes to tmux as
# separate arguments behind `env --`, so no shell ever parses it (tmux runs a
# lone command through `sh -c`, and `env` also makes the pane's pid the
# agent's own after exec). The agent's name and heartbeat settings reach the
# pane through `new-session -e`, because a pane inherits the tmux server's
# environment, not this script's.
set -euo pipefail

prog=start-agent-session.sh
usage="\
$prog: start an agent in a detached tmux session, with its heartbeat sidecar

Usage:
  $prog [-L SOCKET] [--dir DIR] [--interval SECS] [--workdir DIR]
        [--log FILE] NAME -- COMMAND [ARG...]

Options:
  -L SOCKET        tmux socket name (tmux -L); default: tmux's default
  --dir DIR        heartbeat directory; default \$MOSAIC_HEARTBEAT_DIR, else
                   \$XDG_STATE_HOME/mosaic/fleet/hb, else
                   \$HOME/.local/state/mosaic/fleet/hb
  --interval SECS  seconds between beats, 1 to 86400; default
                   \$MOSAIC_HEARTBEAT_INTERVAL, else 10
  --workdir DIR    the agent's working directory; default: the current one
  --log FILE       the sidecar's stdout and stderr (appended); default
                   DIR/NAME.sidecar.log
  -h, --help       this help

The pane gets MOSAIC_AGENT_NAME, MOSAIC_HEARTBEAT_DIR and
MOSAIC_HEARTBEAT_INTERVAL (and this script's PATH); the sidecar
(hb-write --sidecar) watches the pane's pid and writes status=exited when it
ends. Binaries are taken from \$HB_BIN, else next to this script, else PATH.

Prints what it started as key=value lines: session, socket, pane_pid,
sidecar_pid, beat, log.

Exit status: 0 started; 1 the session already exists (left as it is);
2 bad usage or input (nothing touched); 3 system error (tmux missing or
older than 3.2, tmux or the sidecar failed).
"

die() {
    local code=$1
    shift
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit "$code"
}

# An absolute path for a possibly relative one.
absolute() {
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s\n' "$PWD/$1" ;;
    esac
}

# The absolute path of one of our binaries: $HB_BIN, else next to this
# script, else PATH. Absolute, so cron, systemd and bare environments work.
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

tool() {
    local found
    found=$(command -v -- "$1") || die 3 "$1 not found in PATH${2:+ ($2)}"
    absolute "$found"
}

# Alive and not a zombie: `kill -0` alone still sees an unreaped process.
alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != [ZX] ]]
}

socket='' dir='' dir_given=0 interval='' workdir='' log=''
while (($# > 0)); do
    case $1 in
        -h | --help)
            printf '%s' "$usage"
            exit 0
            ;;
        -L | --dir | --interval | --workdir | --log)
            (($# >= 2)) || die 2 "$1: missing value"
            case $1 in
                -L) socket=$2 ;;
                --dir) dir=$2 dir_given=1 ;;
                --interval) interval=$2 ;;
                --workdir) workdir=$2 ;;
                --log) log=$2 ;;
            esac
            shift 2
            ;;
        --) die 2 "missing NAME before -- (see --help)" ;;
        -*) die 2 "unknown option '$1' (see --help)" ;;
        *) break ;;
    esac
done
(($# > 0)) || die 2 "missing NAME (see --help)"
name=$1
shift
if (($# == 0)) || [[ $1 != -- ]]; then
    die 2 "expected -- and the command after NAME (see --help)"
fi
shift
(($# > 0)) || die 2 "missing COMMAND after -- (see --help)"

hb_write=$(hb_bin hb-write)
hb_defer=$(hb_bin hb-defer-check)

# The directory is resolved here, once, by the contract's rules, and given
# explicitly to the sidecar and the pane: a writer and a reader that resolve
# different directories fail silently. Relative paths are made absolute,
# since the pane and the sidecar do not run in this directory.
if ((dir_given)); then
    [[ -n $dir ]] || die 2 "--dir: empty path"
elif [[ -n ${MOSAIC_HEARTBEAT_DIR:-} ]]; then
    dir=$MOSAIC_HEARTBEAT_DIR
elif [[ ${XDG_STATE_HOME:-} == /* ]]; then
    dir=$XDG_STATE_HOME/mosaic/fleet/hb
elif [[ -n ${HOME:-} ]]; then
    dir=$HOME/.local/state/mosaic/fleet/hb
else
    die 2 "no heartbeat directory: set --dir, MOSAIC_HEARTBEAT_DIR, XDG_STATE_HOME or HOME"
fi
dir=$(absolute "$dir")
interval=${interval:-${MOSAIC_HEARTBEAT_INTERVAL:-10}}

# NAME, directory and interval by the very rules the binary uses, before
# tmux is touched. Its own one-line error says what is wrong.
status=0
"$hb_write" --dry-run --sidecar --dir "$dir" --interval "$interval" -- "$name" || status=$?
((status == 0)) || exit "$status"

workdir=$(absolute "${workdir:-$PWD}")
[[ -d $workdir ]] || die 2 "--workdir $workdir: not a directory"
log=$(absolute "${log:-$dir/$name.sidecar.log}")

tmux=$(tool tmux "tmux 3.2 or newer is required")
setsid=$(tool setsid "from util-linux")
env_bin=$(tool env)

# `new-session -e` appeared in tmux 3.2. Versions look like "tmux 3.3a",
# "tmux next-3.4" or "tmux master" (a development build: accepted).
version=$("$tmux" -V 2>/dev/null) || die 3 "$tmux -V failed"
if [[ $version =~ ([0-9]+)\.([0-9]+) ]]; then
    major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
    if ((10#$major < 3 || (10#$major == 3 && 10#$minor < 2))); then
        die 3 "$version is too old: tmux 3.2 or newer is required (for new-session -e)"
    fi
fi

tmux_cmd=("$tmux")
[[ -z $socket ]] || tmux_cmd+=(-L "$socket")

if "${tmux_cmd[@]}" has-session -t "=$name" 2>/dev/null; then
    die 1 "session $name already exists${socket:+ on socket $socket}; left as it is"
fi

mkdir -p -- "$dir"
mkdir -p -- "$(dirname -- "$log")"
: >>"$log" || die 3 "unable to open log $log"

pane_env=(
    -e "MOSAIC_AGENT_NAME=$name"
    -e "MOSAIC_HEARTBEAT_DIR=$dir"
    -e "MOSAIC_HEARTBEAT_INTERVAL=$interval"
)
# The agent is found by the pane's PATH: make it this script's, not the one
# the tmux server happened to start with.
[[ -z ${PATH:-} ]] || pane_env+=(-e "PATH=$PATH")

# A duplicate that appeared since the check above makes this fail, and
# tmux says so; nothing else has been started yet.
pane_pid=$("${tmux_cmd[@]}" new-session -d -s "$name" -c "$workdir" "${pane_env[@]}" \
    -P -F '#{pane_pid}' -- "$env_bin" -- "$@") || die 3 "tmux new-session failed for $name"
[[ $pane_pid =~ ^[0-9]+$ ]] || die 3 "tmux printed '$pane_pid', not a pane pid"

# The sidecar in its own session (no SIGHUP from a closing terminal), from
# /, with its output in the log. No job control here, so the subshell is no
# process group leader: setsid does not fork and $! is the sidecar itself.
(
    cd /
    exec "$setsid" "$hb_write" --sidecar --dir "$dir" --interval "$interval" \
        --pid "$pane_pid" --while-pid "$pane_pid" -- "$name"
) </dev/null >>"$log" 2>&1 &
sidecar_pid=$!

# Wait for the sidecar's first tick: a beat with the pane's pid (an `exited`
# one if the agent already ended), or a fresh native marker it defers to.
beat=$dir/$name.hb
deadline=$((SECONDS + 10))
until grep -qsx -- "pid=$pane_pid" "$beat" ||
    "$hb_defer" --dir "$dir" --interval "$interval" -- "$name" 2>/dev/null; do
    if ! alive "$sidecar_pid"; then
        "${tmux_cmd[@]}" kill-session -t "=$name" 2>/dev/null || true
        die 3 "the sidecar for $name stopped before its first beat (see $log); session $name ended"
    fi
    if ((SECONDS >= deadline)); then
        printf '%s: warning: no beat from the sidecar yet (see %s)\n' "$prog" "$log" >&2
        break
    fi
    sleep 0.05
done

printf 'session=%s\nsocket=%s\npane_pid=%s\nsidecar_pid=%s\nbeat=%s\nlog=%s\n' \
    "$name" "${socket:-default}" "$pane_pid" "$sidecar_pid" "$beat" "$log"
