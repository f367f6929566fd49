"""Pi: print mode, the TUI and a retried request, both pinned versions, with
the extension `hb-install-hooks pi` installs.
"""

import json
import os
import time

from harness import (
    Failure, check, deadline_wait, MODS, NODE_BIN, HOLD, check_common, check_exited,
    install_hooks, statuses)

PACKAGES = ["pi-old", "pi-new"]

PI_MODEL = "hb-mock-model"


def pi_setup(sb):
    agent = os.path.join(sb.home, ".pi", "agent")
    os.makedirs(os.path.join(agent, "extensions"), exist_ok=True)
    install_hooks(sb, "pi", {})
    models = {"providers": {"hbmock": {
        "baseUrl": sb.base + "/v1", "api": "openai-completions", "apiKey": "hb-mock-key",
        "models": [{"id": PI_MODEL, "name": "hb mock", "contextWindow": 32000,
                    "maxTokens": 1000}]}}}
    with open(os.path.join(agent, "models.json"), "w") as f:
        json.dump(models, f)
    with open(os.path.join(agent, "settings.json"), "w") as f:
        json.dump({"defaultProvider": "hbmock", "defaultModel": PI_MODEL}, f)
    return {"PI_OFFLINE": "1", "PI_SKIP_VERSION_CHECK": "1", "PI_TELEMETRY": "0"}


def pi_cli(pkg):
    for rel in ("dist/bundle/cli.js", "dist/cli.js"):
        p = os.path.join(MODS, pkg, rel)
        if os.path.exists(p):
            return [os.path.join(NODE_BIN, "node"), p]
    raise Failure(f"no Pi CLI in {pkg}")


def pi_print(pkg):
    def run(sb):
        env = pi_setup(sb)
        a = sb.start("pi-print", pi_cli(pkg) + ["--provider", "hbmock", "--model", PI_MODEL,
                                                "-p", "run the tool"], env)
        check_exited(a, timeout=60)
        check_common(sb, a, PI_MODEL)
        st = statuses(a.sampler.samples)
        check("busy" in st, f"never busy: {st}")
        check(st[-2:] == ["ok", "exited"], f"the run did not end ok before exited: {st}")
        check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
        return st
    return run


def pi_interactive(pkg):
    def run(sb):
        env = pi_setup(sb)
        a = sb.start("pi-tui", pi_cli(pkg) + ["--provider", "hbmock", "--model", PI_MODEL], env)
        deadline_wait(lambda: a.sampler.latest().get("src") == "native", 30,
                      "the session_start beat")
        deadline_wait(lambda: PI_MODEL in a.pane() or "hbmock" in a.pane(), 30, "pi's prompt")
        a.type_line("run the tool")
        deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                      "the tool to run")
        a.wait_pane("Done: the tool ran.")
        a.wait_status("ok", timeout=30)
        m = a.sampler.mark()
        time.sleep(HOLD)  # idle at the prompt: ok stays ok, beaten by the extension's timer
        idle = a.sampler.since(m)
        check(all(s.get("status") == "ok" and s.get("src") in ("native", "carried")
                  for s in idle), f"idle beat not ok: {idle[:3]}")
        check(any(s.get("src") == "native" for s in idle),
              "the extension's timer never beat while idle")
        a.keys("C-d")
        check_exited(a)
        check_common(sb, a, PI_MODEL)
        st = statuses(a.sampler.samples)
        check("busy" in st, f"never busy: {st}")
        return st
    return run


def pi_retry(pkg):
    """The first model request fails: Pi retries after a backoff, and the
    beat must stay busy through it (1.x fires agent_end before the
    backoff; the extension waits for agent_settled)."""
    def run(sb):
        env = pi_setup(sb)
        a = sb.start("pi-retry", pi_cli(pkg) + ["--provider", "hbmock", "--model", PI_MODEL,
                                                "-p", "run the tool"], env)
        check_exited(a, timeout=90)
        check_common(sb, a, PI_MODEL)
        st = statuses(a.sampler.samples)
        posts = [r for r in sb.requests_seen() if r["method"] == "POST"]
        check(len(posts) >= 3, f"Pi did not retry: {len(posts)} model requests")
        check(st == ["ok", "busy", "ok", "exited"], f"the beat left busy mid-run: {st}")
        return st
    return run


MODES = {
    "pi-print-0.79.9": (pi_print("pi-old"), "pi-old", {"delay": 1.5}),
    "pi-print-1.6.0": (pi_print("pi-new"), "pi-new", {"delay": 1.5}),
    "pi-interactive-0.79.9": (pi_interactive("pi-old"), "pi-old", {"delay": 1.5}),
    "pi-interactive-1.6.0": (pi_interactive("pi-new"), "pi-new", {"delay": 1.5}),
    "pi-retry-1.6.0": (pi_retry("pi-new"), "pi-new", {"fail_first": 1}),
}
