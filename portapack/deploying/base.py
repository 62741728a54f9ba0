"""Deploy a built artifact: preflight every requirement, show a plan, then apply it.

Each platform is one :class:`Deployer` subclass. ``preflight`` reports every problem at once
before any side effect; ``plan`` makes no network call; ``apply`` records each step, so a
failure says what was done and what was not. Secret values never appear anywhere: only names.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from portapack.building.builder import project_digest, read_marker
from portapack.errors import PortapackError, Problem
from portapack.spec.loader import Project


class PreflightError(PortapackError):
    """Deploy cannot start; nothing was pushed. Carries every problem found."""

    label = "cannot deploy"

    def __init__(self, target: str, problems: list[str]):
        self.problems = [Problem(target, p) for p in problems]
        super().__init__("\n".join(f"{target}: {p}" for p in problems))


class DeployError(PortapackError):
    """A step failed: the message says which steps were done and which were not."""

    label = "deploy failed"


@dataclass
class Step:
    """One side effect of a deploy, described before it happens."""

    action: str  # "push image", "create endpoint", ...
    detail: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.detail.items())
        return f"{self.action}" + (f" ({shown})" if shown else "")


@dataclass
class Plan:
    target: str
    name: str
    steps: list[Step]
    settings: dict[str, Any]  # resolved GPU, scaling, image names
    secrets: list[str]  # names the platform must hold
    problems: list[str] = field(default_factory=list)  # what preflight would refuse

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "name": self.name, "settings": self.settings,
                "secrets": self.secrets, "problems": self.problems,
                "steps": [{"action": s.action, **s.detail} for s in self.steps]}


@dataclass
class DeployResult:
    target: str
    name: str
    url: str | None = None
    endpoint_id: str | None = None
    sample_request: str | None = None
    steps_done: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "name": self.name, "url": self.url,
                "endpoint_id": self.endpoint_id, "sample_request": self.sample_request,
                "steps_done": self.steps_done}


@dataclass
class DeployOptions:
    """Flags of ``portapack deploy`` that deployers may use."""

    registry: str | None = None
    owner: str | None = None
    promote: bool | None = None
    timeout: float = 600
    base_image: str | None = None
    namespace: str | None = None  # where the platform has namespaces (a Kubernetes cluster)
    progress: Callable[[str], None] | None = None


class Deployer:
    target: ClassVar[str]
    install_hint: ClassVar[str]

    def __init__(self, project: Project, build_dir: Path, options: DeployOptions):
        self.project, self.build_dir, self.options = project, build_dir, options
        self.spec = project.spec

    # -- to implement ------------------------------------------------------------------------
    def check_platform(self) -> list[str]:
        """Problems with the SDK/CLI, credentials and target options (no side effects)."""
        raise NotImplementedError

    def plan(self) -> Plan:
        raise NotImplementedError

    def run_step(self, step: Step, result: DeployResult) -> None:
        """Do one planned step. Subclasses handle their own actions; anything else is a bug."""
        raise PortapackError(f"{self.target} has no step '{step.action}'")

    # -- shared ------------------------------------------------------------------------------
    def preflight(self) -> None:
        problems = self.check_build() + self.check_platform()
        if problems:
            raise PreflightError(self.target, problems)

    def built_json(self, rel: str) -> Any:
        """A JSON file of this target's build. Before a build exists (a dry run), the same file
        rendered in memory from the spec, so a plan never depends on having built first."""
        if not self.check_build():
            return json.loads((self.build_dir / rel).read_text(encoding="utf-8"))
        from portapack.building.render import render
        from portapack.targets import get_target

        target = get_target(self.target).for_project(self.project)  # server: mode or not
        return json.loads(render(target.templates[rel], target.context(self.project),
                                 target.template_root))

    def build_step(self) -> Step | None:
        """The plan's first step when the build is missing or stale (dry run only)."""
        missing = self.check_build()
        if not missing:
            return None
        return Step("build", {"target": self.target, "out": str(self.build_dir),
                              "why": missing[0].split(":")[0]})

    def check_build(self) -> list[str]:
        marker = read_marker(self.build_dir)
        if marker is None:
            return [f"no build at {self.build_dir}: run 'portapack build --target {self.target}' "
                    "(or deploy with --build)"]
        if marker.get("digest") != project_digest(self.project):
            return [f"the build at {self.build_dir} is out of date with the spec or your files: "
                    f"run 'portapack build --target {self.target}' (or deploy with --build)"]
        return []

    def apply(self, plan: Plan) -> DeployResult:
        result = DeployResult(self.target, self.spec.name)
        for n, step in enumerate(plan.steps):
            self.say(f"{step.action}...")
            try:
                self.run_step(step, result)
            except Exception as exc:
                done = "\n".join(f"  done: {s}" for s in result.steps_done) or "  done: nothing"
                todo = "\n".join(f"  not done: {s.action}" for s in plan.steps[n:])
                reason = str(exc) if isinstance(exc, PortapackError) else f"{type(exc).__name__}: {exc}"
                raise DeployError(f"{step.action} failed: {reason}\n{done}\n{todo}") from None
            result.steps_done.append(step.action)
        return result

    def say(self, line: str) -> None:
        if self.options.progress:
            self.options.progress(line)


def missing_module(module: str, extra: str) -> list[str]:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        return [f"the {module} SDK is not installed: pip install \"portapack[{extra}]\""]
    return []


class ApiClient:
    """A small JSON-over-HTTPS client for the platforms' REST APIs (base URL overridable)."""

    def __init__(self, base_url: str, token: str, timeout: float = 60, scheme: str = "Bearer"):
        self.base_url, self._token, self.timeout = base_url.rstrip("/"), token, timeout
        self.scheme = scheme  # Authorization: <scheme> <token> (Baseten says "Api-Key")

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method,
            headers={"Authorization": f"{self.scheme} {self._token}", "Content-Type": "application/json",
                     "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise PortapackError(f"{method} {self.base_url}{path}: cannot connect ({exc})") from None
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return status, parsed

    def expect(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201)) -> Any:
        """The parsed answer, or a :class:`PortapackError` naming the call, the status and what
        the API said (an RFC 9457 problem as its title, detail and each field error)."""
        status, parsed = self.request(method, path, body)
        if status not in ok:
            raise PortapackError(f"{method} {path} answered {status}{self.explain(parsed)}")
        return parsed

    @staticmethod
    def explain(parsed: Any) -> str:
        """An error body as text: RFC 9457 problem details ({title, status, detail, errors})
        line by line, anything else as compact JSON (truncated)."""
        if isinstance(parsed, dict) and ("title" in parsed or "detail" in parsed):
            head = " ".join(str(parsed[k]).strip() for k in ("title", "detail") if parsed.get(k))
            errors = parsed.get("errors") or []
            lines = [f"  - {e}" if isinstance(e, str) else f"  - {json.dumps(e)}"
                     for e in (errors if isinstance(errors, list) else [errors])]
            return ": " + "\n".join([head[:500], *lines[:20]])
        detail = parsed if isinstance(parsed, str) else json.dumps(parsed)
        return f": {detail[:500]}" if detail not in ("", "null") else ""

    def __repr__(self) -> str:  # never show the token
        return f"ApiClient({self.base_url!r})"


def env_first(*names: str) -> str | None:
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return None
