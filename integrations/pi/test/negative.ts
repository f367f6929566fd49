// Must NOT type-check: proves the extension is checked against the real
// ExtensionAPI, not against `any` (tests/pi.rs expects tsc to fail here).
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";

export default function wrong(pi: ExtensionAPI): void {
  pi.on("agent_start", (_event, ctx) => {
    const id: number = ctx.model?.id;
    return id;
  });
}
