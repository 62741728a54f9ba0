"""RunPod load-balancer health sidecar: GET /ping on PORT_HEALTH, from the server's own health.

RunPod polls /ping on PORT_HEALTH: 200 = healthy, 204 = initializing, anything else =
unhealthy (docs.runpod.io/serverless/load-balancing/overview, 2026-12). Engines such as
`vllm serve` refuse connections while loading and answer /health, not /ping, so this
translates: the server's health 200 -> 200; no answer yet -> 204; failing after it was
once healthy -> 503.
"""

import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVER_HEALTH = f"http://127.0.0.1:{os.environ['PORT']}{os.environ.get('SERVER_HEALTH', '/health')}"
was_healthy = False


class Ping(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the load balancer polls often: stay quiet
        pass

    def do_GET(self) -> None:
        global was_healthy
        if self.path != "/ping":
            status = 404
        else:
            try:
                with urllib.request.urlopen(SERVER_HEALTH, timeout=5) as answer:
                    status = 200 if answer.status == 200 else 204
            except (urllib.error.URLError, OSError):
                status = 503 if was_healthy else 204
            was_healthy = was_healthy or status == 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT_HEALTH"])), Ping).serve_forever()
