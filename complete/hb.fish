# fish completion for hb-write, hb-defer-check, hb-read,
# start-agent-session.sh and stop-agent-session.sh: their flags, the
# values some flags take, agent NAMEs from the heartbeat directory, and
# the command after `--` or `hb-read --exec`. The flag lists are
# complete/hb.bash's; tests/docs.rs holds both to each program's --help.
#
# Installed as fish/vendor_completions.d/CMD.fish for each of the five
# commands (fish loads a command's completion from a file of its name;
# loading this file twice does no harm), or sourced from config.fish.

# The heartbeat directory, as the binaries resolve it: --dir on the line,
# else $MOSAIC_HEARTBEAT_DIR, $XDG_STATE_HOME/mosaic/fleet/hb (absolute
# only), $HOME/.local/state/mosaic/fleet/hb.
function __hb_dir
    set -l words (commandline -opc)
    set -l d
    for i in (seq 2 (count $words))
        switch $words[$i]
            case --dir
                set -l n (math $i + 1)
                if test $n -le (count $words)
                    set d $words[$n]
                end
            case '--dir=?*'
                set d (string replace -- --dir= '' $words[$i])
        end
    end
    if test -z "$d"
        if test -n "$MOSAIC_HEARTBEAT_DIR"
            set d $MOSAIC_HEARTBEAT_DIR
        else if string match -q -- '/*' "$XDG_STATE_HOME"
            set d $XDG_STATE_HOME/mosaic/fleet/hb
        else if test -n "$HOME"
            set d $HOME/.local/state/mosaic/fleet/hb
        end
    end
    # The word on the line is as typed: its ~ is not expanded yet.
    if string match -q -- '~/*' "$d"
        set d $HOME/(string sub -s 3 -- $d)
    end
    printf '%s\n' $d
end

# The agents in the heartbeat directory: each NAME.hb whose stem is a
# valid NAME (the readers' rule), so nothing odd reaches the line.
function __hb_names
    set -l d (__hb_dir)
    test -n "$d" -a -d "$d"; or return 0
    for f in $d/*.hb
        set -l n (string replace -r '\.hb$' '' -- (path basename -- $f))
        string match -qr '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' -- $n; and printf '%s\n' $n
    end
end

# Is word $argv[1] (`--`, `--exec`) on the line before the one being
# completed? What follows it is a command and that command's arguments.
function __hb_after
    contains -- $argv[1] (commandline -opc)[2..-1]
end

# Is the word being completed the one right after $argv[1]: the command?
function __hb_command_after
    set -l words (commandline -opc)
    test (count $words) -ge 2; and test "$words[-1]" = $argv[1]
end

# Does the line hold $argv[1] before the word being completed?
function __hb_seen
    contains -- $argv[1] (commandline -opc)[2..-1]
end

# Flags: each program's long and short flags, offered until `--` (the
# launcher) or `--exec` (hb-read); after them, the command's own.
function __hb_flags
    set -l cmd $argv[1]
    set -l stop $argv[2]
    for f in $argv[3..-1]
        if string match -q -- '--*' $f
            complete -c $cmd -n "not __hb_after $stop" -l (string sub -s 3 -- $f)
        else
            complete -c $cmd -n "not __hb_after $stop" -s (string sub -s 2 -- $f)
        end
    end
end

for cmd in hb-write hb-defer-check hb-read start-agent-session.sh stop-agent-session.sh
    complete -c $cmd -e
    complete -c $cmd -f
end

__hb_flags hb-write -- --status --model --pid --while-pid --native --fallback --sidecar \
    --clear-native --remove --hook --event --titles --dir --interval --dry-run -h --help -V --version
__hb_flags hb-defer-check -- -v --verbose --dir --interval -h --help -V --version
__hb_flags hb-read --exec --json --format --stale-after --check --output --color \
    --follow --exec --watch --dir --interval -h --help -V --version
__hb_flags start-agent-session.sh -- -L --dir --interval --workdir --log --titles -h --help
__hb_flags stop-agent-session.sh -- -L --dir --remove -h --help

# The values flags take: none offered for a value that is the user's own.
complete -c hb-write -n 'not __hb_after --' -l dir -x -a '(__fish_complete_directories)'
complete -c hb-defer-check -n 'not __hb_after --' -l dir -x -a '(__fish_complete_directories)'
complete -c hb-read -n 'not __hb_after --exec' -l dir -x -a '(__fish_complete_directories)'
complete -c start-agent-session.sh -n 'not __hb_after --' -l dir -x -a '(__fish_complete_directories)'
complete -c stop-agent-session.sh -n 'not __hb_after --' -l dir -x -a '(__fish_complete_directories)'
complete -c hb-write -n 'not __hb_after --' -l interval -x
complete -c hb-defer-check -n 'not __hb_after --' -l interval -x
complete -c hb-read -n 'not __hb_after --exec' -l interval -x
complete -c start-agent-session.sh -n 'not __hb_after --' -l interval -x
complete -c start-agent-session.sh -n 'not __hb_after --' -s L -x
complete -c stop-agent-session.sh -n 'not __hb_after --' -s L -x
complete -c hb-write -n 'not __hb_after --' -l hook -x -a 'claude codex gemini qwen copilot hermes aider vibe cline'
complete -c hb-write -n 'not __hb_after --' -l titles -x -a 'vibe'
complete -c start-agent-session.sh -n 'not __hb_after --' -l titles -x -a 'vibe'
complete -c hb-write -n 'not __hb_after --' -l status -x -a 'ok busy waiting exited'
complete -c hb-write -n 'not __hb_after --' -l model -x
complete -c hb-write -n 'not __hb_after --' -l pid -x
complete -c hb-write -n 'not __hb_after --' -l while-pid -x
complete -c hb-write -n 'not __hb_after --' -l event -x
complete -c hb-read -n 'not __hb_after --exec' -l format -x -a 'table json prometheus tmux'
complete -c hb-read -n 'not __hb_after --exec' -l color -x -a 'auto always never'
complete -c hb-read -n 'not __hb_after --exec' -l stale-after -x
complete -c hb-read -n 'not __hb_after --exec' -l output -r -F
complete -c start-agent-session.sh -n 'not __hb_after --' -l workdir -x -a '(__fish_complete_directories)'
complete -c start-agent-session.sh -n 'not __hb_after --' -l log -r -F

# NAMEs: the agents of the directory. Hook mode takes a payload, not a
# NAME; a new agent's NAME is the user's to choose.
complete -c hb-write -n 'not __hb_seen --hook' -a '(__hb_names)'
complete -c hb-defer-check -a '(__hb_names)'
complete -c hb-read -n 'not __hb_after --exec' -a '(__hb_names)'
complete -c stop-agent-session.sh -a '(__hb_names)'

# After `--` (the agent) or `--exec` (the notifier): a command, then files.
complete -c start-agent-session.sh -n '__hb_command_after --' -x -a '(__fish_complete_command)'
complete -c start-agent-session.sh -n '__hb_after --; and not __hb_command_after --' -F
complete -c hb-read -n '__hb_command_after --exec' -x -a '(__fish_complete_command)'
complete -c hb-read -n '__hb_after --exec; and not __hb_command_after --exec' -F
