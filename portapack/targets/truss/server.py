"""Truss server mode: a ``docker_server`` config (Baseten's idiom for a custom HTTP server).

truss 0.18.36 truss/base/truss_config.py ``DockerServer``: start_command, server_port,
predict_endpoint, readiness_endpoint, liveness_endpoint; port 8080 is Baseten's proxy's.
The user's files go in ``data/``, which Truss's image copies to /app/data. Baseten's nginx
maps /v1/models/model:predict to predict_endpoint and forwards every other path to the
server (truss templates/docker_server/proxy.conf.jinja), so no route is lost.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.proof.server_runtime import ContainerServerRuntime, ServerFailed
from portapack.spec.server import HttpExample
from portapack.targets.base import Feature, Note
from portapack.targets.servers import common_problems, server_context, server_of
from portapack.targets.truss.target import TrussTarget

if TYPE_CHECKING:
    from portapack.spec.loader import Project

APP_DATA = "/app/data"  # where Truss's Dockerfile copies data/ (COPY ./data ${APP_HOME}/data)
PREDICT = "/v1/models/model:predict"  # Baseten's predict route, proxied to predict_endpoint
READINESS = "/v1/models/model"  # proxied to readiness_endpoint
PROXY_PORT = 8080


class TrussServerTarget(TrussTarget):
    code_dir = "data"
    runtime = ".server:TrussServerRuntime"
    templates: ClassVar[dict[str, str]] = {
        "config.yaml": "truss/config.yaml.j2",
        "README.md": "truss/server/README.md.j2",
    }

    def context(self, project: Project) -> dict[str, Any]:
        ctx = server_context(project)
        ctx.update(config=self.config(project, self.accelerator(project)),
                   autoscaling=self.autoscaling(project), predict=PREDICT)
        return ctx

    def validate(self, project: Project) -> list[str]:
        problems = common_problems(project)
        if server_of(project).port == PROXY_PORT:
            problems.append("server.port 8080 is reserved by Baseten's proxy; use another port, "
                            "e.g. 8000")
        return problems

    def extra_notes(self, project: Project) -> list[Note]:
        notes = super().extra_notes(project)
        if project.spec.targets.truss.base_image is None and project.requirements:
            notes.append(Note(self.name, "requirements", "installed into Truss's default server "
                              "image; an engine with CUDA needs targets.truss.base_image"))
        return notes

    def start_command(self, project: Project) -> str:
        """sh -c '...': secrets read from /secrets/<name> (Baseten's documented idiom for a
        start_command), the command run from /app/data so relative paths work, exec'd so it
        gets the signals."""
        parts = [f'export {s}="$(cat /secrets/{s})"' for s in project.spec.secrets]
        if project.files:
            parts.append(f"cd {APP_DATA}")
        parts.append(f"exec {server_of(project).command}")
        return "sh -c " + shlex.quote(" && ".join(parts))

    def config(self, project: Project, accelerator: str | None) -> dict[str, Any]:
        spec, server = project.spec, server_of(project)
        config = super().config(project, accelerator)
        config["requirements"] = list(project.requirements)
        if config["requirements"]:
            config["requirements"] = spec.index_options + config["requirements"]
        else:
            del config["requirements"]
        config.pop("model_metadata", None)
        if spec.targets.truss.base_image:
            config["base_image"] = {"image": spec.targets.truss.base_image}
        config["resources"]["use_gpu"] = accelerator is not None
        config["docker_server"] = {
            "start_command": self.start_command(project),
            "server_port": server.port,
            "predict_endpoint": server.routes[0],
            "readiness_endpoint": server.health,
            "liveness_endpoint": server.health,
        }
        return config


# The docker_server layer of truss's own Dockerfile (truss templates/server.Dockerfile.jinja,
# docker_server branch), on a plain Debian Python base (baseten/truss-server-base is large):
# python:X.Y-slim unless --base-image names another.
LOCAL_DOCKERFILE = """\
ARG BASE_IMAGE=python:{python}-slim
FROM ${{BASE_IMAGE}}
RUN apt-get update -y && apt-get install -y --no-install-recommends curl nginx \\
 && rm -rf /var/lib/apt/lists/* && rm -f /etc/nginx/sites-enabled/default
COPY docker_server_requirements.txt /app/docker_server_requirements.txt
RUN python3 -m venv /docker_server/.venv \\
 && /docker_server/.venv/bin/pip install -q -r /app/docker_server_requirements.txt
{requirements}COPY data /app/data
COPY proxy.conf /etc/nginx/conf.d/proxy.conf
COPY supervisord.conf /etc/supervisor/supervisord.conf
RUN mkdir -p /dev/shm
ENTRYPOINT ["/docker_server/.venv/bin/supervisord", "-c", "/etc/supervisor/supervisord.conf"]
"""


class TrussServerRuntime(ContainerServerRuntime):
    """Truss's generated nginx + supervisord files (``truss image build-context``) in a local
    Debian image: Baseten's proxy routes in front of the user's server, on a loopback port."""

    description = ("truss's generated nginx+supervisord files on a local Debian base "
                   "(Baseten's base image is on Docker Hub)")

    def __init__(self, build_dir: Path, **kwargs: Any):
        super().__init__(build_dir, **kwargs)
        self.container: Any = None
        self.port = 0

    def cannot_run(self) -> str | None:
        from portapack.proof import engine

        try:
            engine.docker_client()
        except engine.DockerUnavailable as exc:
            return f"Truss's docker_server runs only in its image: {exc}"
        if self.project.spec.targets.truss.base_image:
            return (f"the base image {self.project.spec.targets.truss.base_image} is not local "
                    "(no Docker Hub here)")
        return None

    def start(self) -> None:
        import tempfile

        from portapack.proof import engine
        from portapack.proof.runtimes.base import free_port

        context = Path(tempfile.mkdtemp(prefix="portapack-truss-ctx-"))
        truss_cli = Path(sys.executable).with_name("truss")
        done = subprocess.run([str(truss_cli), "image", "build-context", str(context / "ctx"),
                               str(self.build_dir)], capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise ServerFailed(f"truss image build-context failed:\n{done.stderr[-2000:]}")
        ctx = context / "ctx"
        requirements = ""
        if (ctx / "requirements.txt").is_file() and self.project.requirements:
            requirements = ("COPY requirements.txt /app/requirements.txt\n"
                            "RUN pip install --break-system-packages -q -r /app/requirements.txt\n")
        (ctx / "Dockerfile.portapack").write_text(LOCAL_DOCKERFILE.format(
            requirements=requirements, python=self.project.spec.python))
        tag = f"{self.project.spec.name}:portapack-truss"
        args = [f"--build-arg={k}={v}" for k, v in engine.build_args(self.base_image).items()]
        command = [*engine.buildkit_command(), "--network=host", "-q", *args, "-f",
                   str(ctx / "Dockerfile.portapack"), "-t", tag, str(ctx)]
        built = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if built.returncode != 0:
            raise ServerFailed(f"docker build of the Truss image failed:\n{built.stderr[-2000:]}")
        self.port = free_port()
        self.container = engine.docker_client().containers.run(
            tag, detach=True, ports={f"{PROXY_PORT}/tcp": ("127.0.0.1", self.port)})
        self.wait_ready(self.base_url + READINESS, "the Truss container did not become ready")

    def url_for(self, route: str) -> str:
        # The first route is what Baseten's predict URL reaches; the rest pass through nginx.
        return self.base_url + (PREDICT if route == self.server.routes[0] else route)

    def unreachable(self, example: HttpExample) -> str | None:
        return None


__all__ = ["TrussServerTarget", "TrussServerRuntime", "Feature"]
