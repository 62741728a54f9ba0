"""Run a built artifact under its platform's own local runtime, and send it requests.

Two shapes: an HTTP server the platform ships (Cog's, RunPod's) started as a subprocess,
or an in-process runtime (Modal's ``.local()``, Truss's loader) hosted in a worker
subprocess, so the user's code never loads into portapack's own process.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..errors import PortapackError


class RuntimeFailed(PortapackError):
    """The artifact could not be started or stopped answering."""


@dataclass
class Outcome:
    """One request's result: ``ok`` with an output, or an error message naming the input."""

    ok: bool
    output: Any = None
    error: str | None = None
    status: int | None = None  # HTTP status, for server runtimes
    seconds: float = 0.0
    items: list[Any] | None = field(default=None)  # what a stream yielded, in order


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runtime:
    """A running artifact. Use as a context manager: it is always stopped."""

    target: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, build_dir: Path, *, python: str | None = None, port: int | None = None,
                 env: dict[str, str] | None = None):
        self.build_dir = Path(build_dir).resolve()
        self.python = python or sys.executable
        self.port = port or free_port()
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self._log_dir = Path(tempfile.mkdtemp(prefix=f"portapack-{self.target}-"))
        self.log_path = self._log_dir / "server.log"

    # -- lifecycle ---------------------------------------------------------------------------
    def command(self) -> list[str]:
        raise NotImplementedError

    def process_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # The platforms spawn `python` from PATH: the chosen interpreter's bin comes first.
        env["PATH"] = str(Path(self.python).parent) + os.pathsep + env.get("PATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.env)
        return env

    def start(self, timeout: float = 120) -> None:
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), cwd=self.build_dir, env=self.process_env(),
                                     stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        try:
            self._wait_ready(timeout)
        except BaseException as exc:  # not ready, failed setup, Ctrl-C, SIGTERM: never leak it
            self.stop()
            if isinstance(exc, RuntimeError):
                raise RuntimeFailed(str(exc)) from None
            raise

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeFailed(f"{self.target} runtime exited with code {self.proc.returncode}"
                                    f" before it was ready:\n{self.log_tail()}")
            if self.ready():
                return
            time.sleep(0.2)
        raise RuntimeFailed(f"{self.target} runtime not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def ready(self) -> bool:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the process group: SIGTERM, then SIGKILL after a grace period."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, PermissionError):
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- requests ----------------------------------------------------------------------------
    def predict(self, inputs: dict[str, Any]) -> Outcome:
        raise NotImplementedError

    def stream(self, inputs: dict[str, Any]) -> Outcome:
        """Run a streaming prediction through the platform's streaming path; items in order."""
        return self.predict(inputs)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sample_request(self, inputs: dict[str, Any]) -> str:
        return ""


def http_json(method: str, url: str, body: Any = None, timeout: float = 600,
              headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, parsed JSON or text) for one request; HTTP errors are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        return 0, str(exc)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", errors="replace")


class WorkerRuntime(Runtime):
    """An in-process platform runtime hosted in ``python -m portapack.runtimes.worker``."""

    loader: ClassVar[str]  # "module:function" that loads the artifact, run inside the worker

    def command(self) -> list[str]:
        return [self.python, "-u", "-m", "portapack.runtimes.worker", self.loader, str(self.build_dir)]

    def process_env(self) -> dict[str, str]:
        env = super().process_env()
        # The worker imports portapack itself: make this checkout importable however it runs.
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def start(self, timeout: float = 120) -> None:
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), cwd=self.build_dir, env=self.process_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                     start_new_session=True)
        log.close()
        try:
            reply = self._read(timeout)
        except BaseException:
            self.stop()
            raise
        if not reply.get("ready"):
            self.stop()
            raise RuntimeFailed(f"{self.target} runtime failed to load: {reply.get('error')}\n"
                                f"{self.log_tail()}")

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc and self.proc.stdout
        # The worker writes each reply as one flushed line: wait for it, but not forever.
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            raise RuntimeFailed(f"{self.target} worker gave no answer within {timeout:.0f}s")
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait(timeout=timeout)
            raise RuntimeFailed(f"{self.target} worker exited with code {code}:\n{self.log_tail()}")
        return json.loads(line)

    def _call(self, inputs: dict[str, Any], stream: bool) -> Outcome:
        assert self.proc and self.proc.stdin
        started = time.perf_counter()
        self.proc.stdin.write((json.dumps({"inputs": inputs, "stream": stream}) + "\n").encode())
        self.proc.stdin.flush()
        reply = self._read(timeout=600)
        return Outcome(ok=reply["ok"], output=reply.get("output"), error=reply.get("error"),
                       items=reply.get("items"), seconds=time.perf_counter() - started)

    def predict(self, inputs: dict[str, Any]) -> Outcome:
        return self._call(inputs, stream=False)

    def stream(self, inputs: dict[str, Any]) -> Outcome:
        return self._call(inputs, stream=True)

    def stop(self) -> None:
        if self.proc and self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        super().stop()
