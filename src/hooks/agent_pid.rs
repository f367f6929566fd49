//! Which process a hook speaks for: the runtime that ran it, found by
//! walking up from the hook's parent past the shells in between.
//!
//! Claude Code runs each hook as `/bin/sh -c "..."`, and dash forks, so
//! the hook's parent is a shell that is gone a moment later; an operator's
//! wrapper script adds another shell. A beat naming either would read
//! `dead` as soon as the hook returns. So the shells are walked past, to
//! the first ancestor that is not one. That ancestor is the runtime when
//! it carries the agent's `MOSAIC_AGENT_NAME` in its environment (it ran
//! the hook, which inherited it) or when no process in the chain does (the
//! name was set in the hook's own command line). When shells below it
//! carry the name and it does not (a tmux server above an agent that is
//! itself a shell script), the agent is the topmost shell that carries
//! it. When the chain reaches
//! pid 1 or a known subreaper first, the hook outlived its runtime (Codex
//! `exec` may exit before its notify child runs, which is then reparented):
//! there is no agent to name, and the caller falls back to the existing
//! beat's pid, or writes nothing.
//!
//! One pid 1 is a runtime (contract v4): in a sandbox or container
//! (`unshare --pid --fork`, `podman run`) the runtime itself is pid 1 of
//! its namespace. It carries the agent's `MOSAIC_AGENT_NAME`, which a real
//! init (systemd, tini, catatonit, bubblewrap's own pid 1) does not, or
//! is known by name; and it is no shell: a shell as pid 1 (`unshare -pf sh
//! -c ...`) is a wrapper that adopts orphans, never named, as anywhere.

/// Names (`/proc/PID/comm`) of the shells a runtime may run a hook through.
const SHELLS: &[&str] = &[
    "sh", "dash", "bash", "zsh", "ksh", "ksh93", "mksh", "ash", "busybox", "fish", "tcsh", "csh",
];

/// Process supervisors and container inits that adopt orphans
/// (`PR_SET_CHILD_SUBREAPER`, or pid 1 of a namespace): an orphaned hook's
/// parent, never a runtime. The kernel does not say which process is a
/// subreaper, so they are known by name.
pub(crate) const REAPERS: &[&str] = &[
    "systemd",
    "init",
    "tini",
    "dumb-init",
    "catatonit",
    "docker-init",
    "s6-svscan",
    "s6-supervise",
    "runsv",
    "runsvdir",
    "supervisord",
    "launchd",
    "bwrap",
];

/// How many shells may stand between the hook and its runtime.
const MAX_SHELLS: usize = 4;

/// A process's name and parent, from `/proc/PID/stat`.
#[derive(Debug, PartialEq, Eq)]
pub struct Proc {
    pub comm: String,
    pub ppid: u32,
}

/// `/proc/PID/stat`, read once; `None` when the process is gone.
pub fn read_proc(pid: u32) -> Option<Proc> {
    crate::proc::with_stat(pid, |s| Proc {
        comm: String::from_utf8_lossy(s.comm).into_owned(),
        ppid: s.ppid,
    })
}

/// The runtime's pid, starting from the hook's parent `parent`; `None`
/// when the hook has no live runtime above it. `lookup` is `read_proc`;
/// `carries` says whether a process's environment holds the agent's name
/// (`None`: unreadable). Parameters, so the walk is tested on made-up trees.
pub fn runtime_pid(
    parent: u32,
    lookup: impl Fn(u32) -> Option<Proc>,
    carries: impl Fn(u32) -> Option<bool>,
) -> Option<u32> {
    let mut pid = parent;
    // The topmost shell so far that carries the agent's name.
    let mut carrier = None;
    for _ in 0..=MAX_SHELLS {
        // Adopted by init or a subreaper: the hook outlived its runtime,
        // whatever shells it left running. Unless pid 1 is the runtime, in
        // a pid namespace of its own.
        if pid <= 1 {
            let runtime = pid == 1
                && lookup(1).is_some_and(|p| {
                    let name = p.comm.as_str();
                    !REAPERS.contains(&name) && !SHELLS.contains(&name)
                })
                && carries(1) == Some(true);
            return runtime.then_some(1);
        }
        let p = lookup(pid)?;
        if REAPERS.contains(&p.comm.as_str()) {
            return None;
        }
        if !SHELLS.contains(&p.comm.as_str()) {
            return match (carries(pid), carrier) {
                (Some(false), Some(shell)) => Some(shell),
                // Unreadable (written over by setproctitle, as Mistral
                // Vibe's vibe-app-server is): its parents tell.
                (Some(true) | None, _) => Some(launcher(pid, p.ppid, &lookup, &carries)),
                _ => Some(pid),
            };
        }
        if carries(pid) == Some(true) {
            carrier = Some(pid);
        }
        pid = p.ppid;
    }
    // Shells all the way up: an interactive shell ran the hook by hand.
    None
}

