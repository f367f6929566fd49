"""Codex: `codex exec` over the user's own hooks, the TUI, and two TUIs at
once, configured by `hb-install-hooks codex`; and issue 22's edges in the
TUI (an interrupt while the model streams and during a tool, a denial,
Esc at a dialog, the question tool).
"""

import json
import os
import subprocess
import time

from harness import (
    Failure, check, deadline_wait, MODS, HOLD, check_common, check_exited, check_hooks_quiet,
    check_model_kept, check_pids, hold_waiting, install_hooks, statuses)
from edges import BOUND, hold, moving, next_prompt, press

PACKAGES = ["codex"]

CODEX_BIN_DIR = os.path.join(MODS, "@openai", "codex-linux-x64", "vendor",
                             "x86_64-unknown-linux-musl", "bin")
CODEX_MODEL = "gpt-hb-mock"


def codex_setup(sb, approval="on-request", sandbox="read-only", features_extra="",
                user_hooks=False):
    chome = os.path.join(sb.home, ".codex")
    os.makedirs(chome, exist_ok=True)
    with open(os.path.join(chome, "config.toml"), "w") as f:
        f.write(f"""model = "{CODEX_MODEL}"
model_provider = "hbmock"
approval_policy = "{approval}"
sandbox_mode = "{sandbox}"
check_for_update_on_startup = false

[model_providers.hbmock]
name = "hb mock"
base_url = "{sb.base}/v1"
wire_api = "responses"
env_key = "HB_MOCK_KEY"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

# No plugin, app or update fetches ({features_extra}).
[features]
plugins = false
remote_plugin = false
apps = false
in_app_updates = false
{features_extra}

[projects."{sb.work}"]
trust_level = "trusted"
""")
    sb.env["PATH"] = CODEX_BIN_DIR + ":" + sb.env["PATH"]
    env = {"CODEX_HOME": chome, "HB_MOCK_KEY": "hb-mock-key", "RUST_LOG": "warn"}
    if user_hooks:
        # The user's own hook (untrusted: Codex exec skips it silently).
        with open(os.path.join(chome, "hooks.json"), "w") as f:
            json.dump({"hooks": {"Stop": [{"hooks": [{"type": "command",
                                                      "command": "true"}]}]}}, f, indent=2)
            f.write("\n")
        # Install, uninstall: the user's files come back byte for byte,
        # with Codex's own trust step in between.
        files = [os.path.join(chome, n) for n in ("config.toml", "hooks.json")]
        before = [open(p, "rb").read() for p in files]
        install_hooks(sb, "codex", env)
        install_hooks(sb, "codex", env, "--uninstall")
        after = [open(p, "rb").read() for p in files]
        check(before == after, f"--uninstall left {after!r}, the user had {before!r}")
    out = install_hooks(sb, "codex", env)
    check("trusted" in out, f"hb-install-hooks trusted nothing: {out}")
    check("nothing to change" in install_hooks(sb, "codex", env), "a second install changed")
    return env


def codex_exec(sb):
    env = codex_setup(sb, approval="never", sandbox="danger-full-access", user_hooks=True)
    a = sb.start("cx-exec", [os.path.join(CODEX_BIN_DIR, "codex"), "exec",
                             "--skip-git-repo-check", "run the tool"], env)
    check_exited(a, timeout=60)
    check_common(sb, a, CODEX_MODEL)
    st = statuses(a.sampler.samples)
    check("busy" in st, f"never busy: {st}")
    check(os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "the tool never ran")
    check("Could not resolve host" not in a.pane(), "codex still tried a host by name")
    return st


def codex_tui_drive(sb, a):
    """One approval turn in a Codex TUI (its SessionStart hook runs with
    the first prompt)."""
    deadline_wait(lambda: "Ask Codex" in a.pane() or "\u203a" in a.pane(), 30, "codex's prompt")
    a.type_line("run the tool")
    hold_waiting(a)
    check("Would you like to run" in a.pane(), "no approval prompt in the pane")
    a.keys("Enter")  # "1. Yes, proceed"
    deadline_wait(lambda: os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), 30,
                  "the tool to run")
    a.wait_status("ok", timeout=30)
    m = a.sampler.mark()
    time.sleep(HOLD)  # idle at the prompt: ok stays ok
    idle = a.sampler.since(m)
    check(all(s.get("status") == "ok" for s in idle), f"idle beat not ok: {idle[:3]}")


