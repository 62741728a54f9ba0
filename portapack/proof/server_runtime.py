"""Running a ``server:`` artifact here and talking HTTP to it.

Each target's server mode has a runtime (``targets/<name>/server.py``) that starts the
artifact the way its platform would, as closely as this machine allows, and says how an
example reaches the server there (Truss: Baseten's predict route; Cog: Cog's /predictions).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portapack.errors import PortapackError
from portapack.spec.server import HttpExample

if TYPE_CHECKING:
    from portapack.spec.loader import Project


class ServerFailed(PortapackError):
    """The server artifact did not start or stopped answering."""


@dataclass
class HttpReply:
    """What came back for one request."""

    status: int
    text: str = ""
    content_type: str = ""
    events: list[Any] = field(default_factory=list)  # SSE data: events before [DONE]
    done: bool = False  # the stream ended with data: [DONE]
    seconds: float = 0.0

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None


def request(url: str, method: str = "GET", body: Any = None, *, raw: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 120) -> HttpReply:
    """One HTTP request; SSE replies are read event by event. Connection errors raise OSError."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    started = time.perf_counter()
    try:
        response = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        return HttpReply(exc.code, text, exc.headers.get("Content-Type", ""),
                         seconds=time.perf_counter() - started)
    with response:
        kind = response.headers.get("Content-Type", "")
        reply = HttpReply(response.status, content_type=kind)
        if "text/event-stream" in kind:
            lines = []
            for raw_line in response:
                line = raw_line.decode(errors="replace").rstrip("\r\n")
                lines.append(line)
                if line.startswith("data:"):
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        reply.done = True
                        continue
                    try:
                        reply.events.append(json.loads(payload))
                    except ValueError:
                        reply.events.append(payload)
            reply.text = "\n".join(lines)
        else:
            reply.text = response.read().decode(errors="replace")
    reply.seconds = time.perf_counter() - started
    return reply


def stream_text(events: list[Any]) -> str:
    """The text of an OpenAI-style stream: each chunk's delta content (chat) or text."""
    out = []
    for event in events:
        for choice in event.get("choices", []) if isinstance(event, dict) else []:
            out.append((choice.get("delta") or {}).get("content") or choice.get("text") or "")
    return "".join(out)


def wait_http(url: str, deadline: float, alive: Any = None, ok: tuple[int, ...] = (200,)) -> None:
    """Poll ``url`` until it answers one of ``ok``; ``alive()`` returns an error when the
    process or container died. ServerFailed at the deadline."""
    last = "no answer"
    while time.monotonic() < deadline:
        if alive is not None and (dead := alive()):
            raise ServerFailed(dead)
        try:
            reply = request(url, timeout=5)
            if reply.status in ok:
                return
            last = f"HTTP {reply.status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise ServerFailed(f"{url} did not answer {'/'.join(map(str, ok))} in time (last: {last})")


def kill_group(proc: subprocess.Popen | None, grace: float = 10) -> None:
    """Stop a process started with start_new_session=True and everything it started."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class ServerRuntime:
    """A server artifact running here. Subclasses start it and say where requests go."""

    description = "the server"

    def __init__(self, build_dir: Path, *, project: Project | None = None,
                 base_image: str | None = None, **_: Any):
        self.build_dir = Path(build_dir)
        # An image runtime builds FROM this (--base-image); None: the artifact's own default.
        self.base_image = base_image
        if project is None:  # started from a build dir alone: its marker names the spec
            from portapack.building.builder import read_marker
            from portapack.spec.loader import load_project

            project = load_project((read_marker(self.build_dir) or {}).get("spec"))
        self.project = project
        assert project.spec.server is not None
        self.server = project.spec.server

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> ServerRuntime:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- requests ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        raise NotImplementedError

    def unreachable(self, example: HttpExample) -> str | None:
        """Why this example's route cannot be called on this platform (None: it can)."""
        return None

    def send(self, example: HttpExample) -> HttpReply:
        """The example as this platform's clients would send it."""
        method = example.method
        return request(self.url_for(example.route), method,
                       example.body if method == "POST" else None,
                       timeout=self.server.startup_timeout)

    def url_for(self, route: str) -> str:
        return self.base_url + route

    def bad_request(self) -> tuple[str, HttpReply]:
        """A malformed request to the first route: (what was sent, the reply)."""
        route = self.server.routes[0]
        body = {"messages": "x"} if route.endswith("chat/completions") else {"prompt": 12345}
        return (f"POST {route} {json.dumps(body)}",
                request(self.url_for(route), "POST", body, timeout=60))

    def bad_ok(self, reply: HttpReply) -> bool:
        """Whether the platform refused the malformed request as it should (a 4xx)."""
        return 400 <= reply.status < 500


def lookup_text(reply: HttpReply) -> Any:
    """A short, readable form of a reply for the results table."""
    if reply.events:
        return {"status": reply.status, "stream": stream_text(reply.events), "done": reply.done}
    return {"status": reply.status, "body": reply.json if reply.json is not None else reply.text[:300]}


class ContainerServerRuntime(ServerRuntime):
    """A server artifact run as a real container on loopback ports (RunPod's worker image,
    Truss's docker_server files): waiting, logs on failure, and removal in one place."""

    container: Any = None
    port: int = 0
    artifact: str = "the server artifact"  # for messages: "the RunPod worker"

    def cannot_run(self) -> str | None:
        from portapack.proof import engine

        if self.project.spec.resources.gpu is not None:
            return f"the server needs a GPU ({self.project.spec.resources.gpu}); none here"
        try:
            engine.docker_client()
        except engine.DockerUnavailable as exc:
            return f"{self.artifact} is a Docker image: {exc}"
        return None

    def wait_ready(self, url: str, what: str) -> None:
        """Wait for ``url`` to answer 200 (the server's startup_timeout, plus 30 s for the
        container itself); on failure the container's last logs say why, and it is removed."""
        deadline = time.monotonic() + self.server.startup_timeout + 30
        try:
            wait_http(url, deadline, self._dead)
        except ServerFailed:
            logs = self.container.logs().decode(errors="replace")[-2000:]
            self.stop()
            raise ServerFailed(f"{what}:\n{logs}") from None

    def _dead(self) -> str | None:
        self.container.reload()
        return "the container exited" if self.container.status == "exited" else None

    def stop(self) -> None:
        container, self.container = self.container, None
        if container is not None:
            try:
                container.remove(force=True)
            except Exception:  # already gone
                pass

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
