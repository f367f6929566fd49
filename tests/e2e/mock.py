#!/usr/bin/env python3
"""Mock model servers for `make e2e`: Anthropic Messages, OpenAI Responses,
OpenAI chat completions and the Gemini API, all streamed as SSE, on
127.0.0.1.

Each conversation plays the same script: the first model turn asks for a
shell tool call (one that needs the operator's permission where the runtime
asks for it), the turn after the tool's result is final text. Requests that
carry no tools (titles, summaries, quota probes) get short text. Every
request is appended to the log as one JSON line (method, path, body), so a
test can assert that the mock saw every model request.

Edge scripts (issue 22): a prompt that names one of [`EDGES`] gets that
turn instead (a stalled answer, a long tool, the runtime's question tool,
plain text), so that a mode can interrupt, deny or answer it.

Stdlib only: `python3 mock.py PORTFILE LOG [TOOL_COMMAND]` listens on an
ephemeral port and writes it to PORTFILE once it accepts connections.
"""

import http.server
import json
import os
import socketserver
import sys
import threading
import time

PORTFILE, LOG = sys.argv[1], sys.argv[2]
# A command outside every runtime's read-only allowlist, so that interactive
# modes ask for permission, and one that leaves a trace in the working dir.
COMMAND = sys.argv[3] if len(sys.argv) > 3 else "touch hb-e2e-tool-ran"
MODEL_TEXT = "Done: the tool ran."
# Seconds the final answer takes (after the tool's result), so that a
# sampler sees the turn busy; MOCK_DELAY in the environment.
DELAY = float(os.environ.get("MOCK_DELAY", "0"))
# The first MOCK_FAIL_FIRST model requests fail with 503, so that a
# runtime's automatic retry (and its backoff) can be watched.
FAIL_FIRST = [int(os.environ.get("MOCK_FAIL_FIRST", "0"))]
# Seconds between a streamed tool call's last block and the message's end
# (MOCK_TAIL_DELAY): a runtime that starts a tool as soon as its block is
# complete runs it, and its hooks, before the answer is whole.
TAIL_DELAY = float(os.environ.get("MOCK_TAIL_DELAY", "0"))
# Codex: ask for escalated permissions (an approval prompt), unless 0.
ESCALATE = os.environ.get("MOCK_ESCALATE", "1") != "0"
# Chat-completions runtimes' shell tools: the tool's name -> its arguments
# for COMMAND. A runtime whose shell tool has another name or shape is one
# line here.
CHAT_SHELL_TOOLS = {
    "bash": lambda cmd: {"command": cmd},  # Pi
    "run_shell_command": lambda cmd: {"command": cmd, "is_background": False},  # Qwen Code
    "terminal": lambda cmd: {"command": cmd},  # Hermes Agent
    "run_commands": lambda cmd: {"commands": [cmd]},  # Cline
}
# MOCK_ASK=1: a chat-completions conversation first asks the operator
# through the runtime's question tool (Cline's `ask_question`), then runs
# the shell tool, then answers.
ASK = os.environ.get("MOCK_ASK") == "1"
ASK_QUESTION = {"question": "hb mock: go on?", "options": ["Go on", "Stop"]}
# Edge scripts, picked by a word in the conversation's last prompt:
#   hb-stall  the answer's first event, then nothing for MOCK_STALL seconds
#             (default 60): the model is streaming when the key comes;
#   hb-long   a shell tool call of `sleep 60`, asking no escalation: the
#             tool runs when the key comes;
#   hb-ask    the runtime's question tool (Codex `request_user_input`,
#             Copilot CLI `ask_user`), then text after the answer;
#   hb-plain  text after a second, no tool: a turn that goes busy -> ok.
EDGES = ("hb-stall", "hb-long", "hb-ask", "hb-plain")
STALL = float(os.environ.get("MOCK_STALL", "60"))
PLAIN_LONG_COMMAND = "sleep 60"  # Codex (the Responses API)
QUESTION = "Which colour should the hb e2e pick?"
# Edge turns (issue 22, tests/e2e/edges.py): a prompt that names one of
# these words gets that turn instead of the script. "hb-slow": text
# streamed for EDGE_SECONDS, a chunk every EDGE_TICK (an interrupt lands
# while the model streams); "hb-long": the shell tool runs `sleep
# EDGE_SECONDS` (an interrupt lands while the tool runs); "hb-ask": the
# runtime's question tool (EDGE_QUESTIONS); "hb-text": plain text at once;
# "hb-gate": the shell tool runs GATE_COMMAND, which Pi's example
# permission-gate.ts asks about (`chmod ... 777`).
EDGE_SECONDS = 60
EDGE_TICK = 0.25
# Aider's "hb-pause" turn: this long before the answer.
AIDER_PAUSE = 3
# Qwen Code refuses a plain long `sleep` unless a comment says why.
LONG_COMMAND = f"sleep {EDGE_SECONDS} # intentional-sleep: the hb e2e interrupts this tool"
GATE_COMMAND = "chmod 777 hb-e2e-tool-ran"
EDGE_WORDS = ("hb-slow", "hb-long", "hb-ask", "hb-text", "hb-gate")
EDGE_QUESTION = {"question": "Which colour for the hb e2e?", "header": "Colour",
                 "options": [{"label": "Red", "description": "the first"},
                             {"label": "Blue", "description": "the second"}]}