def codex_quit(a):
    for _ in range(3):
        if not a.alive():
            break
        a.keys("C-c")
        try:
            deadline_wait(lambda: not a.alive(), 5, "codex to quit")
        except Failure:
            pass
    check_exited(a)


def codex_tui_embedded(sb):
    env = codex_setup(sb, features_extra="daemon_auto_start = false")
    a = sb.start("cx-tui", [os.path.join(CODEX_BIN_DIR, "codex")], env)
    codex_tui_drive(sb, a)
    codex_quit(a)
    check_common(sb, a, CODEX_MODEL)
    st = statuses(a.sampler.samples)
    check("busy" in st and "waiting" in st, f"statuses {st}")
    return st


def codex_tui_two_agents(sb):
    """Two TUIs of one user at once, configured by hb-install-hooks alone
    (which turns Codex's shared app-server daemon off): each agent's beats
    land in its own file, with its own pid."""
    env = codex_setup(sb)
    codex = os.path.join(CODEX_BIN_DIR, "codex")
    a = sb.start("cx-one", [codex], env)
    b = sb.start("cx-two", [codex], env)
    codex_tui_drive(sb, a)
    os.remove(os.path.join(sb.work, "hb-e2e-tool-ran"))
    codex_tui_drive(sb, b)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    check(not any("app-server-daemon" in l and sb.root in l for l in ps.splitlines()),
          "a shared Codex daemon runs")
    for x in (a, b):
        codex_quit(x)
    for x in (a, b):
        check_pids(x.sampler.samples, x.pane_pid)
        check_model_kept(x.sampler.samples, CODEX_MODEL)
        st = statuses(x.sampler.samples)
        check("busy" in st and "waiting" in st, f"{x.name}: statuses {st}")
    check_hooks_quiet(sb)
    return {x.name: statuses(x.sampler.samples) for x in (a, b)}


MODES = {
    "codex-exec-0.171.0": (codex_exec, "codex", {"delay": 1.5, "escalate": False}),
    "codex-tui-embedded-0.171.0": (codex_tui_embedded, "codex", {"delay": 1.0}),
    "codex-tui-default-two-agents-0.171.0": (codex_tui_two_agents, "codex", {"delay": 1.0}),
}


# --- issue 22: the edges (edges.py) ----------------------------------------
# Codex's interrupt keys: Esc and Ctrl+C (the first Ctrl+C of a turn
# interrupts it; the TUI stays). Its "No, and tell Codex what to do
# differently" aborts the turn like Esc. Each fires the Interrupt hook.


def codex_hook_seen(sb, pred):
    """A hook call whose payload `pred` accepts has been recorded."""
    for c in sb.hook_calls():
        try:
            p = json.loads(c["payload"] or "{}")
        except ValueError:
            continue
        if pred(p):
            return True
    return False


def codex_edge_mode(drive, plan=False):
    """A TUI, one edge driven by `drive(sb, agent) -> {edge: result}`,
    then a following prompt busy -> ok, quit, the common checks."""
    def mode(sb):
        env = codex_setup(sb)
        a = sb.start("cx-edge", [os.path.join(CODEX_BIN_DIR, "codex")], env)
        deadline_wait(lambda: "Ask Codex" in a.pane(), 30, "codex's prompt")
        if plan:
            # The TUI takes Shift+Tab only once its prompt is up: press
            # again while its footer (the last line) does not show the
            # mode; the history says "for Plan mode" either way.
            def plan_mode():
                lines = [line for line in a.pane().splitlines() if line.strip()]
                return bool(lines) and "Plan mode" in lines[-1]
            for _ in range(5):
                time.sleep(1)
                a.keys("BTab")
                try:
                    deadline_wait(plan_mode, 5, "Plan mode in the footer")
                    break
                except Failure:
                    pass
            deadline_wait(plan_mode, 1, "Plan mode in the footer")
        got = drive(sb, a)
        next_prompt(a)
        codex_quit(a)
        check_common(sb, a, CODEX_MODEL)
        return {"edges": got, "statuses": statuses(a.sampler.samples)}
    return mode


def codex_e1_stream(sb, a):
    """E1: Esc, then Ctrl+C, while the model streams (the mock stalls)."""
    got = {}
    for key in ("Escape", "C-c"):
        a.type_line(f"hb-stall {key}")
        a.wait_status("busy")
        time.sleep(0.5)  # the prompt's hook just ran: the marker is fresh
        got[f"E1 {key}"] = press(a, [key], "ok")
        hold(a, "ok")
    return got


