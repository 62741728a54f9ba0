"""An in-process platform runtime (Modal's ``.local()``, the reference predictor) hosted in a
worker subprocess: the user's code never loads into portapack's own process."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.proof.runtimes.base import Outcome, Runtime, RuntimeFailed, start_timeout

if TYPE_CHECKING:
    pass

WORKER = Path(__file__).with_name("worker.py")


class WorkerRuntime(Runtime):
    """An in-process platform runtime (Modal's ``.local()``, the reference predictor) hosted
    in the stdlib-only ``worker.py``, run by path with ``python -P`` in the artifact's env:
    portapack itself is not importable there, and ``-P`` keeps the worker's own folder (whose
    module names would shadow the real ``cog``/``runpod``) off sys.path."""

    # A loader built into worker.py ("modal", "reference"), or "module:function" importable
    # by portapack's interpreter (a plugin's runtime that is not isolated).
    loader: ClassVar[str]

    def loader_args(self) -> list[str]:
        return []

    def command(self) -> list[str]:
        if self.isolated:
            return [self.python, "-P", "-u", str(WORKER), self.loader, str(self.build_dir),
                    *self.loader_args()]
        return [self.python, "-u", "-m", "portapack.proof.runtimes.worker", self.loader, str(self.build_dir),
                *self.loader_args()]

    def process_env(self) -> dict[str, str]:
        env = super().process_env()
        if not self.isolated:  # the worker imports portapack: make this checkout importable
            package_root = str(Path(__file__).resolve().parents[3])
            env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def start(self, timeout: float | None = None) -> None:
        timeout = timeout or start_timeout()
        self.prepare()
        argv = self.full_command()
        log = open(self.log_path, "wb")
        self._buf = b""
        self.proc = subprocess.Popen(argv, cwd=self.workdir(), env=self.process_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                     start_new_session=True, bufsize=0)
        log.close()
        try:
            reply = self._read(timeout)
        except BaseException:
            self.stop()
            raise
        if not reply.get("ready"):
            tail = self.log_tail()
            self.stop()
            failed = RuntimeFailed(f"{self.target} runtime failed to load: {reply.get('error')}\n{tail}")
            failed.reason = reply.get("error")  # the exception alone, without the log
            raise failed

    def _read(self, timeout: float) -> dict[str, Any]:
        """The worker's next reply line. Read from the raw fd into our own buffer: a buffered
        reader could hold the next line already, where select() would not see it."""
        assert self.proc and self.proc.stdout
        buf = getattr(self, "_buf", b"")
        deadline = time.monotonic() + timeout
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise RuntimeFailed(f"{self.target} worker gave no answer within {timeout:.0f}s")
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                code = self.proc.wait(timeout=timeout)
                raise RuntimeFailed(f"{self.target} worker exited with code {code}:\n{self.log_tail()}")
            buf += chunk
        line, _, self._buf = buf.partition(b"\n")
        return json.loads(line)

    def _call(self, inputs: dict[str, Any], stream: bool) -> Outcome:
        assert self.proc and self.proc.stdin
        started = time.perf_counter()
        self.proc.stdin.write((json.dumps({"inputs": inputs, "stream": stream}) + "\n").encode())
        self.proc.stdin.flush()
        reply = self._read(timeout=600)
        return Outcome(ok=reply["ok"], output=reply.get("output"), error=reply.get("error"),
                       items=reply.get("items"), seconds=time.perf_counter() - started,
                       error_type=reply.get("type"))

    def predict(self, inputs: dict[str, Any]) -> Outcome:
        return self._call(inputs, stream=False)

    def each(self, inputs: dict[str, Any]) -> Iterator[Any]:
        """A streaming prediction's items as the worker yields them; a failure raises
        RuntimeFailed with the error (its class first, as ``Type: message``)."""
        assert self.proc and self.proc.stdin
        self.proc.stdin.write((json.dumps({"inputs": inputs, "each": True}) + "\n").encode())
        self.proc.stdin.flush()
        while True:
            reply = self._read(timeout=600)
            if "item" in reply:
                yield reply["item"]
            elif reply.get("ok") and reply.get("end"):
                return
            elif reply.get("ok"):  # not a stream after all: its whole output
                yield from reply.get("items") or [reply.get("output")]
                return
            else:
                raise RuntimeFailed(f"{reply.get('type') or 'Error'}: {reply.get('error')}")

    def stream(self, inputs: dict[str, Any]) -> Outcome:
        return self._call(inputs, stream=True)

    def stop(self) -> None:
        if self.proc and self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        super().stop()
