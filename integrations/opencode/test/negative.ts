// Must NOT type-check: proves the plugin is checked against the real
// @opencode-ai/plugin hooks, not against `any` (tests/opencode.rs expects
// tsc to fail here).
import type { Plugin } from "@opencode-ai/plugin";

const wrong: Plugin = async () => ({
  "chat.message": async (input) => {
    const id: number = input.model?.modelID;
    void id;
  },
});
export default wrong;
