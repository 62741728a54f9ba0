"""A tiny OpenAI-compatible server for portapack's CPU examples: stdlib only.

Answers deterministically (the last user message's words, reversed), so every target's
adapter can be tested without a GPU or an engine. Not a model: a stand-in with the same API
shape as `vllm serve` (/health, /v1/models, /v1/chat/completions, /v1/completions).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

READY = threading.Event()


def answer(text: str, max_tokens: int) -> list[str]:
    """The reply as tokens: the words of ``text`` in reverse order, at most max_tokens."""
    words = text.split()[::-1][:max_tokens]
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    model = "tiny"

    def log_message(self, fmt: str, *args) -> None:  # one short line per request
        print(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}", flush=True)

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        # OpenAI's error shape: {"error": {"message", "type", "code"}}
        self._json(status, {"error": {"message": message, "type": "invalid_request_error",
                                      "code": status}})

    def do_GET(self) -> None:
        if self.path in ("/health", "/ping"):
            # /ping is RunPod's load-balancer default health path; 204 while starting.
            if READY.is_set():
                self._json(200, {"status": "healthy"})
            else:
                self.send_response(204 if self.path == "/ping" else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()
        elif self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [
                {"id": self.model, "object": "model", "created": 0, "owned_by": "portapack"}]})
        else:
            self._error(404, f"no route GET {self.path}")

    def do_POST(self) -> None:
        if not READY.is_set():
            return self._error(503, "server is starting")
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            return self._error(400, f"invalid JSON body: {exc}")
        if self.path == "/v1/chat/completions":
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages or not all(
                    isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
                return self._error(400, "'messages' must be a non-empty list of "
                                        "{role, content} objects")
            prompt = next((m["content"] for m in reversed(messages) if m.get("role") == "user"),
                          messages[-1]["content"])
            self._complete(body, prompt, chat=True)
        elif self.path == "/v1/completions":
            if not isinstance(body.get("prompt"), str):
                return self._error(400, "'prompt' must be a string")
            self._complete(body, body["prompt"], chat=False)
        else:
            self._error(404, f"no route POST {self.path}")

    def _complete(self, body: dict, prompt: str, chat: bool) -> None:
        max_tokens = body.get("max_tokens", 16)
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            return self._error(400, "'max_tokens' must be a positive integer")
        tokens = answer(prompt, max_tokens)
        finish = "length" if len(prompt.split()) > max_tokens else "stop"
        kind = "chat.completion" if chat else "text_completion"
        base = {"id": "cmpl-tiny", "created": 0, "model": body.get("model") or self.model}
        if not body.get("stream"):
            choice = ({"message": {"role": "assistant", "content": "".join(tokens)}} if chat
                      else {"text": "".join(tokens)})
            return self._json(200, base | {"object": kind, "choices": [
                {"index": 0, **choice, "finish_reason": finish}],
                "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(tokens),
                          "total_tokens": len(prompt.split()) + len(tokens)}})
        # SSE: one `data: {...}` event per token, a final event with finish_reason, [DONE].
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for i, token in enumerate(tokens + [None]):
            delta = ({"content": token} if token is not None else {}) if chat else None
            if chat and i == 0:
                delta = {"role": "assistant", **delta}
            choice = {"index": 0, "finish_reason": None if token is not None else finish}
            choice |= {"delta": delta} if chat else {"text": token or ""}
            event = base | {"object": kind + ".chunk" if chat else kind, "choices": [choice]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", default="tiny", help="the model name /v1/models lists")
    parser.add_argument("--startup-delay", type=float, default=0.0,
                        help="seconds before /health answers 200 (an engine loading weights)")
    args = parser.parse_args()
    Handler.model = args.model
    # As a container's PID 1 the process gets no default SIGTERM handling: exit cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    threading.Timer(args.startup_delay, READY.set).start()
    print(f"tiny-openai: model {args.model!r} on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
