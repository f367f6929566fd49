#!/usr/bin/env bash
# Starts an agent in a detached tmux session, and its heartbeat sidecar.
#
# Every value travels as one argv element: the command goes to tmux as
# separate arguments behind `env --`, so no shell ever parses it. The agent's
# name and heartbeat settings reach the pane through `new-session -e`,
# because a pane inherits the tmux server's environment, not this script's.
#
# tmux parses some of what it is handed (read in tmux 3.2 to 3.5's
# cmd-parse.y, arguments.c, cmd-new-session.c, spawn.c, client.c, tmux.c;
# checked against the installed tmux by tests/launcher_hostile.rs). Each
# parser, and how every value of ours gets past it:
#
# 1. Command separators (cmd_parse_from_arguments). After the global
#    options, any argument that ends in `;` ends the tmux command and the
#    next arguments run as further commands (`run-shell` runs a shell);
#    an argument ending in `\;` instead loses that backslash. This applies
#    to every argument: the agent's, option values (`-e PATH=...;`) and our
#    own. Defused in tmux_run: a backslash goes in before the last `;` of
#    every argument that ends in one, so tmux turns `x\;` back into `x;`
#    (`;` -> `;`, `\;` -> `\;`, `;;` -> `;;`, byte for byte).
# 2. Formats (format_single). `new-session -c DIR`, `-s NAME` and `-F` are
#    expanded: `#{...}` is replaced and `#(...)` runs a shell command.
#    The working directory is never given as `-c`: tmux is run from it
#    instead (a new session starts in the client's directory, sent raw by
#    the client from getcwd/PWD and never expanded). This beats doubling
#    `#`, which would also need tmux's format rules for every other `#`
#    form to stay the same across versions. NAME cannot hold `#` (the
#    contract's NAME rule), and `-F` is our constant `#{pane_pid}`.
# 3. One command word (spawn.c). A single command argument is run by the
#    pane's shell as `$SHELL -c WORD`. The command always goes as
#    `env -- COMMAND [ARG...]`, at least three words, so tmux execvp()s it
#    (and the pane's pid is the agent's own after env's exec).
# 4. Flags (args_parse). Arguments starting with `-` are flags up to `--`;
#    `--` goes before the command, so an agent's `-x` is its own.
# 5. Targets (`-t =NAME`): `=` asks for the exact name, never a prefix or
#    pattern; NAME holds no `:` or `.` that tmux would split or rewrite.
# 6. The message size (client.c): the client sends the whole command in
#    one message of at most 16384 bytes, its 16-byte header and 4-byte
#    argument count included, so the arguments after the global options
#    may take 16364 bytes (each plus its NUL; measured on tmux 3.3a). A longer command
#    would fail inside tmux; it is refused here, before anything is touched.
# 7. The socket name (-L, tmux.c): a file name in tmux's socket directory,
#    and the pane's $TMUX carries its path up to the first `,`. Refused:
#    empty, `.`, `..`, a `/` (a path, not a name), a `,` (tmux inside the
#    pane would find no server), a newline (our key=value output), or a
#    socket path longer than a socket address holds (107 bytes).
# 8. `-e VAR=value` is not expanded (environ_put), so only rule 1 applies.
#    A heartbeat directory or log holding a newline is refused: the output
#    below and stop-agent-session.sh's lookups are line by line.
# The sidecar is run directly (setsid hb-write ...), the log is opened by
# this shell: neither passes through tmux or a shell. The only tmux
# commands used are has-session, new-session, kill-session and, with
# --titles, pipe-pane (no set-option, run-shell, send-keys or
# display-message sees a value).
#
# 9. --titles: `pipe-pane -O` runs its command with `sh -c` after
#    expanding it as a format, in the tmux server's environment (not the
#    pane's, not ours): nothing of ours can travel in it as a value. So the
#    title watcher (hb-write --titles) is started here, like the sidecar,
#    with its values as argv, reading a FIFO; the command tmux runs is
#    only `exec CAT >FIFO`, where CAT is cat's absolute path and FIFO sits
#    in a fresh mktemp directory, both checked to hold nothing but
#    `A-Za-z0-9/._-` (no `#`, quote, space or `$` for tmux or sh to read).
#    The FIFO is removed once both ends are open. tmux keeps one pipe a
#    pane: an operator's own `pipe-pane` on it later replaces ours, and the
#    watcher says so in the log and stops (the hooks still write).
set -euo pipefail

