// Drives the compiled extension's handlers as Pi would and checks the beats
// the real hb-write leaves. Needs HB_WRITE (the hb-write binary); run by
// tests/pi.rs after `tsc -p tsconfig.json`.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const HB_WRITE = process.env.HB_WRITE;
assert.ok(HB_WRITE, "HB_WRITE must name the hb-write binary");
const NAME = "w-pi";

function sandbox() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hb-pi-"));
  return { dir, beat: path.join(dir, `${NAME}.hb`), marker: path.join(dir, `${NAME}.hb.native`) };
}

function fields(file) {
  return Object.fromEntries(
    fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
}

/** Loads the extension into a fake Pi that records its handlers. */
async function load(env, version = "0.79.9") {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    const mod = await import(`../dist/mosaic-heartbeat.js?${Math.random()}`);
    const handlers = new Map();
    const pi = { on: (event, handler) => handlers.set(event, handler) };
    // The default export asks Pi its version (an import only Pi itself
    // resolves cheaply); the handlers are the same as register's.
    assert.equal(typeof mod.default, "function");
    mod.register(pi, version);
    return handlers;
  } finally {
    process.env = saved;
  }
}

const ctx = (id) => ({ model: id === undefined ? undefined : { id, provider: "test", name: id } });

test("beats follow the agent's turns and model", async () => {
  const sb = sandbox();
  const env = {
    MOSAIC_AGENT_NAME: NAME,
    MOSAIC_HB_WRITE: HB_WRITE,
    MOSAIC_HEARTBEAT_DIR: sb.dir,
    MOSAIC_HEARTBEAT_INTERVAL: "10",
  };
  const h = await load(env);
  assert.deepEqual(
    [...h.keys()].sort(),
    [
      "agent_end",
      "agent_start",
      "model_select",
      "session_shutdown",
      "session_start",
      "ui_prompt_end",
      "ui_prompt_start",
    ],
  );
  // hb-write reads the directory from the environment at call time.
  Object.assign(process.env, env);

  await h.get("session_start")({ type: "session_start", reason: "startup" }, ctx("glm-5.2"));
  let b = fields(sb.beat);
  assert.equal(b.status, "ok");
  assert.equal(b.model, "glm-5.2");
  assert.equal(b.pid, String(process.pid));
  assert.ok(fs.statSync(sb.marker).isFile(), "native marker");

  await h.get("agent_start")({ type: "agent_start" }, ctx("glm-5.2"));
  b = fields(sb.beat);
  assert.equal(b.status, "busy");
  assert.equal(b.model, "glm-5.2");

  // A model switch mid-turn: new model, still busy.
  await h.get("model_select")(
    { type: "model_select", model: { id: 'opus "4" \\ x' }, previousModel: { id: "glm-5.2" }, source: "set" },
    ctx('opus "4" \\ x'),
  );
  b = fields(sb.beat);
  assert.equal(b.status, "busy");
  assert.equal(b.model, 'opus "4" \\ x');

  // No model in the context: the last one is kept.
  await h.get("agent_end")({ type: "agent_end", messages: [] }, ctx(undefined));
  b = fields(sb.beat);
  assert.equal(b.status, "ok");
  assert.equal(b.model, 'opus "4" \\ x');

  // A model hb-write would refuse is left out, the beat still lands.
  await h.get("agent_start")({ type: "agent_start" }, ctx("bad\nmodel"));
  b = fields(sb.beat);
  assert.equal(b.status, "busy");
  assert.equal(b.model, 'opus "4" \\ x');

  const before = fs.readFileSync(sb.beat, "utf8");
  await h.get("session_shutdown")({ type: "session_shutdown", reason: "quit" }, ctx("glm-5.2"));
  assert.equal(fs.existsSync(sb.marker), false, "marker cleared");
  assert.equal(fs.readFileSync(sb.beat, "utf8"), before, "beat left for the sidecar");
});

