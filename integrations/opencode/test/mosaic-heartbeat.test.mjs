// Drives the compiled plugin's hooks as OpenCode does and checks the
// hb-write calls it makes (a recording stand-in) and the beats the real
// hb-write leaves. Needs HB_WRITE (the hb-write binary) and HB_FIXTURES
// (tests/fixtures/hooks/opencode: the hook calls and events real OpenCode
// runs handed their plugins); run by tests/opencode.rs after tsc.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HB_WRITE = process.env.HB_WRITE;
const FIXTURES = process.env.HB_FIXTURES;
assert.ok(HB_WRITE, "HB_WRITE must name the hb-write binary");
assert.ok(FIXTURES, "HB_FIXTURES must name tests/fixtures/hooks/opencode");
const NAME = "w-oc";
const MODEL = "hb-mock-model";
const DIST = fileURLToPath(new URL("../dist/mosaic-heartbeat.js", import.meta.url));
const { default: plugin } = await import(DIST);

function sandbox() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hb-opencode-"));
  return {
    dir,
    beat: path.join(dir, `${NAME}.hb`),
    marker: path.join(dir, `${NAME}.hb.native`),
    calls: path.join(dir, "calls"),
  };
}

/** A stand-in for hb-write that records each call's start and end, slow
 * enough that two calls would overlap if the plugin did not serialize. */
function recorder(sb) {
  const bin = path.join(sb.dir, "hb-write");
  fs.writeFileSync(
    bin,
    `#!/bin/sh\nprintf 'start %s\\n' "$*" >>'${sb.calls}'\nsleep 0.05\nprintf 'end %s\\n' "$*" >>'${sb.calls}'\n`,
    { mode: 0o755 },
  );
  return bin;
}