def codex_e2_tool(sb, a):
    """E2: Esc while a long tool runs."""
    a.type_line("hb-long now")
    deadline_wait(lambda: codex_hook_seen(sb, lambda p: p.get("hook_event_name") == "PreToolUse"
                                          and "sleep 60" in json.dumps(p)), 30,
                  "the long tool's PreToolUse")
    time.sleep(0.5)
    got = {"E2 Escape": press(a, ["Escape"], "ok")}
    hold(a, "ok")
    return got


def codex_e3_e4_dialog(sb, a):
    """E3: "No, and tell Codex what to do differently" (3); E4: Esc."""
    got = {}
    for edge, key in (("E3 deny", "3"), ("E4 Escape", "Escape")):
        a.type_line("run the tool")
        a.wait_status("waiting")
        a.wait_pane("Would you like to run")
        time.sleep(0.3)  # the dialog's hook just ran: the marker is fresh
        got[edge] = press(a, [key], "ok")
        hold(a, "ok")
    check(not os.path.exists(os.path.join(sb.work, "hb-e2e-tool-ran")), "a denied tool ran")
    return got


def codex_e5_question(sb, a):
    """E5 in Plan mode: request_user_input waits while on screen; its
    answer is busy (PostToolUse); Esc at it ends the turn (Interrupt)."""
    a.type_line("hb-ask now")
    a.wait_status("waiting")
    a.wait_pane("Which colour")
    hold(a, "waiting")
    got = {"E5 answer": press(a, ["Enter"], moving)}
    a.wait_status("ok")
    hold(a, "ok")
    a.type_line("hb-ask again")
    a.wait_status("waiting")
    a.wait_pane("Which colour")
    time.sleep(0.3)
    got["E5 Escape"] = press(a, ["Escape"], "ok")
    hold(a, "ok")
    return got


def codex_e5_refused(sb, a):
    """E5 outside Plan mode: Codex refuses request_user_input at once
    and fires no hook until Stop, the model's next answer (6 s here);
    the rollout's refusal ends the waiting its PreToolUse set."""
    m = a.sampler.mark()
    a.type_line("hb-ask now")
    deadline_wait(lambda: codex_hook_seen(sb, lambda p: p.get("tool_name") ==
                                          "request_user_input"), 30, "the question's PreToolUse")
    t = time.monotonic() - a.sampler.t0
    # The waiting may be too short for the sampler: then it is over.
    try:
        deadline_wait(lambda: any(s.get("status") == "waiting" for s in a.sampler.since(m)), 1,
                      "the question's waiting")
    except Failure:
        pass
    first = next((i for i, s in enumerate(a.sampler.since(m)) if s.get("status") == "waiting"),
                 None)
    if first is not None:
        m += first
    else:
        m = a.sampler.mark()  # never seen waiting: what the listing says now
    s = deadline_wait(lambda: next((s for s in a.sampler.since(m)
                                    if s.get("status") in ("busy", "ok")), None), BOUND,
                      "the refusal to end the waiting")
    # Never sampled waiting: it was over within one sample (0.04 s).
    latency = round(max(0.0, s["t"] - t), 2) if first is not None else 0.0
    got = {"E5 refused": {"latency": latency, "fresh": True, "src": s.get("src"),
                          "waiting_seen": first is not None}}
    a.wait_status("ok")
    after = [x for x in a.sampler.since(m) if x.get("t", 0) > s["t"]]
    check(all(x.get("status") != "waiting" for x in after),
          f"waiting again after the refusal: {after[:3]}")
    return got


MODES.update({
    "codex-edge-e1-stream-0.171.0": (codex_edge_mode(codex_e1_stream), "codex", {}),
    "codex-edge-e2-tool-0.171.0": (codex_edge_mode(codex_e2_tool), "codex", {}),
    "codex-edge-e3-e4-dialog-0.171.0": (codex_edge_mode(codex_e3_e4_dialog), "codex",
                                        {"delay": 1.0}),
    "codex-edge-e5-question-0.171.0": (codex_edge_mode(codex_e5_question, plan=True), "codex",
                                       {"delay": 1.0}),
    "codex-edge-e5-refused-0.171.0": (codex_edge_mode(codex_e5_refused), "codex",
                                      {"delay": 6.0}),
})