prog=start-agent-session.sh
usage="\
$prog: start an agent in a detached tmux session, with its heartbeat sidecar

Usage:
  $prog [-L SOCKET] [--dir DIR] [--interval SECS] [--workdir DIR]
        [--log FILE] [--titles RUNTIME] NAME -- COMMAND [ARG...]

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
  --titles RUNTIME read the runtime's terminal for its state (vibe):
                   hb-write --titles watches the pane's output (tmux
                   pipe-pane) and writes what it says as native beats
  -h, --help       this help

The pane gets MOSAIC_AGENT_NAME, MOSAIC_HEARTBEAT_DIR and
MOSAIC_HEARTBEAT_INTERVAL (and this script's PATH, and
CLINE_SESSION_BACKEND_MODE=local: no Cline shares a hub); the sidecar
(hb-write --sidecar) watches the pane's pid and writes status=exited when it
ends. Binaries are taken from \$HB_BIN, else next to this script, else PATH.

Prints what it started as key=value lines: session, socket, pane_pid,
sidecar_pid, beat, log (and titles_pid with --titles).

Values reach the agent as given, whatever tmux would make of them (\`;\`,
\`#(...)\`, \`#{...}\`). Refused, as input that cannot be passed: a --dir or
--log with a newline, a path of 4096 bytes or more or with a name over
255, an -L name that is empty, \`.\`, \`..\` or holds \`/\`, \`,\` or a newline
or is too long for a socket, and a command over tmux's 16364 bytes.

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

# An absolute path for a possibly relative one. (Values that may end in a
# newline are made absolute in place: $(...) would strip it.)
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

# A value as it goes into a one-line message: control characters as `?`.
shown() {
    printf '%s' "${1//[[:cntrl:]]/?}"
}

# The arguments of one tmux command, defused against rule 1 above, into
# the array `defused`, and their size as tmux's client counts it (rule 6).
defused=() defused_size=0
defuse() {
    local a LC_ALL=C
    defused=() defused_size=0
    for a in "$@"; do
        if [[ $a == *';' ]]; then a=${a%;}'\;'; fi
        defused+=("$a")
        defused_size=$((defused_size + ${#a} + 1))
    done
}

# tmux on our socket, running one command with every argument defused.
tmux_run() {
    defuse "$@"
    "${tmux_cmd[@]}" "${defused[@]}"
}

# A path the system can hold (PATH_MAX, NAME_MAX), so that one that cannot
# exist is refused as input instead of failing half-way as a system error.
check_path() {
    local what=$1 rest=$2 part LC_ALL=C
    ((${#rest} < 4096)) || die 2 "$what: the path is ${#rest} bytes, longer than 4095"
    while [[ -n $rest ]]; do
        part=${rest%%/*}
        ((${#part} <= 255)) || die 2 "$what: a name in the path is ${#part} bytes, longer than 255"
        if [[ $rest == */* ]]; then rest=${rest#*/}; else rest=''; fi
    done
}

# The socket name, by rule 7 above.
check_socket() {
    local s=$1 base=/tmp real uid path LC_ALL=C
    [[ -n $s && $s != . && $s != .. ]] || die 2 "-L '$(shown "$s")': not a socket name"
    [[ $s != */* ]] || die 2 "-L '$(shown "$s")': a socket name holds no '/'"
    [[ $s != *,* ]] || die 2 "-L '$(shown "$s")': a socket name holds no ',' (tmux cuts \$TMUX there)"
    [[ $s != *$'\n'* ]] || die 2 "-L '$(shown "$s")': a socket name holds no newline"
    # tmux's directory: realpath($TMUX_TMPDIR), else /tmp, then tmux-UID.
    if [[ -n ${TMUX_TMPDIR:-} ]] && real=$(realpath -e -- "$TMUX_TMPDIR" 2>/dev/null); then
        base=$real
    elif real=$(realpath -e -- /tmp 2>/dev/null); then
        base=$real
    fi
    uid=$(id -u)
    path=$base/tmux-$uid/$s
    ((${#path} <= 107)) || die 2 "-L: a socket name of ${#s} bytes makes tmux's socket path ${#path} bytes, longer than 107"
}

socket='' socket_given=0 dir='' dir_given=0 interval='' workdir='' workdir_given=0 log='' log_given=0
titles=''
while (($# > 0)); do
    case $1 in
        -h | --help)
            printf '%s' "$usage"
            exit 0
            ;;
        -L | --dir | --interval | --workdir | --log | --titles)
            (($# >= 2)) || die 2 "$1: missing value"
            case $1 in
                --titles) titles=$2 ;;
                -L) socket=$2 socket_given=1 ;;
                --dir) dir=$2 dir_given=1 ;;
                --interval) interval=$2 ;;
                --workdir) workdir=$2 workdir_given=1 ;;
                --log) log=$2 log_given=1 ;;
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
[[ $dir == /* ]] || dir=$PWD/$dir
[[ $dir != *$'\n'* ]] || die 2 "--dir $(shown "$dir"): a heartbeat directory holds no newline"
check_path --dir "$dir"
interval=${interval:-${MOSAIC_HEARTBEAT_INTERVAL:-10}}

# NAME, directory and interval by the very rules the binary uses, before
# tmux is touched. Its own one-line error says what is wrong.
status=0
"$hb_write" --dry-run --sidecar --dir "$dir" --interval "$interval" -- "$name" || status=$?
((status == 0)) || exit "$status"
if [[ -n $titles ]]; then
    "$hb_write" --dry-run --titles "$titles" --pid 1 --dir "$dir" --interval "$interval" \
        -- "$name" || status=$?
    ((status == 0)) || exit "$status"
fi

if ((workdir_given)); then
    [[ -n $workdir ]] || die 2 "--workdir: empty path"
else
    workdir=$PWD
fi
[[ $workdir == /* ]] || workdir=$PWD/$workdir
check_path --workdir "$workdir"
[[ -d $workdir ]] || die 2 "--workdir $(shown "$workdir"): not a directory"
[[ -x $workdir ]] || die 2 "--workdir $(shown "$workdir"): not searchable (no x permission)"
if ((log_given)); then
    [[ -n $log ]] || die 2 "--log: empty path"
else
    log=$dir/$name.sidecar.log
fi
[[ $log == /* ]] || log=$PWD/$log
[[ $log != *$'\n'* ]] || die 2 "--log $(shown "$log"): a log path holds no newline"
check_path --log "$log"
((!socket_given)) || check_socket "$socket"

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
((!socket_given)) || tmux_cmd+=(-L "$socket")

pane_env=(
    -e "MOSAIC_AGENT_NAME=$name"
    -e "MOSAIC_HEARTBEAT_DIR=$dir"
    -e "MOSAIC_HEARTBEAT_INTERVAL=$interval"
)
# The agent is found by the pane's PATH: make it this script's, not the one
# the tmux server happened to start with.
[[ -z ${PATH:-} ]] || pane_env+=(-e "PATH=$PATH")
# Cline runs a session inside the hub daemon an earlier Cline left behind,
# with that Cline's environment: another agent's MOSAIC_AGENT_NAME. Each
# agent's Cline keeps its session in its own process (integrations/cline);
# `-- env CLINE_SESSION_BACKEND_MODE=auto cline` overrides it.
pane_env+=(-e "CLINE_SESSION_BACKEND_MODE=local")

# No -c: the session starts in the client's directory (rule 2 above).
new_session=(new-session -d -s "$name" "${pane_env[@]}" -P -F '#{pane_pid}'
    -- "$env_bin" -- "$@")
defuse "${new_session[@]}"
((defused_size <= 16364)) ||
    die 2 "the command and the pane's settings take $defused_size bytes, more than the 16364 tmux carries in one command"

if tmux_run has-session -t "=$name" 2>/dev/null; then
    die 1 "session $name already exists${socket:+ on socket $(shown "$socket")}; left as it is"
fi

# Errors name the path and the reason, in one line (mkdir's own would add
# a second).
err=$(mkdir -p -- "$dir" 2>&1) || die 3 "unable to create $(shown "$dir"): ${err##*: }"
err=$(mkdir -p -- "$(dirname -- "$log")" 2>&1) || die 3 "unable to create the log's directory for $(shown "$log"): ${err##*: }"
err=$({ : >>"$log"; } 2>&1) || die 3 "unable to open the log $(shown "$log"): ${err##*: }"

# A duplicate that appeared since the check above makes this fail, and
# tmux says so; nothing else has been started yet. `cd` is logical, so the
# agent's PWD keeps the symbolic links of the path it was given.
pane_pid=$(cd -- "$workdir" && tmux_run "${new_session[@]}") ||
    die 3 "tmux new-session failed for $name"
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
    # A sidecar whose agent ended at once writes its `exited` beat and
    # stops, maybe since the check above: look again before calling it dead.
    if ! alive "$sidecar_pid" && ! grep -qsx -- "pid=$pane_pid" "$beat"; then
        tmux_run kill-session -t "=$name" 2>/dev/null || true
        die 3 "the sidecar for $name stopped before its first beat (see $(shown "$log")); session $name ended"
    fi
    if ((SECONDS >= deadline)); then
        printf '%s: warning: no beat from the sidecar yet (see %s)\n' "$prog" "$(shown "$log")" >&2
        break
    fi
    sleep 0.05
done

# The title watcher (rule 9 above): `start_titles` sets titles_pid, or
# warns and leaves it empty; the agent runs either way.
safe_path() {
    local LC_ALL=C
    [[ $1 =~ ^/[A-Za-z0-9/._-]+$ ]]
}
titles_pid=''
start_titles() {
    local base=${TMPDIR:-/tmp} tmp fifo cat_bin pid deadline
    safe_path "$base" || base=/tmp
    if ! cat_bin=$(command -v cat) || ! safe_path "$cat_bin"; then
        printf '%s: warning: no cat at a plain path: %s'"'"'s terminal is not read\n' "$prog" "$name" >&2
        return
    fi
    if ! tmp=$(mktemp -d -- "$base/hb-titles.XXXXXXXXXX") || ! safe_path "$tmp"; then
        printf '%s: warning: no private directory for the FIFO: %s'"'"'s terminal is not read\n' "$prog" "$name" >&2
        return
    fi
    fifo=$tmp/pane
    if ! mkfifo -m 600 -- "$fifo"; then
        rm -rf -- "$tmp"
        printf '%s: warning: no FIFO in %s: %s'"'"'s terminal is not read\n' "$prog" "$tmp" "$name" >&2
        return
    fi
    (
        cd /
        exec "$setsid" "$hb_write" --titles "$titles" --dir "$dir" --interval "$interval" \
            --pid "$pane_pid" -- "$name" <"$fifo"
    ) </dev/null >>"$log" 2>&1 &
    pid=$!
    if tmux_run pipe-pane -O -t "=$name:" "exec $cat_bin >$fifo" 2>/dev/null; then
        # Open on both ends (the watcher's open returns once cat's has).
        deadline=$((SECONDS + 10))
        until [[ /proc/$pid/fd/0 -ef $fifo ]] || ((SECONDS >= deadline)); do
            sleep 0.02
        done
    fi
    if [[ /proc/$pid/fd/0 -ef $fifo ]]; then
        titles_pid=$pid
    else
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        # An agent that already ended leaves nothing to read.
        ! alive "$pane_pid" ||
            printf '%s: warning: tmux pipe-pane did not start: %s'"'"'s terminal is not read\n' "$prog" "$name" >&2
    fi
    rm -rf -- "$tmp"
}
[[ -z $titles ]] || start_titles

printf 'session=%s\nsocket=%s\npane_pid=%s\nsidecar_pid=%s\nbeat=%s\nlog=%s\n' \
    "$name" "${socket:-default}" "$pane_pid" "$sidecar_pid" "$beat" "$log"
[[ -z $titles_pid ]] || printf 'titles_pid=%s\n' "$titles_pid"
