// The e2e user's own OpenCode plugin, beside hb's: hb-install-hooks must
// keep it, and it records what OpenCode hands its plugins (every hook call
// and bus event, in order, one JSON line each, to $HB_E2E_OPENCODE_EVENTS):
// the event streams tests/fixtures/hooks/opencode/ replays.
import fs from "node:fs";

const out = process.env.HB_E2E_OPENCODE_EVENTS;
const t0 = Date.now();

function keep(hook, input, output) {
  if (!out) return;
  try {
    fs.appendFileSync(out, JSON.stringify({ t: Date.now() - t0, hook, input, output }) + "\n");
  } catch {}
}

export default async function userPlugin() {
  keep("init");
  return {
    config: async (cfg) => keep("config", { model: cfg.model }),
    "chat.message": async (input, output) => keep("chat.message", input, output),
    "chat.params": async (input) => keep("chat.params", input),
    "tool.execute.before": async (input) => keep("tool.execute.before", input),
    "tool.execute.after": async (input) => keep("tool.execute.after", input),
    event: async ({ event }) => keep("event", event),
    dispose: async () => keep("dispose"),
  };
}
