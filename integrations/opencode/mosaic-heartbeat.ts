/**
 * mosaic heartbeat for OpenCode: the agent's own turn state and model,
 * written as native beats by `hb-write` (the contract `hb-read` reads), so
 * the sidecar defers to them and carries them while OpenCode is quiet.
 *
 * - plugin start: `ok`; the `config` hook: the configured model (all that
 *   names it before the first prompt);
 * - a prompt (`chat.message`), a tool about to run, `session.status` busy
 *   or retry: `busy`, until every session is idle again
 *   (`session.status` idle, `session.idle`): `ok`. A subagent's session
 *   is busy and idle on its own while its parent stays busy;
 * - `permission.asked` and `question.asked` (a dialog that blocks on the
 *   operator): `waiting` until its `*.replied` / `question.rejected`, or
 *   until its session goes idle;
 * - the model: from the first event that carries it (`chat.message`,
 *   `message.updated`, `chat.params`; not a subagent's, nor the title
 *   agent's), never dropped;
 * - `dispose` (`opencode run`'s end, the TUI's `/exit` in 1.18.33) and, in
 *   `opencode run`, `process.on("exit")`: `hb-write --clear-native`, the
 *   sidecar takes over at once. The TUI's plugin runs in a Worker, which
 *   has no process exit of its own: when nothing reaches it (OpenCode
 *   killed), the sidecar sees the process end and writes `exited`.
 *
 * Beats run one hb-write at a time, in event order, and only when the
 * status or the model changes. `--pid` is the runtime's process, or the
 * wrapper that started it for the session and carries the agent's name
 * (Kilo Code, an OpenCode fork that loads this same file: its node
 * `bin/kilo` spawns the native binary). Inert unless MOSAIC_AGENT_NAME is set (the
 * launcher puts it in the pane). MOSAIC_HB_WRITE names the binary
 * (default: `hb-write` on PATH); MOSAIC_HEARTBEAT_DIR reaches it through
 * the environment. No timer: between events the sidecar carries the last
 * state while OpenCode's process lives. OpenCode is never disturbed: no
 * handler throws, prints or waits for a beat; a failing or missing
 * hb-write is ignored (the next change tries again).
 *
 * OpenCode calls every export of a plugin file as a plugin, so the file
 * exports the plugin alone; its type comes from `@opencode-ai/plugin`,
 * which it needs only for the type check (the import is erased).
 */
import type { Hooks, Plugin } from "@opencode-ai/plugin";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

type Status = "ok" | "busy" | "waiting";
type Rec = Record<string, unknown>;

/** How long one hb-write may take before it is killed (it waits at most
 * 200 ms for the writer lock, so this is only a stuck binary). */
const WRITE_TIMEOUT_MS = 5000;
/** How long `dispose` waits for the last beats and the hand-back. */
const DISPOSE_WAIT_MS = 1000;
/** Agents that run on another model than the session's (the small model
 * names sessions and summarises them): their `chat.params` name no model. */
const SIDE_AGENTS = new Set(["title", "summary"]);

// Event members are read as unknown: OpenCode's bus sends more events than
// the plugin package's `Event` type names (`permission.asked`,
// `question.asked` are not in it), and a heartbeat must not trust shapes.
const rec = (v: unknown): Rec | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Rec) : undefined;
const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** hb-write refuses a model it cannot store; none rather than a lost beat. */
function modelName(id: unknown): string | undefined {
  if (typeof id !== "string") return undefined;
  const ok =
    id.length > 0 &&
    Buffer.byteLength(id, "utf8") <= 128 &&
    id === id.trim() &&
    !/[\u0000-\u001f\u007f-\u009f]/.test(id);
  return ok ? id : undefined;
}

/** The model of a `provider/model` reference (OpenCode splits at the first
 * slash: the model's own id may hold more). */
function configModel(ref: unknown): string | undefined {
  if (typeof ref !== "string") return undefined;
  const at = ref.indexOf("/");
  return modelName(at > 0 ? ref.slice(at + 1) : ref);
}

// --- whose pid the beat names ------------------------------------------------

/** What stands above a runtime and is never its wrapper (as hb-write's own
 * walk, src/hooks/agent_pid.rs). */
