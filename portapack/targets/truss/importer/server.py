"""``portapack import truss`` of a ``docker_server`` config: a portapack ``server:`` project.

truss 0.18.36 truss/base/truss_config.py ``DockerServer`` (read 2026-12-01): start_command,
server_port, predict_endpoint, readiness_endpoint, liveness_endpoint, run_as_user_id, no_build.
Truss copies ``data/`` to /app/data and Baseten's documented start_command idiom reads a secret
as ``$(cat /secrets/<name>)``. portapack runs ``server.command`` in the project folder on every
target (and exports secrets as environment variables), so ``/app/data/`` paths become relative,
the data files go beside the spec, and each secret read becomes ``$NAME``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from portapack.errors import Problem, SpecError
from portapack.importing.base import Imported, env_name, slug, user_files
from portapack.spec.server import ROUTE

APP_DATA = "/app/data"
SECRET_READ = re.compile(r"""(["']?)\$\(\s*cat\s+/secrets/([A-Za-z0-9_.-]+)\s*\)\1""")
SHELL_SYNTAX = re.compile(r"[$`|;&<>(){}*?~]")


def import_server(src: Path, config: dict[str, Any], imported: Imported) -> list[str]:
    """Fill ``imported.spec`` with the ``server:`` block and examples; returns the secrets the
    start command reads (the caller adds the config's own)."""
    docker = config["docker_server"]
    if not isinstance(docker, dict):
        raise SpecError(Problem("config.yaml docker_server", "must be a mapping with start_command, "
                                "server_port, predict_endpoint and readiness_endpoint"))
    where = "config.yaml docker_server"
    missing = [k for k in ("start_command", "server_port", "predict_endpoint", "readiness_endpoint")
               if not docker.get(k)]
    if docker.get("no_build"):
        raise SpecError(Problem(f"{where}.no_build", "cannot be imported: the image is deployed as "
                                "it is, with no start_command portapack could run; set "
                                "start_command and drop no_build, then import again"))
    if missing:
        raise SpecError(Problem(where, f"{', '.join(missing)} missing; a docker_server needs "
                                "start_command, server_port, predict_endpoint and readiness_endpoint"))
    for key in ("predict_endpoint", "readiness_endpoint"):
        if not re.match(ROUTE, str(docker[key])):
            raise SpecError(Problem(f"{where}.{key}", f"'{docker[key]}' is not a route like /v1/..."))
    command, secrets = _command(str(docker["start_command"]), imported)
    server: dict[str, Any] = {"command": command, "port": int(docker["server_port"]),
                              "health": str(docker["readiness_endpoint"]),
                              "routes": [str(docker["predict_endpoint"])]}
    imported.spec["server"] = server
    imported.note(f"{where}.predict_endpoint", "became server.routes[0]; Truss's proxy also passed "
                  "every other path to the server: list the other routes your clients call "
                  "(e.g. /v1/models) in server.routes")
    live = docker.get("liveness_endpoint")
    if live and live != server["health"]:
        imported.note(f"{where}.liveness_endpoint", f"{live} is not carried: portapack probes one "
                      f"health route ({server['health']}) for readiness and liveness", lost=True)
    if docker.get("run_as_user_id") is not None:
        imported.note(f"{where}.run_as_user_id", "not carried: each target runs the command as "
                      "its image's user", lost=True)
    image = (config.get("base_image") or {}).get("image") if isinstance(
        config.get("base_image"), dict) else None
    if image:
        imported.spec["targets"] = {"truss": {"base_image": str(image)}}
        imported.note("config.yaml base_image", f"{image} became targets.truss.base_image; the "
                      "other targets install the requirements on their own Python image, so an "
                      "engine that comes only in that image (vLLM's CUDA build) needs them in "
                      "requirements or each target's base image", lost=True)
    example = (config.get("model_metadata") or {}).get("example_model_input")
    if isinstance(example, dict):
        item: dict[str, Any] = {"route": server["routes"][0], "body": example}
        if example.get("stream") is True:
            item["stream"] = True
        imported.spec["examples"] = [item]
        imported.note("config.yaml model_metadata.example_model_input", f"became an HTTP example "
                      f"on {server['routes'][0]}; it checks the status only: add the reply you "
                      "expect (json: dotted paths, or contains:)")
    elif example is not None:
        imported.note("config.yaml model_metadata.example_model_input", "not a JSON object: not "
                      "carried as an example", lost=True)
    return secrets


def _command(text: str, imported: Imported) -> tuple[str, list[str]]:
    where = "config.yaml docker_server.start_command"
    secrets: list[str] = []

    def secret(match: re.Match[str]) -> str:
        name = env_name(match.group(2))
        if name not in secrets:
            secrets.append(name)
        return "${" + name + "}"

    command = SECRET_READ.sub(secret, text.strip())
    if secrets:
        imported.note(where, f"$(cat /secrets/...) became ${{NAME}} for {', '.join(secrets)}: "
                      "every target exports secrets as environment variables")
    command = re.sub(rf"cd\s+{APP_DATA}/?\s*&&\s*", "", command)
    command = command.replace(f"{APP_DATA}/", "")
    if APP_DATA in command:  # cd /app/data alone, or the folder itself as an argument
        command = re.sub(rf"{APP_DATA}\b", ".", command)
    if "/app/" in command:
        imported.note(where, "refers to /app/... paths of Truss's image: on the other targets the "
                      "command runs in the project folder; check those paths", lost=True)
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise SpecError(Problem(where, f"cannot be split into words like a shell would: {exc}")) from None
    # `sh -c "one plain command"` (Baseten's examples wrap every command so) needs no shell: each
    # target splits server.command into words and runs it directly.
    if len(words) == 3 and words[:2] in (["sh", "-c"], ["bash", "-c"]) and not SHELL_SYNTAX.search(words[2]):
        command = words[2]
    return command, secrets


def server_files(src: Path, config: dict[str, Any]) -> dict[str, Path]:
    """The Truss's files: ``data/`` (the command's folder) beside the spec, the rest as it is."""
    skip = {"config.yaml"}
    if isinstance(config.get("requirements_file"), str):
        skip.add(config["requirements_file"])
    data = str(config.get("data_dir") or "data")
    return {rel[len(data) + 1:] if rel.startswith(f"{data}/") else rel: path
            for rel, path in user_files(src, skip).items()}


def server_name(src: Path, config: dict[str, Any]) -> str:
    return slug(str(config.get("model_name") or src.resolve().name))


__all__ = ["import_server", "server_files", "server_name"]
