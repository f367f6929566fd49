"""Pi: print mode, the TUI and a retried request, both pinned versions, with
the extension `hb-install-hooks pi` installs.
"""

import json
import os
import shutil
import time

from harness import (
    Failure, check, deadline_wait, MODS, NODE_BIN, HOLD, check_common, check_exited,
    hold_idle, install_hooks, statuses)
from edges import after_key, busy_then_ok, hold_status

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


# Pi asks nothing by itself: its dialogs are its extensions' (ui.select,
# ui.custom, ...). These two ship with it as examples: a gate that asks
# before a dangerous bash command, and a question tool.
PI_EXAMPLES = ("permission-gate.ts", "question.ts")


def pi_edges(pkg):
    """Issue 22's edges in one TUI session, with Pi's own example gate and
    question extensions: Esc while the model streams (E1) and while `sleep
    60` runs (E2), "No" at the gate's dialog (E3: the tool is blocked, the
    model goes on) and Esc at it (E4: the same), the question (E5); all
    told by Pi's own events (agent_settled, ui_prompt_start/end)."""
    def run(sb):
        env = pi_setup(sb)
        ext = os.path.join(sb.home, ".pi", "agent", "extensions")
        for name in PI_EXAMPLES:
            shutil.copy(os.path.join(MODS, pkg, "examples", "extensions", name), ext)
        a = sb.start("pi-edge", pi_cli(pkg) + ["--provider", "hbmock", "--model", PI_MODEL], env)
        deadline_wait(lambda: a.sampler.latest().get("src") == "native", 30,
                      "the session_start beat")
        deadline_wait(lambda: PI_MODEL in a.pane() or "hbmock" in a.pane(), 30, "pi's prompt")
        lat, mode = {}, "pi-edges"
        a.type_line("hb-slow")
        a.wait_status("busy")
        a.wait_pane("word3")
        lat["E1"] = after_key(a, lambda: a.keys("Escape"), "ok", "E1", sb, mode, by_hook=True)
        busy_then_ok(a, "hb-text", "E1")
        a.type_line("hb-long")
        a.wait_pane("sleep 60")
        a.wait_status("busy")
        time.sleep(1.0)  # the tool runs a while (not a wait for the beat)
        lat["E2"] = after_key(a, lambda: a.keys("Escape"), "ok", "E2", sb, mode, by_hook=True)
        busy_then_ok(a, "hb-text", "E2")
        for edge, keys in (("E3", ("Down", "Enter")), ("E4", ("Escape",))):
            a.type_line("hb-gate")
            a.wait_status("waiting")
            a.wait_pane("Dangerous command")
            # The gate blocks the tool and the model goes on: not waiting,
            # then the turn's own end.
            lat[edge] = after_key(a, lambda keys=keys: a.keys(*keys), None, edge, sb, mode,
                                  hold=False, not_="waiting", by_hook=True)
            hold_idle(a)
        a.type_line("hb-ask")
        hold_status(a, "waiting")
        a.wait_pane("Red")
        lat["E5"] = after_key(a, lambda: a.keys("Enter"), None, "E5", sb, mode, hold=False,
                              not_="waiting", by_hook=True)
        hold_idle(a)
        check(not os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "a gated tool ran")
        a.keys("C-d")
        check_exited(a)
        check_common(sb, a, PI_MODEL)
        return statuses(a.sampler.samples) + [f"latency {lat}"]
    return run


MODES = {
    "pi-print-0.79.9": (pi_print("pi-old"), "pi-old", {"delay": 1.5}),
    "pi-print-1.6.0": (pi_print("pi-new"), "pi-new", {"delay": 1.5}),
    "pi-interactive-0.79.9": (pi_interactive("pi-old"), "pi-old", {"delay": 1.5}),
    "pi-interactive-1.6.0": (pi_interactive("pi-new"), "pi-new", {"delay": 1.5}),
    "pi-retry-1.6.0": (pi_retry("pi-new"), "pi-new", {"fail_first": 1}),
    "pi-edges-1.6.0": (pi_edges("pi-new"), "pi-new", {"delay": 1.0}),
}
