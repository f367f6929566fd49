/**
 * mosaic heartbeat for Pi: the agent's own turn state and model, written as
 * native beats by `hb-write` (the same contract `hb-read` and `fleet ps`
 * read), so the sidecar defers to it.
 *
 * - session_start: `ok` with ctx.model, and a beat every interval after
 *   that, so a long turn is never taken for a dead writer;
 * - agent_start: `busy`; agent_end: `ok` (with ctx.model);
 * - model_select: the new model, status unchanged;
 * - session_shutdown: `hb-write --clear-native`, the sidecar takes over.
 *
 * Inert unless MOSAIC_AGENT_NAME is set (the launcher puts it in the pane).
 * MOSAIC_HB_WRITE names the hb-write binary (default: `hb-write` on PATH);
 * MOSAIC_HEARTBEAT_DIR and MOSAIC_HEARTBEAT_INTERVAL reach hb-write through
 * the environment. A failing hb-write never disturbs the agent: its errors
 * are dropped, the next beat tries again.
 */
import type { ExtensionAPI, ExtensionContext } from "@mariozechner/pi-coding-agent";
import { execFile } from "node:child_process";

type Status = "ok" | "busy";
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

function intervalSeconds(): number {
  const n = Number(process.env.MOSAIC_HEARTBEAT_INTERVAL ?? "10");
  return Number.isInteger(n) && n >= 1 && n <= 86400 ? n : 10;
}

export default function mosaicHeartbeat(pi: ExtensionAPI): void {
  const name = process.env.MOSAIC_AGENT_NAME;
  if (!name) return;
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

  pi.on("agent_end", (_event, ctx) => {
    status = "ok";
    model = modelName(ctx.model) ?? model;
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