# The question tool's name -> its arguments.
EDGE_QUESTIONS = {
    "ask_user": {"questions": [dict(EDGE_QUESTION, type="choice")]},  # Gemini CLI
    "ask_user_question": {"questions": [dict(EDGE_QUESTION, multiSelect=False)]},  # Qwen Code
    "question": {"questions": [dict(EDGE_QUESTION, multiple=False)]},  # OpenCode
}
# Pi's example question.ts: one question, no list (its parameters have no
# `questions`).
EDGE_QUESTION_ONE = {"question": EDGE_QUESTION["question"], "options": EDGE_QUESTION["options"]}


def edge_of(text):
    """The edge word a prompt names last (a runtime may hand an interrupted
    prompt back to the input, so the next one follows it), or None."""
    at = {w: text.rfind(w) for w in EDGE_WORDS} if isinstance(text, str) else {}
    w = max(at, key=at.get, default=None)
    return w if w is not None and at[w] >= 0 else None


def chat_prompt(messages):
    """The text of the conversation's last user message (chat completions)."""
    for m in reversed(messages or []):
        if isinstance(m, dict) and m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):
                c = " ".join(p.get("text", "") for p in c if isinstance(p, dict))
            return c if isinstance(c, str) else ""
    return ""


log_lock = threading.Lock()
counter = [0]


def next_id(prefix):
    with log_lock:
        counter[0] += 1
        return f"{prefix}_{counter[0]}"


def log(entry):
    with log_lock, open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def has_tool_result(messages):
    """Has the conversation's last user turn a tool's result in it?"""
    for m in reversed(messages or []):
        role = m.get("role") if isinstance(m, dict) else None
        kind = m.get("type") if isinstance(m, dict) else None
        # Responses API input items.
        if kind in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"):
            return True
        if role == "tool":
            return True
        if role == "user":
            content = m.get("content")
            if isinstance(content, list):
                return any(isinstance(c, dict) and c.get("type") == "tool_result" for c in content)
            return False
        if kind == "message" and role is None:
            continue
    return False


def chat_text(body, tools):
    """A chat completion's text. Aider declares no tools: it asks for a
    shell command in a fenced block of its edit format (its system prompt
    names SEARCH/REPLACE blocks), which it offers to run ("Run shell
    command?"), unless the last user message already holds the command
    (its output, added to the chat), or it says "hb-text" (a turn that
    asks nothing)."""
    msgs = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    system = " ".join(str(m.get("content")) for m in msgs if m.get("role") == "system")
    users = [str(m.get("content")) for m in msgs if m.get("role") == "user"]
    if (not tools and "SEARCH/REPLACE" in system and users and COMMAND not in users[-1]
            and "hb-text" not in users[-1]):
        return f"Run this:\n\n```bash\n{COMMAND}\n```\n"
    return MODEL_TEXT