const SHELLS = new Set(["sh", "dash", "bash", "zsh", "ksh", "ksh93", "mksh", "ash", "busybox", "fish", "tcsh", "csh"]);
const REAPERS = new Set(["systemd", "init", "tini", "dumb-init", "catatonit", "docker-init", "s6-svscan", "s6-supervise", "runsv", "runsvdir", "supervisord", "launchd"]);
/** How many wrappers may stand above the process the plugin runs in. */
const MAX_WRAPPERS = 3;

/** `/proc/PID/stat`'s name and parent; undefined off Linux or once gone. */
function procStat(pid: number): { comm: string; ppid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "latin1");
    const close = s.lastIndexOf(")");
    const ppid = Number(s.slice(close + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? { comm: s.slice(s.indexOf("(") + 1, close), ppid } : undefined;
  } catch {
    return undefined;
  }
}

/** Does PID's environment hold this agent's name? */
function carriesName(pid: number, name: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`MOSAIC_AGENT_NAME=${name}`);
  } catch {
    return false;
  }
}

/** The agent's pid: this process, or the wrapper that started it for the
 * session (Kilo's node `bin/kilo`, the pane's process, spawns the native
 * binary the plugin runs in). Climbs while the parent is no shell or
 * reaper and carries the agent's name too, as hb-write's hooks do, so the
 * beat names the process the launcher started and the sidecar watches. */
function agentPid(name: string): number {
  let pid = process.pid;
  for (let i = 0; i < MAX_WRAPPERS; i++) {
    const ppid = procStat(pid)?.ppid;
    if (ppid === undefined || ppid <= 1) break;
    const up = procStat(ppid);
    if (!up || SHELLS.has(up.comm) || REAPERS.has(up.comm) || !carriesName(ppid, name)) break;
    pid = ppid;
  }
  return pid;
}

// --- one hb-write at a time, for the whole process ---------------------------

let queue: Promise<void> = Promise.resolve();
let running: ChildProcess | undefined;

/** Runs hb-write; true when it exited 0. Never rejects. */
function runWrite(bin: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(bin, args, { stdio: "ignore", windowsHide: true });
    } catch {
      resolve(false);
      return;
    }
    running = child;
    let done = false;
    const timer = setTimeout(() => child.kill("SIGKILL"), WRITE_TIMEOUT_MS);
    timer.unref?.();
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (running === child) running = undefined;
      resolve(ok);
    };
    child.once("error", () => finish(false));
    child.once("exit", (code) => finish(code === 0));
  });
}

function enqueue(bin: string, args: string[]): Promise<boolean> {
  const p = queue.then(() => runWrite(bin, args));
  queue = p.then(() => undefined);
  return p;
}

/** Live agents, for the exit handler (registered once per process). */
const live = new Set<() => void>();
let exitHooked = false;

function onExit(last: () => void): void {
  live.add(last);
  if (exitHooked) return;
  exitHooked = true;
  try {
    process.on("exit", () => {
      for (const f of live) f();
    });
  } catch {
    // No process events here: dispose and the sidecar still hand back.
  }
}

// --- the agent ---------------------------------------------------------------