/// The process that started the runtime `pid` (whose parent is `ppid`),
/// when the runtime is the second of a pair: Gemini CLI, Qwen Code and
/// Copilot CLI relaunch themselves (a node wrapper, then the runtime as
/// its child; both live for the session). The wrapper is the process the
/// launcher started, the pane's, which the sidecar watches, so the beat
/// names it, and its pid does not flip between the sidecar's beats and the
/// hooks'. Climbs while the parent is no shell or reaper and carries the
/// agent's name too, at most [`MAX_PAIR`] steps; else `pid` itself.
fn launcher(
    mut pid: u32,
    mut ppid: u32,
    lookup: &impl Fn(u32) -> Option<Proc>,
    carries: &impl Fn(u32) -> Option<bool>,
) -> u32 {
    for _ in 0..MAX_PAIR {
        if ppid <= 1 {
            break;
        }
        let Some(p) = lookup(ppid) else { break };
        let name = p.comm.as_str();
        if SHELLS.contains(&name) || REAPERS.contains(&name) || carries(ppid) != Some(true) {
            break;
        }
        (pid, ppid) = (ppid, p.ppid);
    }
    pid
}

/// How many wrappers may stand above a runtime: Qwen Code's TUI is three
/// node processes (a wrapper and two relaunches); one more for a launcher
/// of the operator's (`npx`).
const MAX_PAIR: usize = 3;

/// This hook's runtime: [`runtime_pid`] from the real parent.
pub fn of_this_hook(name: &str) -> Option<u32> {
    runtime_pid(crate::proc::parent_pid(), read_proc, |pid| {
        carries_name(pid, name)
    })
}

/// Environments past this size are not searched (unreadable: `None`).
const MAX_ENVIRON: u64 = 1 << 20;