function fields(file) {
  return Object.fromEntries(
    fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
}

async function until(what, pred, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const got = pred();
    if (got) return got;
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The plugin as OpenCode starts it, with this environment (kept set:
 * hb-write reads the directory from it at each call). */
async function start(env) {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return plugin({ directory: "/nowhere", worktree: "/nowhere" });
}

const agentEnv = (sb, bin) => ({
  MOSAIC_AGENT_NAME: NAME,
  MOSAIC_HB_WRITE: bin,
  MOSAIC_HEARTBEAT_DIR: sb.dir,
  MOSAIC_HEARTBEAT_INTERVAL: "10",
});

/** The recorded calls, after checking that none overlapped another. */
async function calls(sb, count) {
  const lines = await until(`${count} hb-write calls`, () => {
    const l = fs.existsSync(sb.calls) ? fs.readFileSync(sb.calls, "utf8").split("\n").filter(Boolean) : [];
    return l.length >= 2 * count && l;
  });
  await new Promise((r) => setTimeout(r, 200)); // no call beyond those (not a wait for one)
  const all = fs.readFileSync(sb.calls, "utf8").split("\n").filter(Boolean);
  assert.equal(all.length, lines.length, `more calls than ${count}:\n${all.join("\n")}`);
  const out = [];
  for (let i = 0; i < all.length; i += 2) {
    assert.ok(all[i].startsWith("start ") && all[i + 1] === `end ${all[i].slice(6)}`, `overlapping calls:\n${all.join("\n")}`);
    out.push(all[i].slice(6));
  }
  return out;
}

const beatArgs = (status, model) =>
  `--native --status ${status} --pid ${process.pid}${model ? ` --model ${model}` : ""} ${NAME}`;

/** Replays a recorded stream of hook calls into the plugin's hooks. */
async function replay(hooks, file) {
  for (const line of fs.readFileSync(path.join(FIXTURES, file), "utf8").split("\n")) {
    if (!line.trim()) continue;
    const { hook, input, output } = JSON.parse(line);
    if (hook === "init") continue;
    if (hook === "event") await hooks.event({ event: input });
    else if (hook === "dispose") await hooks.dispose();
    else if (hooks[hook]) await hooks[hook](input, output ?? {});
  }
}

for (const [file, mode] of [
  ["run.jsonl", "opencode run --auto"],
  ["tui.jsonl", "the TUI, a permission held"],
  // Kilo Code 7.7.9 (an OpenCode fork) handed this same plugin these.
  ["../kilo/run.jsonl", "kilo run --auto"],
  ["../kilo/tui.jsonl", "Kilo's TUI, a permission held"],
  ["../kilo/esc.jsonl", "Kilo's TUI, a permission held, then Esc"],
]) {
  test(`${mode}: the recorded session's beats, one at a time, in event order`, async () => {
    const sb = sandbox();
    const hooks = await start(agentEnv(sb, recorder(sb)));
    await replay(hooks, file);
    assert.deepEqual(await calls(sb, 7), [
      beatArgs("ok"),
      beatArgs("ok", MODEL),
      beatArgs("busy", MODEL),
      beatArgs("waiting", MODEL),
      beatArgs("busy", MODEL),
      beatArgs("ok", MODEL),
      `--clear-native ${NAME}`,
    ]);
  });
}

test("the recorded TUI session with the real hb-write: each status lands", async () => {
  const sb = sandbox();
  const hooks = await start(agentEnv(sb, HB_WRITE));
  const lines = fs
    .readFileSync(path.join(FIXTURES, "tui.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  // The status each recorded hook call leaves, checked as it lands.
  const after = (rec) => {
    if (rec.hook === "config") return "ok";
    if (rec.hook === "chat.message") return "busy";
    if (rec.hook !== "event") return undefined;
    return { "permission.asked": "waiting", "permission.replied": "busy", "session.idle": "ok" }[rec.input.type];
  };
  for (const rec of lines) {
    if (rec.hook === "init" || rec.hook === "dispose") continue;
    if (rec.hook === "event") await hooks.event({ event: rec.input });
    else if (hooks[rec.hook]) await hooks[rec.hook](rec.input, rec.output ?? {});
    const want = after(rec);
    if (want) await until(`status=${want} after ${rec.input?.type ?? rec.hook}`, () => fs.existsSync(sb.beat) && fields(sb.beat).status === want);
  }
  const b = fields(sb.beat);
  assert.equal(b.model, MODEL);
  assert.equal(b.pid, String(process.pid));
  assert.ok(fs.statSync(sb.marker).isFile(), "native marker");
  const before = fs.readFileSync(sb.beat, "utf8");
  await hooks.dispose();
  assert.equal(fs.existsSync(sb.marker), false, "dispose hands the beat back");
  assert.equal(fs.readFileSync(sb.beat, "utf8"), before, "and leaves it for the sidecar");
});

const ev = (type, properties) => ({ event: { type, properties } });

test("a subagent's session neither ends the turn nor changes the model", async () => {
  const sb = sandbox();
  const hooks = await start(agentEnv(sb, recorder(sb)));
  await hooks.event(ev("session.created", { sessionID: "p", info: { id: "p" } }));
  await hooks["chat.message"]({ sessionID: "p", model: { providerID: "x", modelID: "main" } }, {});
  await hooks.event(ev("session.created", { sessionID: "c", info: { id: "c", parentID: "p" } }));
  await hooks["chat.message"]({ sessionID: "c", model: { providerID: "x", modelID: "sub" } }, {});
  await hooks.event(ev("message.updated", { info: { sessionID: "c", role: "assistant", modelID: "sub" } }));
  await hooks.event(ev("session.status", { sessionID: "c", status: { type: "busy" } }));
  await hooks.event(ev("permission.asked", { id: "per1", sessionID: "c" }));
  await hooks.event(ev("permission.replied", { sessionID: "c", requestID: "per1", reply: "once" }));
  await hooks.event(ev("session.status", { sessionID: "c", status: { type: "idle" } }));
  await hooks["chat.params"]({ sessionID: "p", agent: "title", model: { id: "small" } }, {});
  await hooks.event(ev("session.status", { sessionID: "p", status: { type: "idle" } }));
  await hooks.dispose();
  assert.deepEqual(await calls(sb, 6), [
    beatArgs("ok"),
    beatArgs("busy", "main"),
    beatArgs("waiting", "main"),
    beatArgs("busy", "main"),
    beatArgs("ok", "main"),
    `--clear-native ${NAME}`,
  ]);
});

test("a question is waiting too; a turn that ends with a dialog open is ok; a retry is busy", async () => {
  const sb = sandbox();
  const hooks = await start(agentEnv(sb, recorder(sb)));
  // The configured model is the part after the provider (which may hold a slash).
  await hooks.config({ model: "openrouter/vendor/model-x" });
  await hooks.event(ev("session.status", { sessionID: "s", status: { type: "retry", attempt: 1, message: "", next: 0 } }));
  await hooks.event(ev("question.asked", { id: "que1", sessionID: "s", questions: [] }));
  await hooks.event(ev("question.rejected", { sessionID: "s", requestID: "que1" }));
  await hooks.event(ev("permission.asked", { id: "per1", sessionID: "s" }));
  await hooks.event(ev("session.status", { sessionID: "s", status: { type: "idle" } }));
  // An event that carries the model wins over the configuration for good.
  await hooks.event(ev("message.updated", { info: { sessionID: "s", role: "user", model: { modelID: "m2" } } }));
  await hooks.config({ model: "p/m3" });
  await hooks.dispose();
  const m = "vendor/model-x";
  assert.deepEqual(await calls(sb, 9), [
    beatArgs("ok"),
    beatArgs("ok", m),
    beatArgs("busy", m),
    beatArgs("waiting", m),
    beatArgs("busy", m),
    beatArgs("waiting", m),
    beatArgs("ok", m),
    beatArgs("ok", "m2"),
    `--clear-native ${NAME}`,
  ]);
});

test("a model hb-write would refuse is left out; the beat still lands", async () => {
  const sb = sandbox();
  const hooks = await start(agentEnv(sb, recorder(sb)));
  await hooks["chat.message"]({ sessionID: "s", model: { providerID: "x", modelID: "good" } }, {});
  for (const bad of ["bad\nmodel", " padded", "x".repeat(129), "", 42]) {
    await hooks["chat.params"]({ sessionID: "s", agent: "build", model: { id: bad } }, {});
  }
  await hooks.event(ev("session.idle", { sessionID: "s" }));
  await hooks.dispose();
  assert.deepEqual(await calls(sb, 4), [
    beatArgs("ok"),
    beatArgs("busy", "good"),
    beatArgs("ok", "good"),
    `--clear-native ${NAME}`,
  ]);
});

test("nothing OpenCode hands the plugin makes it throw", async () => {
  const sb = sandbox();
  const hooks = await start(agentEnv(sb, recorder(sb)));
  const odd = [null, undefined, 5, "x", [], {}, { type: 7 }, { type: "session.status" },
    { type: "session.status", properties: { sessionID: "s", status: null } },
    { type: "permission.asked", properties: 5 }, { type: "permission.replied", properties: [] },
    { type: "message.updated", properties: { info: { role: "user", model: "flat" } } },
    { type: "session.created", properties: { info: null } }, { type: "session.deleted" }];
  for (const e of odd) await hooks.event({ event: e });
  await hooks.event(undefined);
  await hooks["chat.message"]({}, undefined);
  await hooks["chat.message"](undefined, undefined);
  await hooks["chat.params"](undefined, undefined);
  await hooks["tool.execute.before"](null, null);
  await hooks.config(undefined);
  await hooks.dispose();
  await hooks.dispose();
  // None of it names a session or a model: the first beat and the hand-back.
  assert.deepEqual(await calls(sb, 2), [beatArgs("ok"), `--clear-native ${NAME}`]);
});

test("without MOSAIC_AGENT_NAME the plugin has no hooks", async () => {
  const hooks = await start({ MOSAIC_AGENT_NAME: undefined });
  assert.deepEqual(Object.keys(hooks), []);
});

test("a missing hb-write never throws into OpenCode nor stalls it", async () => {
  const sb = sandbox();
  const hooks = await start(agentEnv(sb, path.join(sb.dir, "no-such-hb-write")));
  const t0 = Date.now();
  await hooks["chat.message"]({ sessionID: "s", model: { providerID: "x", modelID: MODEL } }, {});
  await hooks.event(ev("session.idle", { sessionID: "s" }));
  await hooks.dispose();
  assert.ok(Date.now() - t0 < 3000, "dispose waited for a missing binary");
  assert.deepEqual(fs.readdirSync(sb.dir), []);
  // PATH without hb-write: the default name is looked up there.
  const path0 = process.env.PATH;
  try {
    const hooks2 = await start({ ...agentEnv(sb, undefined), PATH: sb.dir });
    await hooks2.event(ev("session.idle", { sessionID: "s" }));
    await hooks2.dispose();
  } finally {
    process.env.PATH = path0;
  }
  assert.deepEqual(fs.readdirSync(sb.dir), []);
});

test("opencode run's exit hands the beat back, after the write in flight", () => {
  const sb = sandbox();
  // The real hb-write, slow to start a beat: the run's last beat is still
  // on its way when the process exits, and must not land after the hand-back.
  const slow = path.join(sb.dir, "slow-hb-write");
  fs.writeFileSync(slow, `#!/bin/sh\n[ "$1" != --native ] || sleep 0.3\nexec '${HB_WRITE}' "$@"\n`, { mode: 0o755 });
  // A process that loads the plugin, waits for its busy beat, then ends
  // with process.exit right after the turn's last event, as opencode run does.
  const child = `
    const { default: plugin } = await import(${JSON.stringify(DIST)});
    const fs = await import("node:fs");
    const hooks = await plugin({});
    await hooks["chat.message"]({ sessionID: "s", model: { providerID: "x", modelID: "${MODEL}" } }, {});
    const beat = ${JSON.stringify(sb.beat)};
    const end = Date.now() + 5000;
    while (!(fs.existsSync(beat) && fs.readFileSync(beat, "utf8").includes("status=busy")) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 10));
    await hooks.event({ event: { type: "session.idle", properties: { sessionID: "s" } } });
    process.exit(0);
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", child], {
    env: { ...process.env, ...agentEnv(sb, slow) },
    encoding: "utf8",
    timeout: 20000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout + r.stderr, "", "the plugin printed");
  // Past the time the killed beat would have taken to land.
  spawnSync("sleep", ["0.5"]);
  assert.equal(fs.existsSync(sb.marker), false, "the marker outlived opencode run");
  const b = fields(sb.beat);
  assert.equal(b.status, "busy", "the beat in flight at exit landed after the hand-back");
  assert.equal(b.model, MODEL);
});

test("the beat names the wrapper that started the runtime with the agent's name (Kilo's bin/kilo), else the runtime", async () => {
  for (const carries of [true, false]) {
    const sb = sandbox();
    const agent = agentEnv(sb, recorder(sb));
    // The runtime: loads the plugin (its first beat), says its pid.
    const runtime = `
      const { default: plugin } = await import(${JSON.stringify(DIST)});
      await plugin({});
      console.log(process.pid);
      await new Promise((r) => setTimeout(r, 300));
    `;
    // A wrapper as Kilo's node bin/kilo: spawns the native runtime for the
    // session and waits for it. Without the agent's name in its own
    // environment (an unrelated parent), it is not the agent.
    const wrapper = `
      const { spawnSync } = require("node:child_process");
      const env = { ...process.env, ...JSON.parse(process.argv[1]) };
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", ${JSON.stringify(runtime)}], { env, encoding: "utf8" });
      process.stdout.write(r.stdout);
    `;
    const env = carries ? { ...process.env, ...agent } : { ...process.env };
    delete env.MOSAIC_AGENT_NAME;
    if (carries) env.MOSAIC_AGENT_NAME = NAME;
    const r = spawnSync(process.execPath, ["-e", wrapper, JSON.stringify(agent)], { env, encoding: "utf8", timeout: 20000 });
    assert.equal(r.status, 0, r.stderr);
    const want = carries ? r.pid : Number(r.stdout.trim());
    assert.ok(want > 1 && want !== process.pid, r.stdout);
    // (The runtime's exit hands the beat back, as `opencode run`'s does.)
    assert.deepEqual(await calls(sb, 2), [`--native --status ok --pid ${want} ${NAME}`, `--clear-native ${NAME}`]);
  }
});
