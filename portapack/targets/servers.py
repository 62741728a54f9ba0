"""What every target's server mode shares: the ``server:`` block as template variables, the
route kinds Cog can type, and the checks common to all four platforms.

A ``server:`` project has no predictor class: the user's command starts an HTTP server (vLLM,
SGLang, TGI or anything else) and each platform fronts that server in its own idiom (Truss
``docker_server``, a Modal ``@modal.web_server``, a RunPod load-balancing endpoint, a Cog
runner proxying the first route). The per-target code is ``targets/<name>/server.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portapack.spec.server import CHAT_ROUTE, COMPLETIONS_ROUTE, HttpExample, Server
from portapack.targets.artifacts import code_entries, hf_requirement, weight_fetch_commands

if TYPE_CHECKING:
    from portapack.spec.loader import Project


def server_of(project: Project) -> Server:
    """The ``server:`` block (server-mode targets are only built for server projects)."""
    assert project.spec.server is not None, "a server-mode target needs a server: project"
    return project.spec.server


def http_examples(project: Project) -> list[HttpExample]:
    return [e for e in project.spec.examples if isinstance(e, HttpExample)]


def route_kind(route: str) -> str | None:
    """"chat" or "completions" for the OpenAI routes whose body portapack knows, else None."""
    return {CHAT_ROUTE: "chat", COMPLETIONS_ROUTE: "completions"}.get(route)


def warmup_request(project: Project) -> tuple[str, dict[str, Any]] | None:
    """The first POST example without streaming: sent once before a snapshot is taken."""
    for example in http_examples(project):
        if example.method == "POST" and example.body is not None:
            body = {k: v for k, v in example.body.items() if k != "stream"}
            return example.route, body
    return None


def server_context(project: Project) -> dict[str, Any]:
    """Template variables every target's server templates use."""
    spec, server = project.spec, server_of(project)
    return {
        "spec": spec,
        "name": spec.name,
        "server": server,
        "command": server.command,
        "port": server.port,
        "health": server.health,
        "routes": list(server.routes),
        "first_route": server.routes[0],
        "other_routes": list(server.routes[1:]),
        "startup_timeout": server.startup_timeout,
        "secrets": list(spec.secrets),
        "requirements": list(project.requirements),
        "weight_commands": weight_fetch_commands(project),
        "fetched_weight_paths": [w.path for w in spec.weights if w.scheme in ("hf", "https")],
        "hf_requirement": hf_requirement(project),
        "code_entries": list(code_entries(project)),
        "examples": [e.model_dump(by_alias=True, exclude_defaults=True)
                     for e in http_examples(project)],
        "runtime_env": {},
    }


def common_problems(project: Project) -> list[str]:
    """What no server-mode target packages: local weights (the server reads files by path)."""
    return [f"weights[{n}]: a local source ('{w.source}') is not mounted for a server: ship it "
            "as a file beside the spec and give its relative path in server.command"
            for n, w in enumerate(project.spec.weights) if w.scheme == "local"]