/// Does `/proc/PID/environ` hold `MOSAIC_AGENT_NAME=name`? `None` when it
/// cannot be read (another user's process, or gone) or holds no variable
/// at all (setproctitle moved the environment and wrote over its place).
pub fn carries_name(pid: u32, name: &str) -> Option<bool> {
    use std::io::Read;
    let f = std::fs::File::open(format!("/proc/{pid}/environ")).ok()?;
    let mut env = vec![0u8];
    f.take(MAX_ENVIRON).read_to_end(&mut env).ok()?;
    if !env.contains(&b'=') {
        return None;
    }
    let want = format!("\0MOSAIC_AGENT_NAME={name}\0");
    env.push(0);
    Some(env.windows(want.len()).any(|w| w == want.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree<'a>(procs: &'a [(u32, &'a str, u32)]) -> impl Fn(u32) -> Option<Proc> + 'a {
        move |pid| {
            procs.iter().find(|p| p.0 == pid).map(|p| Proc {
                comm: p.1.to_string(),
                ppid: p.2,
            })
        }
    }

    /// Every process carries the name (the runtime ran the hook).
    fn all(_: u32) -> Option<bool> {
        Some(true)
    }

    #[test]
    fn an_agent_that_is_a_shell_script_is_its_own_runtime() {
        // tmux server -> bash agent script -> hb-write: the script carries
        // the name (the pane's environment), the tmux server does not.
        let t = [(10, "tmux: server", 1), (900, "bash", 10)];
        let carries = |pid| Some(pid == 900);
        assert_eq!(runtime_pid(900, tree(&t), carries), Some(900));
        // Through a wrapper shell of its own too.
        let t = [(10, "tmux: server", 1), (900, "bash", 10), (901, "sh", 900)];
        let carries = |pid| Some(pid >= 900);
        assert_eq!(runtime_pid(901, tree(&t), carries), Some(900));
        // Unreadable environments: the plain rule.
        assert_eq!(runtime_pid(901, tree(&t), |_| None), Some(10));
        // The name only on the hook's own command line: nobody carries it.
        let t = [(900, "claude", 10), (901, "sh", 900)];
        assert_eq!(runtime_pid(901, tree(&t), |_| Some(false)), Some(900));
    }

    #[test]
    fn a_server_whose_environment_is_unreadable_is_named_by_its_parent() {
        // Mistral Vibe: tmux -> vibe-rs (the pane) -> vibe-app-server,
        // whose environment setproctitle wrote over -> sh -c -> the hook.
        let t = [
            (10, "tmux: server", 1),
            (900, "vibe-rs", 10),
            (901, "vibe-app-server", 900),
            (902, "sh", 901),
        ];
        let carries = |pid| match pid {
            901 => None,
            900 | 902 => Some(true),
            _ => Some(false),
        };
        assert_eq!(runtime_pid(902, tree(&t), carries), Some(900));
        // No parent carries the name either: the server itself.
        let carries = |pid| if pid == 901 { None } else { Some(false) };
        assert_eq!(runtime_pid(902, tree(&t), carries), Some(901));
    }

    #[test]
    fn a_runtime_started_by_a_wrapper_is_named_by_the_wrapper() {
        // tmux -> node wrapper (the pane) -> node runtime -> bash -c -> hook.
        let t = [
            (10, "tmux: server", 1),
            (900, "node", 10),
            (901, "node", 900),
            (902, "bash", 901),
        ];
        let carries = |pid| Some(pid >= 900);
        assert_eq!(runtime_pid(902, tree(&t), carries), Some(900));
        // A helper between the hook and the runtime carries the name too.
        let t = [
            (10, "tmux: server", 1),
            (900, "node", 10),
            (901, "node", 900),
            (905, "node", 901),
        ];
        assert_eq!(runtime_pid(905, tree(&t), carries), Some(900));
        // Never past a shell, a reaper, or a process without the name.
        let t = [(10, "bash", 1), (900, "copilot", 10), (901, "sh", 900)];
        assert_eq!(runtime_pid(901, tree(&t), all), Some(900));
        let t = [(10, "systemd", 1), (900, "node", 10), (901, "node", 900)];
        assert_eq!(runtime_pid(901, tree(&t), all), Some(900));
        let t = [(800, "node", 1), (900, "node", 800), (901, "sh", 900)];
        assert_eq!(runtime_pid(901, tree(&t), |p| Some(p != 800)), Some(900));
        // Unreadable environments: the runtime itself.
        assert_eq!(runtime_pid(901, tree(&t), |_| None), Some(900));
        // At most MAX_PAIR wrappers.
        let t = [
            (1, "init", 0),
            (896, "node", 1),
            (897, "node", 896),
            (898, "node", 897),
            (899, "node", 898),
            (900, "node", 899),
        ];
        assert_eq!(runtime_pid(900, tree(&t), all), Some(897));
    }

    #[test]
    fn this_process_does_not_carry_a_name_it_lacks() {
        assert_eq!(
            carries_name(std::process::id(), "no-such-agent-name"),
            Some(false)
        );
        assert_eq!(carries_name(u32::MAX, "x"), None);
    }

    #[test]
    fn the_shells_between_a_hook_and_its_runtime_are_skipped() {
        // claude -> sh -c -> bash wrapper -> hb-write
        let t = [(900, "claude", 10), (901, "sh", 900), (902, "bash", 901)];
        assert_eq!(runtime_pid(902, tree(&t), all), Some(900));
        assert_eq!(runtime_pid(901, tree(&t), all), Some(900));
        // Codex runs notify directly.
        assert_eq!(runtime_pid(900, tree(&t), all), Some(900));
    }

    #[test]
    fn an_orphaned_hook_names_no_runtime() {
        let t = [(50, "systemd", 1), (60, "sh", 1), (70, "tini", 0)];
        assert_eq!(runtime_pid(1, tree(&t), all), None);
        assert_eq!(runtime_pid(50, tree(&t), all), None);
        // A shell whose runtime is gone: reparented to init.
        assert_eq!(runtime_pid(60, tree(&t), all), None);
        assert_eq!(runtime_pid(70, tree(&t), all), None);
        // Gone between the hook's start and the walk.
        assert_eq!(runtime_pid(99, tree(&t), all), None);
    }

    #[test]
    fn the_runtime_as_pid_1_of_its_namespace_is_named() {
        // unshare --pid --fork claude -> sh -c -> hb-write
        let t = [(1, "claude", 0), (7, "sh", 1)];
        assert_eq!(runtime_pid(7, tree(&t), all), Some(1));
        assert_eq!(runtime_pid(1, tree(&t), all), Some(1));
        // An agent script as pid 1 that runs a shell of its own.
        let t = [(1, "agent", 0), (5, "bash", 1), (6, "sh", 5)];
        assert_eq!(runtime_pid(6, tree(&t), all), Some(1));
        // Not without the agent's name: an init that adopted an orphan.
        assert_eq!(
            runtime_pid(7, tree(&[(1, "claude", 0), (7, "sh", 1)]), |_| Some(false)),
            None
        );
        assert_eq!(
            runtime_pid(7, tree(&[(1, "claude", 0), (7, "sh", 1)]), |_| None),
            None
        );
        // Nor an init known by name, even if it has the name (podman
        // --init, bubblewrap's pid 1 above its child).
        for init in ["catatonit", "tini", "bwrap", "systemd", "sh", "bash"] {
            let t = [(1, init, 0), (7, "sh", 1)];
            assert_eq!(runtime_pid(7, tree(&t), all), None, "{init}");
        }
        // The runtime as pid 2 under bubblewrap's pid 1.
        let t = [(1, "bwrap", 0), (2, "claude", 1), (9, "sh", 2)];
        assert_eq!(runtime_pid(9, tree(&t), all), Some(2));
    }

    #[test]
    fn shells_all_the_way_up_name_no_runtime() {
        let t = [
            (2, "bash", 3),
            (3, "bash", 4),
            (4, "bash", 5),
            (5, "bash", 6),
            (6, "bash", 7),
            (7, "bash", 8),
        ];
        assert_eq!(runtime_pid(2, tree(&t), all), None);
    }

    #[test]
    fn this_process_has_a_parent_that_is_not_a_shell_or_is_walked_past() {
        let me = read_proc(std::process::id()).unwrap();
        assert_eq!(me.ppid, crate::proc::parent_pid());
    }
}
