# bash completion for hb-write, hb-defer-check, hb-read,
# start-agent-session.sh and stop-agent-session.sh: their flags, the
# values some flags take, agent NAMEs from the heartbeat directory, and
# the command after `--` or `hb-read --exec`.
# shellcheck shell=bash
#
# Installed as bash-completion/completions/hb-write (the other commands'
# files link to it), or sourced from ~/.bashrc. The heartbeat directory is
# resolved as the binaries resolve it: --dir on the line, else
# $MOSAIC_HEARTBEAT_DIR, $XDG_STATE_HOME/mosaic/fleet/hb,
# $HOME/.local/state/mosaic/fleet/hb.

# The value of --dir on the line (`--dir D` or `--dir=D`), else the
# environment's directory; a leading ~/ is the home directory.
_hb_dir() {
    local i w d=
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w == --dir ]]; then
            if [[ ${COMP_WORDS[i + 1]-} == = ]]; then
                d=${COMP_WORDS[i + 2]-}
            else
                d=${COMP_WORDS[i + 1]-}
            fi
        elif [[ $w == --dir=?* ]]; then
            d=${w#--dir=}
        fi
    done
    if [[ -z $d ]]; then
        if [[ -n ${MOSAIC_HEARTBEAT_DIR-} ]]; then
            d=$MOSAIC_HEARTBEAT_DIR
        elif [[ ${XDG_STATE_HOME-} == /* ]]; then
            d=$XDG_STATE_HOME/mosaic/fleet/hb
        elif [[ -n ${HOME-} ]]; then
            d=$HOME/.local/state/mosaic/fleet/hb
        fi
    fi
    # The word on the line is as typed: the shell has not expanded its ~.
    # shellcheck disable=SC2088
    [[ $d == "~/"* ]] && d=$HOME/${d#"~/"}
    printf '%s\n' "$d"
}

# The agents in the heartbeat directory: each NAME.hb whose stem is a
# valid NAME (the readers' rule), so nothing odd reaches the line.
_hb_names() {
    local d f n
    d=$(_hb_dir)
    [[ -n $d && -d $d ]] || return 0
    for f in "$d"/*.hb; do
        [[ -e $f ]] || continue
        n=${f##*/}
        n=${n%.hb}
        [[ $n =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]] && printf '%s\n' "$n"
    done
}

# After word $1 on the line (the launcher's `--`, hb-read's `--exec`): a
# command, then its arguments, all the rest of the line. Fails when the
# line has no $1 before the word being completed.
_hb_after() {
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == "$1" ]]; then
            if ((i + 1 == COMP_CWORD)); then
                mapfile -t COMPREPLY < <(compgen -c -- "$cur")
            else
                compopt -o default 2>/dev/null
                COMPREPLY=()
            fi
            return 0
        fi
    done
    return 1
}

# Sets COMPREPLY to the words of $1 that start with $cur.
_hb_words() {
    local w
    COMPREPLY=()
    while IFS= read -r w; do
        [[ -n $w ]] && COMPREPLY+=("$w")
    done < <(compgen -W "$1" -- "$cur")
}

_hb_complete() {
    local cmd=${1##*/} cur=${COMP_WORDS[COMP_CWORD]} prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    # `--flag=value`: bash splits at `=`.
    if [[ $cur == = ]]; then
        cur=
    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi
    local flags names=1 i
    case $cmd in
        hb-write)
            flags='--status --model --pid --while-pid --native --fallback --sidecar
                --clear-native --remove --hook --event --titles --dir --interval --dry-run
                -h --help -V --version'
            for ((i = 1; i < COMP_CWORD; i++)); do
                # Hook mode takes no NAME: the argument is the payload.
                [[ ${COMP_WORDS[i]} == --hook ]] && names=0
            done
            ;;
        hb-defer-check)
            flags='-v --verbose --dir --interval -h --help -V --version'
            ;;
        hb-read)
            flags='--json --format --stale-after --check --output --color
                --follow --exec --watch --dir --interval -h --help -V --version'
            # The notifier and its arguments.
            _hb_after --exec && return 0
            ;;
        start-agent-session.sh)
            flags='-L --dir --interval --workdir --log --titles -h --help'
            # The agent's command and its arguments.
            _hb_after -- && return 0
            # A new agent's NAME is the user's to choose.
            names=0
            ;;
        stop-agent-session.sh)
            flags='-L --dir --remove -h --help'
            ;;
        *) return 0 ;;
    esac
    case $prev in
        --dir | --workdir)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            return 0
            ;;
        --output | --log)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return 0
            ;;
        --hook) _hb_words 'claude codex gemini qwen copilot hermes aider vibe cline' && return 0 ;;
        --titles) _hb_words 'vibe' && return 0 ;;
        --format) _hb_words 'table json prometheus tmux' && return 0 ;;
        --color) _hb_words 'auto always never' && return 0 ;;
        --status)
            [[ $cmd == hb-write ]] && _hb_words 'ok busy waiting exited' && return 0
            ;;
        --model | --pid | --while-pid | --interval | --stale-after | --event | -L)
            COMPREPLY=()
            return 0
            ;;
    esac
    if [[ $cur == -* ]]; then
        _hb_words "$flags"
    elif ((names)); then
        _hb_words "$(_hb_names)"
    else
        COMPREPLY=()
    fi
    return 0
}

complete -F _hb_complete hb-write hb-defer-check hb-read start-agent-session.sh stop-agent-session.sh
