"""Run a built artifact under its platform's own local runtime, and send it requests.

Two shapes: an HTTP server the platform ships (Cog's, RunPod's) started as a subprocess,
or an in-process runtime (Modal's ``.local()``, Truss's loader) hosted in a worker
subprocess, so the user's code never loads into portapack's own process.
"""

from __future__ import annotations

import json
import os
import shutil
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
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.errors import PortapackError
from portapack.proof.envs import Env, ensure_env
from portapack.proof.sandbox import clean_env, weight_binds, wrap

if TYPE_CHECKING:
    from portapack.spec.loader import Project


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
    error_type: str | None = None  # the exception's class, from an in-process runtime


def start_timeout() -> float:
    """Seconds a runtime may take to become ready: PORTAPACK_START_TIMEOUT, default 120."""
    try:
        return float(os.environ.get("PORTAPACK_START_TIMEOUT") or 120)
    except ValueError:
        return 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runtime:
    """A running artifact. Use as a context manager: it is always stopped."""

    target: ClassVar[str]
    description: ClassVar[str]
    # The platform streams bytes, not items (Truss): a stream is compared joined into one text.
    joins_stream: ClassVar[bool] = False

    def __init__(self, build_dir: Path, *, python: str | None = None, port: int | None = None,
                 env: dict[str, str] | None = None, project: Project | None = None):
        self.build_dir = Path(build_dir).resolve()
        self._python = python
        self.python = python or sys.executable  # set to the artifact env's in start()
        self.port = port or free_port()
        self.env = env or {}
        self.project = project
        self.proc: subprocess.Popen | None = None
        self._log_dir = Path(tempfile.mkdtemp(prefix=f"portapack-{self.target}-"))
        self.log_path = self._log_dir / "server.log"
        self.environment: Env | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def command(self) -> list[str]:
        raise NotImplementedError

    # Built-in runtimes run in their own env (see portapack.proof.envs) with a clean environment;
    # a plugin's runtime that does not opt in keeps portapack's interpreter and environment.
    isolated: ClassVar[bool] = False

    def runtime_packages(self) -> list[str]:
        """What the platform itself runs, installed beside the artifact's requirements."""
        return []

    def prepare(self) -> None:
        """Get the artifact's environment (cached; created with uv on first use)."""
        if self._python or not self.isolated:
            return
        requirements = self.build_dir / "requirements.txt"
        self.environment = ensure_env(self.target, packages=self.runtime_packages(),
                                      requirements=requirements if requirements.is_file() else None)
        self.python = str(self.environment.python)

    def process_env(self) -> dict[str, str]:
        if not self.isolated:
            env = dict(os.environ)
            # The platforms spawn `python` from PATH: the chosen interpreter's bin comes first.
            env["PATH"] = str(Path(self.python).parent) + os.pathsep + env.get("PATH", "")
            env["PYTHONUNBUFFERED"] = "1"
            env.update(self.env)
            return env
        spec = self.project.spec if self.project else None
        env = clean_env(Path(self.python).parent, self._log_dir, spec.env if spec else {},
                        spec.secrets if spec else ())
        env.update(self.env)
        return env

    def weight_binds(self) -> dict[str, str]:
        """{path in the sandbox: host path} for the project's local weights."""
        if self.project is None:
            return {}
        from portapack.targets.artifacts import local_weights

        return weight_binds(self.project.root, local_weights(self.project))

    def sandbox_tmpfs(self) -> tuple[str, ...]:
        """Paths that are an empty tmpfs inside the weights sandbox (platform-private folders)."""
        return ()

    def full_command(self) -> list[str]:
        """``command()``, inside the weights sandbox when the project has local weights."""
        return wrap(self.command(), self.weight_binds(), self.sandbox_tmpfs())

    def workdir(self) -> Path:
        return self.build_dir

    def start(self, timeout: float | None = None) -> None:
        timeout = timeout or start_timeout()
        self.prepare()
        argv = self.full_command()
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, cwd=self.workdir(), env=self.process_env(),
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
        raise RuntimeFailed(self.not_ready(timeout))

    def not_ready(self, timeout: float) -> str:
        """Why the runtime is not ready after ``timeout``: what was seen, and the fix (first
        line), then the log's last lines (all of it goes to the test's log folder)."""
        lines = "\n".join(_readable(self.log_tail(200)).splitlines()[-15:])
        seen = "still running, never answered its readiness check" + (
            "" if lines.strip() else " and logged nothing")
        head = (f"{self.target} runtime not ready after {timeout:.0f}s ({seen}): if load() needs "
                "longer (downloads, large weights), set PORTAPACK_START_TIMEOUT=SECONDS; "
                "otherwise it is stuck in load(): see its log")
        return head + (f"\nlast log lines:\n{lines}" if lines.strip() else "")

    def ready(self) -> bool:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the process group: SIGTERM, then SIGKILL after a grace period."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return self.cleanup()
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, PermissionError):
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        self.cleanup()

    def cleanup(self) -> None:
        """Remove this run's HOME, TMPDIR and bytecode (the log stays until the object goes)."""
        for name in ("home", "tmp", "pycache"):
            shutil.rmtree(self._log_dir / name, ignore_errors=True)

    def __del__(self) -> None:  # a runtime dropped without stop() (a CLI run's end): never leak
        try:
            self.stop()
        except Exception:
            pass
        shutil.rmtree(getattr(self, "_log_dir", "/nonexistent"), ignore_errors=True)

    def log_size(self) -> int:
        """Where the log ends now (see :meth:`log_since`)."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int, lines: int = 30) -> str:
        """The last ``lines`` the runtime logged after ``offset`` (e.g. during one request)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(_readable(text).splitlines()[-lines:])

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

    def endpoints(self) -> dict[str, Any]:
        """Each way in to the model this runtime serves, by a label for the test rows ("" for
        the main one): a ``(inputs) -> Outcome`` callable each."""
        return {"": self.predict}


def _readable(text: str) -> str:
    """A log with JSON lines (Truss's server logs so) as plain lines: each line's message,
    then its traceback (``exc_info``) unescaped."""
    out = []
    for line in text.splitlines():
        record = None
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                pass
        if isinstance(record, dict) and "message" in record:
            out.append(str(record["message"]))
            if record.get("exc_info"):
                out.extend(str(record["exc_info"]).splitlines())
        else:
            out.append(line)
    return "\n".join(out)


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