test("a busy turn keeps beating every interval", async () => {
  const sb = sandbox();
  const env = {
    MOSAIC_AGENT_NAME: NAME,
    MOSAIC_HB_WRITE: HB_WRITE,
    MOSAIC_HEARTBEAT_DIR: sb.dir,
    MOSAIC_HEARTBEAT_INTERVAL: "1",
  };
  const h = await load(env);
  Object.assign(process.env, env);
  await h.get("agent_start")({ type: "agent_start" }, ctx("glm-5.2"));
  const first = Number(fields(sb.beat).ts);
  const deadline = Date.now() + 5000;
  let ts = first;
  while (ts <= first && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    ts = Number(fields(sb.beat).ts);
  }
  assert.ok(ts > first, "no beat from the timer within 5 s");
  assert.equal(fields(sb.beat).status, "busy");
  await h.get("session_shutdown")({ type: "session_shutdown", reason: "quit" }, ctx(undefined));
});

test("without MOSAIC_AGENT_NAME the extension stays out of the way", async () => {
  const h = await load({ MOSAIC_AGENT_NAME: undefined });
  assert.equal(h.size, 0);
});

test("a missing hb-write never throws into Pi", async () => {
  const sb = sandbox();
  const env = {
    MOSAIC_AGENT_NAME: NAME,
    MOSAIC_HB_WRITE: path.join(sb.dir, "no-such-hb-write"),
    MOSAIC_HEARTBEAT_DIR: sb.dir,
  };
  const h = await load(env);
  await h.get("agent_start")({ type: "agent_start" }, ctx("glm-5.2"));
  await h.get("session_shutdown")({ type: "session_shutdown", reason: "quit" }, ctx(undefined));
  assert.equal(fs.existsSync(sb.beat), false);
});

test("from 0.80.4 the run ends at agent_settled: agent_end comes before retries", async () => {
  const { hasAgentSettled } = await import(`../dist/mosaic-heartbeat.js?${Math.random()}`);
  for (const v of ["0.80.4", "0.81.0", "1.6.0", "2.0.0-beta.1"]) assert.ok(hasAgentSettled(v), v);
  for (const v of ["0.79.9", "0.80.3", "0.73.1", "", "x"]) assert.ok(!hasAgentSettled(v), v);
  const sb = sandbox();
  const env = {
    MOSAIC_AGENT_NAME: NAME,
    MOSAIC_HB_WRITE: HB_WRITE,
    MOSAIC_HEARTBEAT_DIR: sb.dir,
    MOSAIC_HEARTBEAT_INTERVAL: "10",
  };
  const h = await load(env, "1.6.0");
  assert.ok(h.has("agent_settled") && !h.has("agent_end"), [...h.keys()].join(" "));
  Object.assign(process.env, env);
  await h.get("agent_start")({ type: "agent_start" }, ctx("glm-5.2"));
  assert.equal(fields(sb.beat).status, "busy");
  await h.get("agent_settled")({ type: "agent_settled", aborted: false }, ctx("glm-5.2"));
  assert.equal(fields(sb.beat).status, "ok");
  assert.equal(fields(sb.beat).model, "glm-5.2");
});

test("a blocking dialog is waiting, then the status it interrupted", async () => {
  const sb = sandbox();
  const env = {
    MOSAIC_AGENT_NAME: NAME,
    MOSAIC_HB_WRITE: HB_WRITE,
    MOSAIC_HEARTBEAT_DIR: sb.dir,
    MOSAIC_HEARTBEAT_INTERVAL: "10",
  };
  const h = await load(env, "1.6.0");
  Object.assign(process.env, env);
  await h.get("agent_start")({ type: "agent_start" }, ctx("glm-5.2"));
  await h.get("ui_prompt_start")({ type: "ui_prompt_start", reason: "ui_prompt", kind: "confirm" }, ctx("glm-5.2"));
  assert.equal(fields(sb.beat).status, "waiting");
  await h.get("ui_prompt_end")({ type: "ui_prompt_end" }, ctx("glm-5.2"));
  assert.equal(fields(sb.beat).status, "busy");
});
