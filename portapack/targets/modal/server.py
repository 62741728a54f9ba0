"""Modal server mode: ``@app.cls`` whose ``@modal.enter`` starts the server and waits for its
health route, exposed with ``@modal.web_server(port, startup_timeout=...)``.

Modal docs "Web endpoints / web_server" (modal 1.6.4 modal/partial_function.py); the GPU
snapshot idiom (``enable_memory_snapshot=True``, ``experimental_options={"enable_gpu_snapshot":
True}``, a snap=True enter that starts and warms the engine, vLLM sleep/wake around it) is
modal-labs/modal-examples 06_gpu_and_ml/llm-serving/vllm_low_latency.py (2025-12 revision).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.proof.server_runtime import ServerFailed, ServerRuntime, kill_group, wait_http
from portapack.targets.artifacts import code_entries
from portapack.targets.base import Note
from portapack.targets.modal.target import ModalTarget, pip_kwargs
from portapack.targets.servers import common_problems, server_context, server_of, warmup_request

if TYPE_CHECKING:
    from portapack.spec.loader import Project


class ModalServerTarget(ModalTarget):
    runtime = ".server:ModalServerRuntime"
    templates: ClassVar[dict[str, str]] = {
        "modal_app.py": "modal/server/modal_app.py.j2",
        "README.md": "modal/server/README.md.j2",
    }

    def context(self, project: Project) -> dict[str, Any]:
        spec, opts = project.spec, project.spec.targets.modal
        ctx = server_context(project)
        hf = self.hf_weights(project)
        env = dict(self.image_env(project))
        if opts.snapshot_sleep:  # vLLM serves /sleep and /wake_up only in its dev mode
            env.setdefault("VLLM_SERVER_DEV_MODE", "1")
        snapshot = self.snapshot(project)
        ctx.update(
            requirements=list(project.requirements) + (ctx["hf_requirement"] if hf else []),
            system_packages=spec.system_packages,
            env=env,
            build_commands=spec.build_steps,
            pip_kwargs=pip_kwargs(spec),
            weight_commands=[c for c in ctx["weight_commands"] if not c.startswith("hf ")],
            hf_weights=hf,
            code_files=[{"source": top, "kind": kind, "remote": f"/root/{top}"}
                        for top, kind in code_entries(project).items()],
            # @app.cls(...) settings of plain value; GPU snapshot, secrets, volumes follow.
            cls_options=self.cls_values(project),
            secrets=spec.secrets,
            concurrency=spec.scaling.concurrency,
            snapshot=snapshot,
            gpu_snapshot=opts.gpu_snapshot,
            warmup=warmup_request(project) if snapshot else None,
            sleep=opts.snapshot_sleep.model_dump() if opts.snapshot_sleep else None,
        )
        return ctx

    def snapshot(self, project: Project) -> bool:
        """Off unless asked: a snapshot of a running server is only safe when the user says so."""
        opts = project.spec.targets.modal
        return bool(opts.gpu_snapshot or opts.memory_snapshot)

    def validate(self, project: Project) -> list[str]:
        spec, opts = project.spec, project.spec.targets.modal
        problems = super().validate(project) + common_problems(project)
        if opts.gpu_snapshot and spec.resources.gpu is None:
            problems.append("targets.modal.gpu_snapshot needs resources.gpu; for CPU-only "
                            "servers use targets.modal.memory_snapshot")
        if opts.snapshot_sleep and not opts.gpu_snapshot:
            problems.append("targets.modal.snapshot_sleep is used only with gpu_snapshot: true")
        if opts.snapshot_sleep and "--enable-sleep-mode" not in server_of(project).command:
            problems.append("targets.modal.snapshot_sleep needs --enable-sleep-mode in "
                            "server.command (vLLM)")
        return problems

    def extra_notes(self, project: Project) -> list[Note]:
        return []


class ModalServerRuntime(ServerRuntime):
    """The generated class run by Modal itself in a child interpreter: ``Server().serve.local()``
    runs the enter hooks (the server starts and is waited for), then the port is probed."""

    description = "modal_app.Server().serve.local() in a child process (enter hooks, then the port)"

    def __init__(self, build_dir: Path, **kwargs: Any):
        super().__init__(build_dir, **kwargs)
        self.child: subprocess.Popen | None = None

    def cannot_run(self) -> str | None:
        if self.project.spec.resources.gpu is not None:
            return f"the server needs a GPU ({self.project.spec.resources.gpu}); none here"
        return None

    def start(self) -> None:
        # Modal's exit hooks are not callable locally: the child runs in its own session and
        # is stopped with its process group (the server included).
        code = ("import threading, modal_app; modal_app.Server().serve.local(); "
                "print('READY', flush=True); threading.Event().wait()")
        self.child = subprocess.Popen([sys.executable, "-W", "error", "-c", code],
                                      cwd=self.build_dir, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, start_new_session=True)
        deadline = time.monotonic() + self.server.startup_timeout + 30
        lines: list[str] = []
        assert self.child.stdout is not None
        for line in self.child.stdout:
            lines.append(line)
            if line.strip() == "READY":
                break
            if time.monotonic() > deadline:
                break
        else:
            self.stop()
            raise ServerFailed("modal_app.Server().serve.local() exited:\n" + "".join(lines[-30:]))
        wait_http(self.base_url + self.server.health, deadline)

    def stop(self) -> None:
        kill_group(self.child)
        self.child = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"
