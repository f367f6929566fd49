/**
 * mosaic heartbeat for Pi: the agent's own turn state and model, written as
 * native beats by `hb-write` (the same contract `hb-read` and `fleet ps`
 * read), so the sidecar defers to it.
 *
 * - session_start: `ok` with ctx.model, and a beat every interval after
 *   that, so a long turn is never taken for a dead writer;
 * - agent_start: `busy`; the run's end: `ok` (with ctx.model). The end is
 *   `agent_settled` where Pi has it (0.80.4 on): from 1.x `agent_end` also
 *   fires before each automatic retry's backoff, mid-work. Older versions
 *   have only `agent_end`;
 * - ui_prompt_start: `waiting` (an extension dialog blocks the run);
 *   ui_prompt_end: the status before it;
 * - model_select: the new model, status unchanged;
 * - session_shutdown: `hb-write --clear-native`, the sidecar takes over.
 *
 * Inert unless MOSAIC_AGENT_NAME is set (the launcher puts it in the pane).
 * MOSAIC_HB_WRITE names the hb-write binary (default: `hb-write` on PATH);
 * MOSAIC_HEARTBEAT_DIR and MOSAIC_HEARTBEAT_INTERVAL reach hb-write through
 * the environment. A failing hb-write never disturbs the agent: its errors
 * are dropped, the next beat tries again.
 */
import type { ExtensionAPI, ExtensionContext } from "@earendil-works/pi-coding-agent";
import { execFile } from "node:child_process";

type Status = "ok" | "busy" | "waiting";
type ModelLike = ExtensionContext["model"];

/** hb-write refuses a model it cannot store; send none rather than lose the beat. */
export function modelName(model: ModelLike): string | undefined {
  const id = model?.id;
  if (typeof id !== "string") return undefined;
  const ok =
    id.length > 0 &&
    Buffer.byteLength(id, "utf8") <= 128 &&
    id === id.trim() &&
    !/[\u0000-\u001f\u007f-\u009f]/.test(id);
  return ok ? id : undefined;
}

/** Does this Pi fire `agent_settled` (0.80.4 and later)? */
export function hasAgentSettled(version: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return major > 0 || minor > 80 || (minor === 80 && patch >= 4);
}

/** `pi.on` for the events older Pi's types do not declare (the extension
 * is type-checked against 0.79.9 and the latest). */
type OnLater = (
  event: "agent_settled" | "ui_prompt_start" | "ui_prompt_end",
  handler: (event: unknown, ctx: ExtensionContext) => unknown,
) => unknown;

function intervalSeconds(): number {
  const n = Number(process.env.MOSAIC_HEARTBEAT_INTERVAL ?? "10");
  return Number.isInteger(n) && n >= 1 && n <= 86400 ? n : 10;
}

export default async function mosaicHeartbeat(pi: ExtensionAPI): Promise<void> {
  register(pi, await piVersion());
}

/** The running Pi's version. Inside Pi the import is Pi's own, already
 * loaded module; anywhere else it may fail, and then the extension keeps
 * to the events every version has. */
async function piVersion(): Promise<string> {
  try {
    return (await import("@earendil-works/pi-coding-agent")).VERSION;
  } catch {
    return "";
  }
}

/** The extension for a Pi of this version (a parameter for the tests). */
export function register(pi: ExtensionAPI, version: string): void {
  const name = process.env.MOSAIC_AGENT_NAME;
  if (!name) return;
  const settles = hasAgentSettled(version);
  const onLater = pi.on.bind(pi) as unknown as OnLater;
  const bin = process.env.MOSAIC_HB_WRITE || "hb-write";

  let status: Status = "ok";
  let model: string | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  // One hb-write at a time, in event order: a slow `busy` must never land
  // after the `ok` that followed it.
  let queue: Promise<void> = Promise.resolve();

  const hbWrite = (args: string[]): Promise<void> => {
    queue = queue.then(
      () =>
        new Promise<void>((resolve) => {
          execFile(bin, args, { timeout: 5000, windowsHide: true }, () => resolve());
        }),
    );
    return queue;
  };

  const beat = (): Promise<void> => {
    const args = ["--native", "--status", status, "--pid", String(process.pid)];
    if (model !== undefined) args.push("--model", model);
    args.push(name);
    return hbWrite(args);
  };

  const startTimer = () => {
    if (timer !== undefined) return;
    timer = setInterval(() => void beat(), intervalSeconds() * 1000);
    timer.unref();
  };
  const stopTimer = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };

  pi.on("session_start", (_event, ctx) => {
    status = "ok";
    model = modelName(ctx.model) ?? model;
    startTimer();
    return beat();
  });

  pi.on("agent_start", (_event, ctx) => {
    status = "busy";
    model = modelName(ctx.model) ?? model;
    startTimer();
    return beat();
  });

  const runEnded = (ctx: ExtensionContext) => {
    status = "ok";
    model = modelName(ctx.model) ?? model;
    return beat();
  };
  if (settles) {
    onLater("agent_settled", (_event, ctx) => runEnded(ctx));
  } else {
    pi.on("agent_end", (_event, ctx) => runEnded(ctx));
  }

  // A blocking dialog: waiting until it closes, then what it interrupted.
  let beforePrompt: Status = "ok";
  onLater("ui_prompt_start", () => {
    if (status !== "waiting") beforePrompt = status;
    status = "waiting";
    return beat();
  });
  onLater("ui_prompt_end", () => {
    status = beforePrompt;
    return beat();
  });

  pi.on("model_select", (event) => {
    model = modelName(event.model) ?? model;
    return beat();
  });

  pi.on("session_shutdown", () => {
    stopTimer();
    return hbWrite(["--clear-native", name]);
  });
}
