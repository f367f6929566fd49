//! A generated hostile corpus for `scripts/start-agent-session.sh` against
//! the real tmux: every value the launcher hands to tmux (the command and
//! each argument, `--workdir`, `--dir`, `--log`, `PATH`, `-L`) built from
//! pieces that tmux's parsers react to, one by one and combined at random
//! (seed printed; `HB_HOSTILE_SEED` replays it, `HB_HOSTILE_CASES` sets how
//! many combinations). Each case either reaches a probe agent byte for byte
//! (argv, working directory, `MOSAIC_*`, `PATH`, the socket in `$TMUX`), or
//! is refused with exit 2, one line, and nothing touched. Canaries (`#(touch
//! C)` in every expandable place, `run-shell 'touch C'` after every
//! candidate separator) must never fire, and an operator's tmux server
//! started beforehand, with its own environment and session, must survive.
//! The corpus runs against that server and against fresh servers; a control
//! test proves the canaries do fire when tmux is handed the raw values.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const START: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scripts/start-agent-session.sh"
);
const LONG: Duration = Duration::from_secs(30);
/// What tmux's client carries in one command (client.c), and the longest
/// socket path (sun_path less its NUL): the launcher's limits, mirrored.
const TMUX_COMMAND_MAX: usize = 16364;
const SOCKET_PATH_MAX: usize = 107;

/// The first executable `name` in the test's PATH.
fn which(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_exe(p))
        .unwrap_or_else(|| panic!("{name} not found in PATH"))
}

fn is_exe(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn tmux_bin() -> PathBuf {
    let t = which("tmux");
    let ok = Command::new(&t)
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "these tests need tmux 3.2 or newer in PATH");
    t
}

/// The probe agent: bash (under a possibly hostile name) runs this fixed
/// script, which records its whole argv (NUL-separated, from /proc), its
/// working directory and its environment beside `$0`, by absolute paths so
/// that the PATH under test finds nothing. Then it exits: the session ends
/// and the sidecar records `exited`.
fn recorder() -> String {
    let (cat, readlink, env) = (which("cat"), which("readlink"), which("env"));
    format!(
        r#"{cat} /proc/$$/cmdline >"$0.argv"; {readlink} -z /proc/$$/cwd >"$0.cwd"; {env} -0 >"$0.env"; : >"$0.done""#,
        cat = cat.display(),
        readlink = readlink.display(),
        env = env.display()
    )
}