def last_prompt(messages):
    """The text of the conversation's last user message (a string, or
    the text parts of a content list), or ""."""
    for m in reversed(messages or []):
        if not isinstance(m, dict) or m.get("role") != "user":
            continue
        content = m.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(c.get("text") or "" for c in content if isinstance(c, dict))
        return ""
    return ""


def edge(messages):
    """The edge script the last prompt names, else None."""
    text = last_prompt(messages)
    return next((e for e in EDGES if e in text), None)


def stall(handler):
    """Holds a started stream open until the client goes (an interrupt
    closes it) or STALL seconds pass."""
    end = time.monotonic() + STALL
    while time.monotonic() < end:
        time.sleep(0.2)
        try:
            handler.wfile.write(b": hb mock stalls\n\n")
            handler.wfile.flush()
        except OSError:
            return


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        if self.headers.get("content-encoding") == "zstd":
            return raw, None
        try:
            return raw, json.loads(raw or b"null")
        except ValueError:
            return raw, None

    def send_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True

    def sse(self, event, data):
        out = ""
        if event:
            out += f"event: {event}\n"
        out += f"data: {json.dumps(data)}\n\n"
        self.wfile.write(out.encode())
        self.wfile.flush()

    def do_GET(self):
        log({"method": "GET", "path": self.path, "body": None})
        if self.path.rstrip("/").endswith("/models"):
            self.send_json(200, {"object": "list", "data": [], "models": []})
        else:
            self.send_json(404, {"error": {"message": "not in the mock"}})

    def do_HEAD(self):
        log({"method": "HEAD", "path": self.path, "body": None})
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self):
        raw, body = self.body()
        log({"method": "POST", "path": self.path,
             "body": body if body is not None else raw.decode("utf-8", "replace")})
        path = self.path.split("?")[0]
        body = body if isinstance(body, dict) else {}
        if FAIL_FIRST[0] > 0 and path.endswith(("/messages", "/responses", "/chat/completions")):
            with log_lock:
                FAIL_FIRST[0] -= 1
            self.send_json(503, {"error": {"type": "overloaded_error",
                                           "message": "hb mock: overloaded, retry"}})
            return
        if DELAY and has_tool_result(body.get("messages") or body.get("input")):
            time.sleep(DELAY)
        if path.endswith("/messages/count_tokens"):
            self.send_json(200, {"input_tokens": 10})
        elif path.endswith("/messages"):
            self.anthropic(body)
        elif path.endswith("/responses"):
            self.openai_responses(body)
        elif path.endswith("/chat/completions"):
            self.chat(body)
        elif path.startswith("/v1beta/models/"):
            self.gemini(path, body)
        else:
            self.send_json(404, {"error": {"message": "not in the mock"}})

    # --- Anthropic Messages -------------------------------------------
    def anthropic(self, body):
        model = body.get("model", "claude-mock")
        tools = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
        call = "Bash" in tools and not has_tool_result(body.get("messages"))
        edge = anthropic_edge(body.get("messages")) if tools else None
        if edge == "hb-slow":
            self.anthropic_slow(model)
            return
        if edge == "hb-text":
            call = False
        if call and edge == "hb-ask" and "AskUserQuestion" in tools:
            blocks = [{"type": "tool_use", "id": next_id("toolu"), "name": "AskUserQuestion",
                       "input": {"questions": [ANTHROPIC_QUESTION]}}]
            stop = "tool_use"
        elif call and edge == "hb-long":
            blocks = [{"type": "tool_use", "id": next_id("toolu"), "name": "Bash",
                       "input": {"command": ANTHROPIC_LONG, "description": "Wait a minute"}}]
            stop = "tool_use"
        elif call:
            blocks = [{"type": "tool_use", "id": next_id("toolu"), "name": "Bash",
                       "input": {"command": COMMAND, "description": "Leave a trace"}}]
            stop = "tool_use"
        else:
            blocks = [{"type": "text", "text": MODEL_TEXT if tools else "Mock title"}]
            stop = "end_turn"
        usage = {"input_tokens": 10, "output_tokens": 5,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        msg = {"id": next_id("msg"), "type": "message", "role": "assistant", "model": model,
               "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}
        if not body.get("stream"):
            msg.update(content=blocks, stop_reason=stop)
            self.send_json(200, msg)
            return
        self.start_sse()
        self.sse("message_start", {"type": "message_start", "message": msg})
        for i, b in enumerate(blocks):
            if b["type"] == "tool_use":
                start = dict(b, input={})
                delta = {"type": "input_json_delta", "partial_json": json.dumps(b["input"])}
            else:
                start = {"type": "text", "text": ""}
                delta = {"type": "text_delta", "text": b["text"]}
            self.sse("content_block_start", {"type": "content_block_start", "index": i,
                                             "content_block": start})
            self.sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                             "delta": delta})
            self.sse("content_block_stop", {"type": "content_block_stop", "index": i})
        if stop == "tool_use" and TAIL_DELAY:
            time.sleep(TAIL_DELAY)
        self.sse("message_delta", {"type": "message_delta",
                                   "delta": {"stop_reason": stop, "stop_sequence": None},
                                   "usage": {"output_tokens": 5}})
        self.sse("message_stop", {"type": "message_stop"})

    def anthropic_slow(self, model):
        """A text answer streamed a word every ANTHROPIC_TICK seconds for
        ANTHROPIC_SLOW seconds, ended early when the client goes (an
        interrupt closes the stream)."""
        msg = {"id": next_id("msg"), "type": "message", "role": "assistant", "model": model,
               "content": [], "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 10, "output_tokens": 1}}
        self.start_sse()
        try:
            self.sse("message_start", {"type": "message_start", "message": msg})
            self.sse("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}})
            end = time.monotonic() + ANTHROPIC_SLOW
            while time.monotonic() < end:
                self.sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": "text_delta",
                                                           "text": "streaming slowly. "}})
                time.sleep(ANTHROPIC_TICK)
            self.sse("content_block_stop", {"type": "content_block_stop", "index": 0})
            self.sse("message_delta", {"type": "message_delta",
                                       "delta": {"stop_reason": "end_turn",
                                                 "stop_sequence": None},
                                       "usage": {"output_tokens": 5}})
            self.sse("message_stop", {"type": "message_stop"})
        except OSError:
            pass

    # --- OpenAI Responses (Codex) ---------------------------------------
    def openai_responses(self, body):
        model = body.get("model", "gpt-mock")
        tools = {}
        for t in body.get("tools") or []:
            if isinstance(t, dict):
                tools[t.get("name") or t.get("type")] = t
        call = not has_tool_result(body.get("input"))
        rid = next_id("resp")
        items = []
        esc = ({"sandbox_permissions": "require_escalated",
                "justification": "hb e2e needs a prompt"} if ESCALATE else {})
        scripted = edge(body.get("input")) if tools else None
        if scripted == "hb-stall" and call:
            self.start_sse()
            self.sse("response.created", {"type": "response.created", "response": {
                "id": rid, "object": "response", "model": model, "status": "in_progress",
                "output": []}})
            stall(self)
            return
        if scripted == "hb-plain":
            time.sleep(1)
            call = False
        if scripted == "hb-ask" and call and "request_user_input" in tools:
            items.append({"type": "function_call", "id": next_id("fc"), "call_id": next_id("call"),
                          "name": "request_user_input", "status": "completed",
                          "arguments": json.dumps({"questions": [{
                              "id": "colour", "header": "Colour", "question": QUESTION,
                              "options": [{"label": "Red", "description": "The first."},
                                          {"label": "Blue", "description": "The second."}]}]})})
        elif scripted == "hb-long" and call and "exec_command" in tools:
            items.append({"type": "function_call", "id": next_id("fc"), "call_id": next_id("call"),
                          "name": "exec_command", "status": "completed",
                          "arguments": json.dumps({"cmd": PLAIN_LONG_COMMAND})})
        elif call and "exec_command" in tools:
            items.append({"type": "function_call", "id": next_id("fc"), "call_id": next_id("call"),
                          "name": "exec_command", "status": "completed",
                          "arguments": json.dumps({"cmd": COMMAND, **esc})})
        elif call and "shell" in tools:
            items.append({"type": "function_call", "id": next_id("fc"), "call_id": next_id("call"),
                          "name": "shell", "status": "completed",
                          "arguments": json.dumps({"command": ["bash", "-lc", COMMAND], **esc})})
        elif call and "shell_command" in tools:
            items.append({"type": "function_call", "id": next_id("fc"), "call_id": next_id("call"),
                          "name": "shell_command", "status": "completed",
                          "arguments": json.dumps({"command": COMMAND, **esc})})
        else:
            text = MODEL_TEXT if tools else '{"title":"Mock title"}'
            items.append({"type": "message", "id": next_id("m"), "role": "assistant",
                          "status": "completed",
                          "content": [{"type": "output_text", "text": text, "annotations": []}]})
        resp = {"id": rid, "object": "response", "model": model, "status": "in_progress",
                "output": []}
        self.start_sse()
        self.sse("response.created", {"type": "response.created", "response": resp})
        for i, it in enumerate(items):
            self.sse("response.output_item.added", {"type": "response.output_item.added",
                                                    "output_index": i, "item": it})
            self.sse("response.output_item.done", {"type": "response.output_item.done",
                                                   "output_index": i, "item": it})
        done = dict(resp, status="completed", output=items,
                    usage={"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
                           "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
                           "total_tokens": 15})
        self.sse("response.completed", {"type": "response.completed", "response": done})

    # --- OpenAI chat completions (Pi, ...) -----------------------------
    def chat(self, body):
        model = body.get("model", "gpt-mock")
        names = [(t.get("function") or {}).get("name") for t in body.get("tools") or []
                 if isinstance(t, dict)]
        shell = next((n for n in names if n in CHAT_SHELL_TOOLS), None)
        call = shell is not None and not has_tool_result(body.get("messages"))
        ask = False
        if ASK and "ask_question" in names and shell is not None:
            results = sum(1 for m in body.get("messages") or []
                          if isinstance(m, dict) and m.get("role") == "tool")
            ask, call = results == 0, results == 1
        cid = next_id("chatcmpl")
        text = chat_text(body, tools=bool(names))
        if body.get("stream") is not True:
            # Non-streaming (side requests, `--no-stream`): one whole answer.
            msg = {"role": "assistant", "content": None if call else text}
            if call:
                msg["tool_calls"] = [{"id": next_id("call"), "type": "function", "function": {
                    "name": shell, "arguments": json.dumps(CHAT_SHELL_TOOLS[shell](COMMAND))}}]
            self.send_json(200, {"id": cid, "object": "chat.completion", "created": 0,
                                 "model": model, "choices": [{
                                     "index": 0, "message": msg,
                                     "finish_reason": "tool_calls" if call else "stop"}],
                                 "usage": {"prompt_tokens": 10, "completion_tokens": 5,
                                           "total_tokens": 15}})
            return
        base = {"id": cid, "object": "chat.completion.chunk", "created": 0, "model": model}
        # Two vocabularies of edge words (issue 22's helpers wrote them at
        # once): Copilot CLI's question, stall and plain turn (EDGES), and
        # the others' (EDGE_WORDS); a word in both means the same turn.
        scripted = edge(body.get("messages")) if names else None
        eword = edge_of(chat_prompt(body.get("messages"))) if names else None
        tool, args = shell, CHAT_SHELL_TOOLS[shell](COMMAND) if shell else None
        if scripted == "hb-ask" and "ask_user" in names and not has_tool_result(
                body.get("messages")):
            # Copilot CLI's ask_user.
            tool, args, call = "ask_user", {"message": QUESTION, "requestedSchema": {
                "properties": {"colour": {"type": "string", "title": "Colour",
                                          "enum": ["Red", "Blue"]}}}}, True
        elif scripted == "hb-plain":
            time.sleep(1)
            call = False
        elif eword in ("hb-long", "hb-gate") and call:
            args = CHAT_SHELL_TOOLS[shell](LONG_COMMAND if eword == "hb-long" else GATE_COMMAND)
        elif eword == "hb-ask" and not has_tool_result(body.get("messages")):
            tool = next((n for n in names if n in EDGE_QUESTIONS), shell)
            args = EDGE_QUESTIONS.get(tool, args)
            params = next(((t.get("function") or {}).get("parameters") or {}
                           for t in body.get("tools") if isinstance(t, dict)
                           and (t.get("function") or {}).get("name") == tool), {})
            if tool == "question" and "questions" not in (params.get("properties") or {}):
                args = EDGE_QUESTION_ONE
            call = args is not None
        elif eword in ("hb-slow", "hb-text"):
            call = False
        if not names:
            # Aider (no tools): "hb-pause" answers after AIDER_PAUSE seconds
            # (the turn is seen busy), "hb-slow" streams until the client
            # goes (an interrupt while the model answers).
            said = chat_prompt(body.get("messages"))
            if "hb-pause" in said:
                time.sleep(AIDER_PAUSE)
            if "hb-slow" in said:
                eword = "hb-slow"
        self.start_sse()
        if scripted == "hb-stall" and call:
            self.sse(None, dict(base, choices=[{"index": 0, "delta": {
                "role": "assistant", "content": "Thinking"}, "finish_reason": None}]))
            stall(self)
            return
        if eword == "hb-slow":
            self.slow(lambda t: self.sse(None, dict(base, choices=[{"index": 0, "delta": {
                "role": "assistant", "content": t}, "finish_reason": None}])))
        if ask:
            # Cline's ask_question first (MOCK_ASK).
            tool, args, call = "ask_question", ASK_QUESTION, True
        if call:
            tc = {"index": 0, "id": next_id("call"), "type": "function",
                  "function": {"name": tool, "arguments": json.dumps(args)}}
            self.sse(None, dict(base, choices=[{"index": 0, "delta": {
                "role": "assistant", "content": None, "tool_calls": [tc]}, "finish_reason": None}]))
            finish = "tool_calls"
        else:
            self.sse(None, dict(base, choices=[{"index": 0, "delta": {
                "role": "assistant", "content": text}, "finish_reason": None}]))
            finish = "stop"
        self.sse(None, dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": finish}],
                            usage={"prompt_tokens": 10, "completion_tokens": 5,
                                   "total_tokens": 15}))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    # --- Gemini API (Gemini CLI) ----------------------------------------
    def gemini(self, path, body):
        """`models/M:streamGenerateContent?alt=sse` for each turn (the first
        calls `run_shell_command`, the one after its `functionResponse` is
        text); `models/M:generateContent` for side requests (the router's
        classifiers, the next-speaker check), which want a JSON answer."""
        model, _, method = path.rsplit("/", 1)[-1].partition(":")
        contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
        answered = bool(contents) and any(
            isinstance(p, dict) and "functionResponse" in p for p in contents[-1].get("parts") or [])
        names = [d.get("name") for t in body.get("tools") or [] if isinstance(t, dict)
                 for d in t.get("functionDeclarations") or [] if isinstance(d, dict)]
        usage = {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}
        if method == "countTokens":
            self.send_json(200, {"totalTokens": 10})
            return
        if method != "streamGenerateContent":
            # Each strategy reads its own members (zod drops the others).
            text = json.dumps({"reasoning": "hb mock: one bounded tool call",
                               "model_choice": "flash", "next_speaker": "user",
                               "complexity_reasoning": "one tool call",
                               "complexity_score": 10})
            self.send_json(200, {"candidates": [{
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP", "index": 0}], "usageMetadata": usage,
                "modelVersion": model})
            return
        if DELAY and answered:
            time.sleep(DELAY)
        edge = edge_of(gemini_prompt(contents))
        if "run_shell_command" in names and not answered:
            part = {"functionCall": {"name": "run_shell_command", "args": {"command": COMMAND}}}
        else:
            part = {"text": MODEL_TEXT}
        if edge == "hb-long" and "functionCall" in part:
            part["functionCall"]["args"]["command"] = f"sleep {EDGE_SECONDS}"
        elif edge == "hb-ask" and not answered and "ask_user" in names:
            part = {"functionCall": {"name": "ask_user", "args": EDGE_QUESTIONS["ask_user"]}}
        elif edge in ("hb-slow", "hb-text"):
            part = {"text": MODEL_TEXT}
        self.start_sse()
        if edge == "hb-slow":
            self.slow(lambda t: self.sse(None, {"candidates": [{"content": {
                "role": "model", "parts": [{"text": t}]}, "index": 0}],
                "modelVersion": model}))
        self.sse(None, {"candidates": [{"content": {"role": "model", "parts": [part]},
                                        "finishReason": "STOP", "index": 0}],
                        "usageMetadata": usage, "modelVersion": model})

    def slow(self, send):
        """Streams text for EDGE_SECONDS, a chunk every EDGE_TICK; a client
        that hung up (the interrupt) ends it."""
        try:
            for i in range(int(EDGE_SECONDS / EDGE_TICK)):
                send(f"word{i} ")
                time.sleep(EDGE_TICK)
        except OSError:
            self.close_connection = True
            raise


def gemini_prompt(contents):
    """The text of the conversation's last user text (Gemini API)."""
    for c in reversed(contents):
        if c.get("role") == "user":
            texts = [p.get("text") for p in c.get("parts") or []
                     if isinstance(p, dict) and isinstance(p.get("text"), str)]
            if texts:
                return " ".join(texts)
    return ""


# Anthropic edge turns (issue 22, runtimes/claude.py's edge modes), picked
# by a word in the last user message: "hb-slow" streams text for
# ANTHROPIC_SLOW seconds (an interrupt lands while the model streams),
# "hb-long" asks for Bash `timeout 60 tail -f /dev/null` (Claude Code refuses a
# long `sleep`) (an interrupt lands while the tool
# runs), "hb-ask" asks AskUserQuestion, "hb-text" answers text at once.
ANTHROPIC_EDGES = ("hb-slow", "hb-long", "hb-ask", "hb-text")
ANTHROPIC_SLOW = 60
ANTHROPIC_TICK = 0.25
ANTHROPIC_LONG = "timeout 60 tail -f /dev/null"
ANTHROPIC_QUESTION = {"question": "Which colour for the hb e2e?", "header": "Colour",
                      "multiSelect": False,
                      "options": [{"label": "Red", "description": "the first"},
                                  {"label": "Blue", "description": "the second"}]}


def anthropic_edge(messages):
    """The edge word of the last user message (its text blocks; not a
    tool's result), or None."""
    for m in reversed(messages or []):
        if not isinstance(m, dict) or m.get("role") != "user":
            continue
        c = m.get("content")
        if isinstance(c, list):
            if any(isinstance(p, dict) and p.get("type") == "tool_result" for p in c):
                return None
            c = " ".join(p.get("text", "") for p in c if isinstance(p, dict))
        text = c if isinstance(c, str) else ""
        return next((w for w in ANTHROPIC_EDGES if w in text), None)
    return None


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = PORTFILE + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, PORTFILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