function agent(name: string, bin: string): Hooks {
  const busy = new Set<string>(); // sessions in a turn
  const asks = new Map<string, string>(); // open dialogs: request id -> session
  const children = new Set<string>(); // subagents' sessions
  let model: string | undefined;
  let modelFromEvent = false;
  let last: string | undefined; // status and model of the last beat queued
  let closed = false; // no beat after the hand-back
  let handedBack = false; // the marker is gone
  const pid = agentPid(name);

  const status = (): Status => (asks.size > 0 ? "waiting" : busy.size > 0 ? "busy" : "ok");

  const beat = () => {
    if (closed) return;
    const s = status();
    const key = `${s}\n${model ?? ""}`;
    if (key === last) return;
    last = key;
    const args = ["--native", "--status", s, "--pid", String(pid)];
    if (model !== undefined) args.push("--model", model);
    args.push(name);
    void enqueue(bin, args).then((ok) => {
      // A beat that did not land is tried again at the next event.
      if (!ok && last === key) last = undefined;
    });
  };

  const setModel = (session: string | undefined, id: unknown) => {
    if (session !== undefined && children.has(session)) return;
    const m = modelName(id);
    if (m === undefined) return;
    model = m;
    modelFromEvent = true;
  };

  const idle = (session: string) => {
    busy.delete(session);
    // No dialog stays open in a session that is idle (an aborted turn).
    for (const [id, s] of asks) if (s === session) asks.delete(id);
  };

  const onEvent = (event: unknown) => {
    const e = rec(event);
    const p = rec(e?.properties) ?? {};
    const session = text(p.sessionID);
    switch (e?.type) {
      case "session.status": {
        const kind = rec(p.status)?.type;
        if (session === undefined) break;
        if (kind === "busy" || kind === "retry") busy.add(session);
        else if (kind === "idle") idle(session);
        break;
      }
      case "session.idle":
        if (session !== undefined) idle(session);
        break;
      case "session.created":
      case "session.updated": {
        const info = rec(p.info);
        const id = text(info?.id);
        if (id !== undefined && text(info?.parentID) !== undefined) children.add(id);
        break;
      }
      case "session.deleted": {
        const id = text(rec(p.info)?.id) ?? session;
        if (id !== undefined) {
          idle(id);
          children.delete(id);
        }
        break;
      }
      case "permission.asked": // OpenCode 1.x
      case "permission.updated": // older: the Permission itself
      case "question.asked": {
        const id = text(p.id);
        if (id !== undefined) asks.set(id, session ?? "");
        break;
      }
      case "permission.replied":
      case "question.replied":
      case "question.rejected": {
        const id = text(p.requestID) ?? text(p.permissionID);
        if (id !== undefined) asks.delete(id);
        break;
      }
      case "message.updated": {
        const info = rec(p.info);
        const s = text(info?.sessionID);
        if (info?.role === "user") setModel(s, rec(info.model)?.modelID);
        else if (info?.role === "assistant") setModel(s, info.modelID);
        break;
      }
      default:
        return;
    }
    beat();
  };

  /** The session ended: the sidecar takes the beat over at once. */
  let handing: Promise<boolean> | undefined;
  const handBack = (): Promise<boolean> => {
    closed = true;
    handing ??= enqueue(bin, ["--clear-native", name]).then((ok) => {
      handedBack = ok;
      if (ok) live.delete(atExit);
      return ok;
    });
    return handing;
  };

  // `opencode run` ends with process.exit: a write still queued would never
  // run, so the hand-back is made there and then, after any write in flight
  // (killed: a beat is whole or not written, never torn).
  const atExit = () => {
    if (handedBack) return;
    closed = handedBack = true;
    try {
      running?.kill("SIGKILL");
      spawnSync(bin, ["--clear-native", name], { stdio: "ignore", timeout: DISPOSE_WAIT_MS });
    } catch {
      // Nothing more can be done at exit; the sidecar sees the end.
    }
  };
  onExit(atExit);

  const guard =
    <A extends unknown[]>(f: (...a: A) => void) =>
    async (...a: A): Promise<void> => {
      try {
        f(...a);
      } catch {
        // Never into OpenCode.
      }
    };

  beat();
  return {
    config: guard((cfg) => {
      if (!modelFromEvent) model = configModel(cfg.model) ?? model;
      beat();
    }),
    "chat.message": guard((input, output) => {
      const s = text(input.sessionID);
      if (s === undefined) return;
      busy.add(s);
      setModel(s, input.model?.modelID ?? rec(rec(output?.message)?.model)?.modelID);
      beat();
    }),
    "chat.params": guard((input) => {
      if (!SIDE_AGENTS.has(input.agent)) setModel(text(input.sessionID), input.model?.id);
      beat();
    }),
    "tool.execute.before": guard((input) => {
      const s = text(input.sessionID);
      if (s === undefined) return;
      busy.add(s);
      beat();
    }),
    event: guard(({ event }) => onEvent(event)),
    dispose: async () => {
      try {
        await Promise.race([
          handBack(),
          new Promise((r) => setTimeout(r, DISPOSE_WAIT_MS).unref?.()),
        ]);
      } catch {
        // Never into OpenCode.
      }
    },
  };
}

const MosaicHeartbeat: Plugin = async () => {
  try {
    const name = process.env.MOSAIC_AGENT_NAME;
    if (!name) return {};
    return agent(name, process.env.MOSAIC_HB_WRITE || "hb-write");
  } catch {
    return {};
  }
};

export default MosaicHeartbeat;