/// The pieces values are built from, with `C` the canary's path.
fn pieces(canary: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let c = canary.as_os_str().as_bytes();
    let with_c = |a: &[u8], b: &[u8]| [a, c, b].concat();
    let mut big = Vec::new();
    let unit = [
        b"x;#{pane_pid}".as_slice(),
        &with_c(b"#(touch ", b")"),
        b"##%\"' \n;",
    ]
    .concat();
    while big.len() < 4095 {
        big.extend_from_slice(&unit);
    }
    big.truncate(4095);
    big.push(b';');
    vec![
        ("trailing ;", b"x;".to_vec()),
        ("lone ;", b";".to_vec()),
        ("\\;", b"\\;".to_vec()),
        ("\\\\;", b"\\\\;".to_vec()),
        (";;", b";;".to_vec()),
        ("#(...)", with_c(b"#(touch ", b")")),
        ("#{...}", b"#{pane_pid}#{session_name}".to_vec()),
        ("#{?...#()}", with_c(b"#{?pane_pid,#(touch ", b"),}")),
        ("##", b"##".to_vec()),
        ("%", b"%H%%%1".to_vec()),
        ("leading -", b"-e".to_vec()),
        ("--", b"--".to_vec()),
        ("quotes", b"it's \"q\"".to_vec()),
        ("spaces", b" a  b ".to_vec()),
        ("newline", b"\n".to_vec()),
        ("unicode", "ünï😀".as_bytes().to_vec()),
        ("not UTF-8", b"\xff\xfe".to_vec()),
        ("$(...)", with_c(b"$(touch ", b")")),
        ("{ }", with_c(b"{ run-shell 'touch ", b"' }")),
        ("comma", b"a,b".to_vec()),
        ("4 KB", big),
    ]
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ctx {
    Argv0,
    Arg,
    Workdir,
    Dir,
    Log,
    Path,
    Socket,
}

const CONTEXTS: [Ctx; 7] = [
    Ctx::Argv0,
    Ctx::Arg,
    Ctx::Workdir,
    Ctx::Dir,
    Ctx::Log,
    Ctx::Path,
    Ctx::Socket,
];

/// One launch: the hostile value of each context (None: a plain one).
#[derive(Default, Clone, Debug)]
struct Case {
    label: String,
    argv0: Option<Vec<u8>>,
    args: Vec<Vec<u8>>,
    workdir: Option<Vec<u8>>,
    dir: Option<Vec<u8>>,
    log: Option<Vec<u8>>,
    path: Option<Vec<u8>>,
    socket: Option<Vec<u8>>,
}

impl Case {
    fn set(&mut self, ctx: Ctx, v: Vec<u8>) {
        match ctx {
            Ctx::Argv0 => self.argv0 = Some(v),
            Ctx::Arg => self.args.push(v),
            Ctx::Workdir => self.workdir = Some(v),
            Ctx::Dir => self.dir = Some(v),
            Ctx::Log => self.log = Some(v),
            Ctx::Path => self.path = Some(v),
            Ctx::Socket => self.socket = Some(v),
        }
    }
}

fn lossy(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// Byte-exact equality, shown readably when it fails.
#[track_caller]
fn same(got: &[u8], want: &[u8], what: &str, detail: &dyn Fn() -> String) {
    assert!(
        got == want,
        "{what}:\n got {}\nwant {}\n{}",
        lossy(got),
        lossy(want),
        detail()
    );
}

fn osv(b: &[u8]) -> OsString {
    OsString::from_vec(b.to_vec())
}

/// Paths a system can hold (the launcher's check_path).
fn holdable(p: &[u8]) -> bool {
    p.len() < 4096 && p.split(|&b| b == b'/').all(|n| n.len() <= 255)
}

fn socket_dir() -> PathBuf {
    let base = std::env::var_os("TMUX_TMPDIR")
        .filter(|d| !d.is_empty())
        .and_then(|d| fs::canonicalize(d).ok())
        .or_else(|| fs::canonicalize("/tmp").ok())
        .unwrap_or_else(|| "/tmp".into());
    // SAFETY: getuid cannot fail.
    base.join(format!("tmux-{}", unsafe { libc::getuid() }))
}

/// Where the values of one case land, and everything to check it.
struct Plan {
    name: String,
    argv: Vec<Vec<u8>>,
    /// What the launcher is given for each path (relative or absolute).
    workdir_arg: Option<Vec<u8>>,
    dir_arg: Vec<u8>,
    log_arg: Option<Vec<u8>>,
    /// The same made absolute, as the agent must see them.
    workdir: Vec<u8>,
    dir: Vec<u8>,
    log: Vec<u8>,
    path: Vec<u8>,
    socket: Vec<u8>,
    rec: PathBuf,
    /// Some(why) when the launcher must refuse the case.
    refused: Option<String>,
}

struct Corpus {
    sb: Sandbox,
    tmux: PathBuf,
    canary: PathBuf,
    pieces: Vec<(&'static str, Vec<u8>)>,
    recorder: String,
    bash: PathBuf,
    /// The operator's server, started before any case.
    operator: String,
    operator_pane: String,
    /// Fresh sockets made by cases, killed at the end.
    fresh: std::cell::RefCell<Vec<Vec<u8>>>,
    n: std::cell::Cell<usize>,
    /// Cases started and refused, for the summary line.
    started: std::cell::Cell<usize>,
    refused: std::cell::Cell<usize>,
}

impl Corpus {
    fn new(tag: &str) -> Corpus {
        let sb = Sandbox::new(tag);
        let canary = sb.root.join("canary");
        fs::create_dir_all(&canary).unwrap();
        let tmux = tmux_bin();
        let operator = format!("hbo-{tag}-{}-{}", std::process::id(), fastrand::u32(..));
        let mut c = Corpus {
            pieces: pieces(&canary.join("hit")),
            canary,
            recorder: recorder(),
            bash: which("bash"),
            tmux,
            operator,
            operator_pane: String::new(),
            fresh: Default::default(),
            n: Default::default(),
            started: Default::default(),
            refused: Default::default(),
            sb,
        };
        // The operator's server: its own environment (decoys for every
        // variable the launcher sets) and a session of its own.
        let mut pre = Command::new(&c.tmux);
        pre.env_clear()
            .env("HOME", &c.sb.root)
            .env("PATH", "/operator/bin:/usr/bin:/bin")
            .env("HB_OPERATOR", "yes")
            .env("MOSAIC_AGENT_NAME", "decoy")
            .env("MOSAIC_HEARTBEAT_DIR", "/decoy")
            .env("MOSAIC_HEARTBEAT_INTERVAL", "99")
            .args(["-L", &c.operator, "new-session", "-d", "-s", "operator"])
            .args(["-P", "-F", "#{pane_pid}", "sleep", "3600"]);
        let o = pre.output().unwrap();
        assert!(o.status.success(), "operator server: {o:?}");
        c.operator_pane = String::from_utf8(o.stdout).unwrap().trim().to_string();
        c
    }

    fn tmux_on(&self, socket: &[u8]) -> Command {
        let mut c = Command::new(&self.tmux);
        c.env_remove("TMUX").env("HOME", &self.sb.root);
        c.arg("-L").arg(osv(socket));
        c
    }

    /// The operator's server is there, unchanged: its session, its pane's
    /// process, its global environment.
    fn operator_survived(&self, what: &str) {
        let o = self
            .tmux_on(self.operator.as_bytes())
            .args(["list-panes", "-s", "-t", "=operator", "-F", "#{pane_pid}"])
            .output()
            .unwrap();
        assert!(
            o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == self.operator_pane,
            "{what}: the operator's session is gone or changed: {o:?}"
        );
        let o = self
            .tmux_on(self.operator.as_bytes())
            .args(["show-environment", "-g", "HB_OPERATOR"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "HB_OPERATOR=yes\n",
            "{what}: the operator's environment changed"
        );
    }

    fn no_canary(&self, what: &str) {
        let hits: Vec<_> = fs::read_dir(&self.canary).unwrap().flatten().collect();
        assert!(hits.is_empty(), "{what}: a canary fired: {hits:?}");
    }

    /// Where each value of `case` goes, and whether it must be refused.
    fn plan(&self, case: &Case, fresh: bool) -> Plan {
        let n = self.n.get();
        self.n.set(n + 1);
        let root = self.sb.root.as_os_str().as_bytes();
        // A path from a hostile value, which always ends it (a trailing `;`
        // must stay trailing): on odd cases relative to the launcher's
        // directory and starting with the value too (so it can start the
        // option's argument), else absolute. A `/` in a value just makes
        // more directories.
        let place = |v: &[u8], tag: &str| -> (Vec<u8>, Vec<u8>) {
            if n % 2 == 1 {
                let rel = [v, format!("/{tag}{n}/").as_bytes(), v].concat();
                let abs = [root, b"/", &rel].concat();
                (rel, abs)
            } else {
                let abs = [root, format!("/{tag}{n}/").as_bytes(), v].concat();
                (abs.clone(), abs)
            }
        };
        let name = format!("h-{n}");
        let rec = self.sb.root.join(format!("rec-{n}"));

        let argv0 = match &case.argv0 {
            Some(v) => {
                let (_, abs) = place(v, "cmd");
                let p = PathBuf::from(osv(&abs));
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink(&self.bash, &p).unwrap();
                abs
            }
            None => self.bash.as_os_str().as_bytes().to_vec(),
        };
        let mut argv = vec![
            argv0,
            b"-c".to_vec(),
            self.recorder.clone().into_bytes(),
            rec.as_os_str().as_bytes().to_vec(),
        ];
        argv.extend(case.args.iter().cloned());

        let (workdir_arg, workdir) = match &case.workdir {
            Some(v) => {
                let (arg, abs) = place(v, "wd");
                if holdable(&abs) {
                    fs::create_dir_all(PathBuf::from(osv(&abs))).unwrap();
                }
                (Some(arg), abs)
            }
            None => (None, root.to_vec()),
        };
        let (dir_arg, dir) = match &case.dir {
            Some(v) => place(v, "hb"),
            None => ([root, b"/hb"].concat(), [root, b"/hb"].concat()),
        };
        let (log_arg, log) = match &case.log {
            Some(v) => {
                let (a, b) = place(v, "log");
                (Some(a), b)
            }
            None => (
                None,
                [&dir[..], b"/", name.as_bytes(), b".sidecar.log"].concat(),
            ),
        };
        let real_path = std::env::var_os("PATH").unwrap_or_default();
        let path = match &case.path {
            Some(v) => [v.as_slice(), b":", real_path.as_bytes(), b":", v].concat(),
            None => real_path.as_bytes().to_vec(),
        };
        let socket = match (&case.socket, fresh) {
            (_, false) => self.operator.clone().into_bytes(),
            (Some(v), true) if n % 2 == 1 => [v, format!("{n}").as_bytes(), v].concat(),
            (Some(v), true) => [format!("hbf{n}-").as_bytes(), v].concat(),
            (None, true) => format!("hbf-{}-{n}", std::process::id()).into_bytes(),
        };

        // The launcher's rules, in its order.
        let nl = |v: &[u8]| v.contains(&b'\n');
        let mut refused = None;
        let mut refuse = |why: &str| {
            if refused.is_none() {
                refused = Some(why.to_string());
            }
        };
        if nl(&dir) || !holdable(&dir) {
            refuse("--dir");
        }
        if !holdable(&workdir) {
            refuse("--workdir");
        }
        if nl(&log) || !holdable(&log) {
            refuse("--log");
        }
        if fresh {
            let s = &socket;
            let sock_path = [socket_dir().as_os_str().as_bytes(), b"/", s].concat();
            if s.is_empty()
                || s == b"."
                || s == b".."
                || s.contains(&b'/')
                || s.contains(&b',')
                || nl(s)
                || sock_path.len() > SOCKET_PATH_MAX
            {
                refuse("-L");
            }
        }
        let size = self.command_size(&name, &dir, &path, &argv);
        if size > TMUX_COMMAND_MAX {
            refuse(&format!("the command: {size} bytes"));
        }
        Plan {
            name,
            argv,
            workdir_arg,
            dir_arg,
            log_arg,
            workdir,
            dir,
            log,
            path,
            socket,
            rec,
            refused,
        }
    }

    /// The bytes tmux's client sends for the launcher's new-session
    /// (each argument defused, plus its NUL).
    fn command_size(&self, name: &str, dir: &[u8], path: &[u8], argv: &[Vec<u8>]) -> usize {
        // The launcher's `command -v env` under the case's PATH, from the
        // sandbox root.
        let env = path
            .split(|&b| b == b':')
            .map(|d| {
                let d = if d.is_empty() { b"." } else { d };
                let d = PathBuf::from(osv(d));
                if d.is_absolute() {
                    d.join("env")
                } else {
                    self.sb.root.join(d).join("env")
                }
            })
            .find(|p| is_exe(p))
            .map(|p| p.into_os_string().into_vec())
            .unwrap_or_default();
        let mut args: Vec<Vec<u8>> = [
            "new-session",
            "-d",
            "-s",
            name,
            "-e",
            &format!("MOSAIC_AGENT_NAME={name}"),
            "-e",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        args.push([b"MOSAIC_HEARTBEAT_DIR=", dir].concat());
        args.extend(
            ["-e", "MOSAIC_HEARTBEAT_INTERVAL=30", "-e"]
                .iter()
                .map(|s| s.as_bytes().to_vec()),
        );
        args.push([b"PATH=", path].concat());
        args.extend(
            [
                "-e",
                "CLINE_SESSION_BACKEND_MODE=local",
                "-P",
                "-F",
                "#{pane_pid}",
                "--",
            ]
            .iter()
            .map(|s| s.as_bytes().to_vec()),
        );
        args.push(env);
        args.push(b"--".to_vec());
        args.extend(argv.iter().cloned());
        args.iter()
            .map(|a| a.len() + 1 + usize::from(a.ends_with(b";")))
            .sum()
    }

    /// Runs one case through the launcher and checks everything.
    fn run(&self, case: &Case, fresh: bool) {
        let p = self.plan(case, fresh);
        let what = format!(
            "case {} ({}), {} server, socket {}",
            p.name,
            case.label,
            if fresh { "a fresh" } else { "the operator's" },
            lossy(&p.socket)
        );
        let mut c = bare(START);
        c.env_remove("TMUX")
            .env("HB_BIN", Path::new(WRITE).parent().unwrap())
            .env("HOME", &self.sb.root)
            .env("PATH", osv(&p.path))
            .current_dir(&self.sb.root)
            .arg("-L")
            .arg(osv(&p.socket))
            .args(["--interval", "30", "--dir"])
            .arg(osv(&p.dir_arg));
        if let Some(w) = &p.workdir_arg {
            c.arg("--workdir").arg(osv(w));
        }
        if let Some(l) = &p.log_arg {
            c.arg("--log").arg(osv(l));
        }
        c.arg(&p.name).arg("--").args(p.argv.iter().map(|a| osv(a)));
        if fresh {
            self.fresh.borrow_mut().push(p.socket.clone());
        }
        let before = self.sb.snapshot();
        let r = Run::of(&mut c, &self.sb);
        let detail = || {
            format!(
                "{what}\nvalues: argv0 {:?} args {:?} workdir {:?} dir {:?} log {:?} path {:?}\n{}",
                case.argv0.as_deref().map(lossy),
                case.args.iter().map(|a| lossy(a)).collect::<Vec<_>>(),
                case.workdir.as_deref().map(lossy),
                case.dir.as_deref().map(lossy),
                case.log.as_deref().map(lossy),
                case.path.as_deref().map(lossy),
                r.explain()
            )
        };
        if let Some(why) = &p.refused {
            self.refused.set(self.refused.get() + 1);
            assert_eq!(
                r.code(),
                Some(2),
                "expected a refusal ({why})\n{}",
                detail()
            );
            let err = r.stderr();
            assert!(
                err.starts_with("start-agent-session.sh: error: ") && err.lines().count() == 1,
                "a refusal is one line\n{}",
                detail()
            );
            assert_eq!(
                self.sb.snapshot(),
                before,
                "a refusal touched files\n{}",
                detail()
            );
            if fresh {
                let sock = [socket_dir().as_os_str().as_bytes(), b"/", &p.socket].concat();
                assert!(
                    fs::symlink_metadata(osv(&sock)).is_err(),
                    "a refusal started a tmux server\n{}",
                    detail()
                );
            }
        } else {
            self.started.set(self.started.get() + 1);
            assert_eq!(r.code(), Some(0), "expected a start\n{}", detail());
            self.check_agent(&p, &r, &detail);
        }
        self.no_canary(&detail());
        self.operator_survived(&detail());
    }

    fn check_agent(&self, p: &Plan, r: &Run, detail: &dyn Fn() -> String) {
        let rec = |ext: &str| p.rec.with_extension(ext);
        poll(&format!("the probe of {}", p.name), LONG, || {
            rec("done").exists().then_some(())
        });
        let want: Vec<u8> = p
            .argv
            .iter()
            .flat_map(|a| a.iter().copied().chain([0]))
            .collect();
        let got = fs::read(rec("argv")).unwrap();
        assert!(
            got == want,
            "argv changed on the way:\n got {:?}\nwant {:?}\n{}",
            got.split(|&b| b == 0).map(lossy).collect::<Vec<_>>(),
            want.split(|&b| b == 0).map(lossy).collect::<Vec<_>>(),
            detail()
        );
        let cwd = fs::read(rec("cwd")).unwrap();
        let real = fs::canonicalize(osv(&p.workdir)).unwrap();
        same(
            &cwd,
            &[real.as_os_str().as_bytes(), b"\0"].concat(),
            "working directory",
            detail,
        );
        let env: BTreeMap<Vec<u8>, Vec<u8>> = fs::read(rec("env"))
            .unwrap()
            .split(|&b| b == 0)
            .filter_map(|kv| {
                let eq = kv.iter().position(|&b| b == b'=')?;
                Some((kv[..eq].to_vec(), kv[eq + 1..].to_vec()))
            })
            .collect();
        let mosaic: Vec<&Vec<u8>> = env.keys().filter(|k| k.starts_with(b"MOSAIC_")).collect();
        assert_eq!(
            mosaic,
            [
                &b"MOSAIC_AGENT_NAME".to_vec(),
                &b"MOSAIC_HEARTBEAT_DIR".to_vec(),
                &b"MOSAIC_HEARTBEAT_INTERVAL".to_vec()
            ],
            "MOSAIC_* variables\n{}",
            detail()
        );
        let var = |k: &str| env.get(k.as_bytes()).cloned().unwrap_or_default();
        same(
            &var("MOSAIC_AGENT_NAME"),
            p.name.as_bytes(),
            "MOSAIC_AGENT_NAME",
            detail,
        );
        same(
            &var("MOSAIC_HEARTBEAT_DIR"),
            &p.dir,
            "MOSAIC_HEARTBEAT_DIR",
            detail,
        );
        same(
            &var("MOSAIC_HEARTBEAT_INTERVAL"),
            b"30",
            "MOSAIC_HEARTBEAT_INTERVAL",
            detail,
        );
        same(&var("PATH"), &p.path, "PATH", detail);
        same(&var("PWD"), &p.workdir, "PWD", detail);
        let tmux_var = env.get(&b"TMUX"[..]).cloned().unwrap_or_default();
        let sock = [socket_dir().as_os_str().as_bytes(), b"/", &p.socket, b","].concat();
        assert!(
            tmux_var.starts_with(&sock),
            "TMUX {} names another socket\n{}",
            lossy(&tmux_var),
            detail()
        );
        // The launcher's report, the sidecar's beat and its log.
        // Lines of bytes: the paths need not be UTF-8.
        let f: BTreeMap<&[u8], &[u8]> = r
            .out
            .stdout
            .split(|&b| b == b'\n')
            .filter_map(|l| {
                let eq = l.iter().position(|&b| b == b'=')?;
                Some((&l[..eq], &l[eq + 1..]))
            })
            .collect();
        let field = |k: &str| f.get(k.as_bytes()).copied().unwrap_or_default();
        let beat = [&p.dir[..], b"/", p.name.as_bytes(), b".hb"].concat();
        same(field("beat"), &beat, "the printed beat", detail);
        same(field("log"), &p.log, "the printed log", detail);
        same(field("socket"), &p.socket, "the printed socket", detail);
        assert!(fs::metadata(osv(&p.log)).is_ok(), "no log\n{}", detail());
        let pane = String::from_utf8_lossy(field("pane_pid")).into_owned();
        let sidecar: u32 = String::from_utf8_lossy(field("sidecar_pid"))
            .parse()
            .unwrap();
        // The agent exits at once: its sidecar records that and goes, so
        // nothing writes into the sandbox during the next case.
        let b = poll("the exited beat", LONG, || {
            fs::read_to_string(osv(&beat))
                .ok()
                .map(|b| fields(&b))
                .filter(|b| b.get("status").map(String::as_str) == Some("exited"))
        });
        assert_eq!(b["pid"], pane, "{}", detail());
        poll("the sidecar to go", LONG, || {
            (!Path::new(&format!("/proc/{sidecar}")).exists()).then_some(())
        });
    }

    /// Each piece alone, in every context at once where it is accepted,
    /// and alone in each context where it is not (so one refusal cannot
    /// hide the others). After a separator piece come a canary command
    /// and nothing else, so a cut there would run it.
    fn one_by_one(&self, fresh: bool) {
        for (label, v) in &self.pieces {
            let canary_cmd = format!("touch {}", self.canary.join("hit").display());
            let mut all = Case {
                label: format!("{label} everywhere"),
                ..Case::default()
            };
            for ctx in CONTEXTS {
                if ctx == Ctx::Socket && !fresh {
                    continue;
                }
                if ctx == Ctx::Argv0 && v.len() > 255 {
                    continue; // no file name can be that long
                }
                let mut alone = Case {
                    label: format!("{label} in {ctx:?}"),
                    ..Case::default()
                };
                alone.set(ctx, v.clone());
                if self.would_refuse(&alone, fresh) {
                    self.run(&alone, fresh);
                } else {
                    all.set(ctx, v.clone());
                }
            }
            all.args.push(b"run-shell".to_vec());
            all.args.push(canary_cmd.into_bytes());
            self.run(&all, fresh);
        }
        // And every piece at once, as arguments of one launch.
        let mut batch = Case {
            label: "every piece as an argument".into(),
            ..Case::default()
        };
        for (_, v) in &self.pieces {
            batch.args.push(v.clone());
        }
        self.run(&batch, fresh);
    }

    /// Values of 1 to 3 pieces in random contexts.
    fn random(&self, fresh: bool, rng: &mut fastrand::Rng, cases: usize) {
        let canary_cmd = format!("touch {}", self.canary.join("hit").display());
        for i in 0..cases {
            let mut case = Case {
                label: format!("random {i}"),
                ..Case::default()
            };
            let value = |rng: &mut fastrand::Rng, short: bool| -> Vec<u8> {
                let k = rng.usize(1..=3);
                let mut v = Vec::new();
                for _ in 0..k {
                    let (_, p) = &self.pieces[rng.usize(..self.pieces.len())];
                    if !(short && p.len() > 255) {
                        v.extend_from_slice(p);
                    }
                }
                v
            };
            for ctx in CONTEXTS {
                if (ctx == Ctx::Socket && !fresh) || rng.u8(..4) == 0 {
                    continue;
                }
                if ctx == Ctx::Arg {
                    for _ in 0..rng.usize(1..=8) {
                        let v = value(rng, false);
                        let sep = v.ends_with(b";");
                        case.args.push(v);
                        if sep {
                            case.args.push(b"run-shell".to_vec());
                            case.args.push(canary_cmd.clone().into_bytes());
                        }
                    }
                } else {
                    let v = value(rng, ctx == Ctx::Argv0);
                    if !(ctx == Ctx::Argv0 && v.is_empty()) {
                        case.set(ctx, v);
                    }
                }
            }
            self.run(&case, fresh);
        }
    }

    fn summary(&self) {
        eprintln!(
            "hostile corpus: {} cases started, {} refused",
            self.started.get(),
            self.refused.get()
        );
    }

    /// The size of the launcher's new-session for `case`.
    fn would_size(&self, case: &Case) -> usize {
        let p = self.plan(case, false);
        self.n.set(self.n.get() - 1);
        let dir = &p.dir;
        self.command_size(&p.name, dir, &p.path, &p.argv)
    }

    /// The plan's verdict, without consuming a case number.
    fn would_refuse(&self, case: &Case, fresh: bool) -> bool {
        let mut dry = case.clone();
        dry.argv0 = None; // planning an argv0 makes its symlink
        let refused = self.plan(&dry, fresh).refused.is_some();
        self.n.set(self.n.get() - 1);
        refused
    }
}

impl Drop for Corpus {
    fn drop(&mut self) {
        let mut sockets = self.fresh.borrow().clone();
        sockets.push(self.operator.clone().into_bytes());
        for s in sockets {
            let _ = self.tmux_on(&s).arg("kill-server").output();
            let _ = fs::remove_file(osv(
                &[socket_dir().as_os_str().as_bytes(), b"/", &s].concat()
            ));
        }
    }
}

fn seed() -> u64 {
    let seed = std::env::var("HB_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("hostile corpus: HB_HOSTILE_SEED={seed}");
    seed
}

fn cases() -> usize {
    std::env::var("HB_HOSTILE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12)
}

#[test]
fn the_corpus_against_an_operators_server_started_before() {
    let c = Corpus::new("hostile-op");
    c.one_by_one(false);
    c.random(false, &mut fastrand::Rng::with_seed(seed()), cases());
    c.summary();
}

#[test]
fn the_corpus_against_fresh_servers() {
    let c = Corpus::new("hostile-fresh");
    c.one_by_one(true);
    c.random(true, &mut fastrand::Rng::with_seed(seed()), cases());
    c.summary();
}

#[test]
fn the_canaries_fire_and_arguments_change_when_tmux_gets_the_raw_values() {
    // The control: what the corpus guards against is real in this tmux,
    // so a launcher that handed values over raw would fail the corpus.
    let c = Corpus::new("hostile-raw");
    let hit = |k: &str| c.canary.join(k);
    let raw = |args: &[&std::ffi::OsStr]| {
        let o = c
            .tmux_on(c.operator.as_bytes())
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {o:?}");
    };
    // An argument ending in `;` ends the command; what follows runs.
    let touch1 = format!("touch {}", hit("sep").display());
    raw(&[
        os("new-session"),
        os("-d"),
        os("-s"),
        os("raw1"),
        os("--"),
        os("sleep"),
        os("600;"),
        os("run-shell"),
        os(&touch1),
    ]);
    poll("the separator's canary", LONG, || {
        hit("sep").exists().then_some(())
    });
    // `-c` is a format: `#(...)` in a directory name runs.
    let wd =
        c.sb.root
            .join(format!("wd#(touch {})", hit("cwd").display()));
    raw(&[
        os("new-session"),
        os("-d"),
        os("-s"),
        os("raw2"),
        os("-c"),
        wd.as_os_str(),
        os("sleep"),
        os("600"),
    ]);
    poll("the directory's canary", LONG, || {
        hit("cwd").exists().then_some(())
    });
    // An argument ending in `\;` arrives without its backslash.
    let rec = c.sb.root.join("raw-rec");
    let recorder = c.recorder.clone();
    raw(&[
        os("new-session"),
        os("-d"),
        os("-s"),
        os("raw3"),
        os("--"),
        c.bash.as_os_str(),
        os("-c"),
        os(&recorder),
        rec.as_os_str(),
        os("a\\;"),
    ]);
    poll("the raw probe", LONG, || {
        rec.with_extension("done").exists().then_some(())
    });
    let argv = fs::read(rec.with_extension("argv")).unwrap();
    assert!(argv.ends_with(b"\0a;\0"), "{}", lossy(&argv));
    c.operator_survived("the raw control");
}

#[test]
fn a_command_as_long_as_tmux_carries_starts_and_one_byte_more_is_refused() {
    let c = Corpus::new("hostile-size");
    let mut case = Case {
        label: "the longest command".into(),
        args: vec![Vec::new()],
        ..Case::default()
    };
    // Plan once to measure, then fill the one argument up to the limit.
    let base = c.would_size(&case);
    case.args = vec![vec![b'x'; TMUX_COMMAND_MAX - base]];
    assert_eq!(c.would_size(&case), TMUX_COMMAND_MAX);
    assert!(!c.would_refuse(&case, false));
    c.run(&case, false);
    case.label = "one byte more".into();
    case.args[0].push(b'x');
    assert!(c.would_refuse(&case, false));
    c.run(&case, false);
}

#[test]
fn stop_finds_a_hostile_directory_from_the_session_and_refuses_bad_socket_names() {
    const STOP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stop-agent-session.sh");
    let c = Corpus::new("hostile-stop");
    let script = |path: &str| {
        let mut cmd = bare(path);
        cmd.env_remove("TMUX")
            .env("HB_BIN", Path::new(WRITE).parent().unwrap())
            .env("HOME", &c.sb.root)
            .current_dir(&c.sb.root);
        cmd
    };
    let hit = c.canary.join("hit");
    let dir = c.sb.root.join(format!(
        "it's \"hb\" #{{pane_pid}} ##%1 #(touch {}) ünï;",
        hit.display()
    ));
    let mut start = script(START);
    start
        .args(["-L", &c.operator, "--interval", "30", "--dir"])
        .arg(&dir)
        .args(["w-stop", "--", "bash", "-c", "exec sleep 600", "x;"]);
    Run::of(&mut start, &c.sb).expect(0);
    let beat = dir.join("w-stop.hb");
    assert!(beat.exists());

    // No --dir: the stop script reads it back from the session, exactly.
    let mut stop = script(STOP);
    stop.args(["-L", &c.operator, "--remove", "w-stop"]);
    let r = Run::of(&mut stop, &c.sb);
    r.expect(0);
    assert!(r.stdout().contains("stopped w-stop"), "{}", r.explain());
    assert!(!beat.exists() && dir.is_dir(), "{}", r.explain());
    c.no_canary("stop");
    c.operator_survived("stop");

    let before = c.sb.snapshot();
    for bad in ["", ".", "..", "a/b", "a,b", "a\nb"] {
        let mut stop = script(STOP);
        stop.args(["-L", bad, "w-stop"]);
        Run::of(&mut stop, &c.sb)
            .expect(2)
            .one_error_line("stop-agent-session.sh: error: -L");
    }
    assert_eq!(c.sb.snapshot(), before);
}

#[test]
fn a_lone_hostile_command_word_runs_as_itself_never_through_a_shell() {
    // tmux runs a one-word command as `$SHELL -c WORD`: each piece as the
    // name of a command given alone must still just run that file. The
    // file is a probe script; its `$0` is the hostile path it was run by.
    let c = Corpus::new("hostile-lone");
    let probe = c.sb.root.join("probe");
    fs::write(&probe, format!("#!{}\n{}\n", c.bash.display(), c.recorder)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o755)).unwrap();
    let launch = |k: usize, v: &[u8]| {
        let word = [
            c.sb.root.as_os_str().as_bytes(),
            format!("/lone{k}/").as_bytes(),
            v,
        ]
        .concat();
        let word = PathBuf::from(osv(&word));
        fs::create_dir_all(word.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&probe, &word).unwrap();
        let mut cmd = bare(START);
        cmd.env_remove("TMUX")
            .env("HB_BIN", Path::new(WRITE).parent().unwrap())
            .env("HOME", &c.sb.root)
            .current_dir(&c.sb.root)
            .args(["-L", &c.operator, "--interval", "30", "--dir"])
            .arg(c.sb.root.join("hb"))
            .args([&format!("w-lone{k}"), "--"])
            .arg(&word);
        let r = Run::of(&mut cmd, &c.sb);
        r.expect(0);
        let rec = |ext: &str| {
            let mut p = word.clone().into_os_string();
            p.push(format!(".{ext}"));
            PathBuf::from(p)
        };
        poll("the lone probe", LONG, || {
            rec("done").exists().then_some(())
        });
        let want = [
            c.bash.as_os_str().as_bytes(),
            b"\0",
            word.as_os_str().as_bytes(),
            b"\0",
        ]
        .concat();
        same(
            &fs::read(rec("argv")).unwrap(),
            &want,
            "a lone command's argv",
            &|| r.explain(),
        );
        c.no_canary(&r.explain());
        c.operator_survived(&r.explain());
    };
    for (k, (_, v)) in c.pieces.iter().enumerate() {
        if v.len() <= 255 {
            launch(k, v);
        }
    }
}
