"""A tiny third-party portapack target: the predictor behind a stdlib HTTP server.

It is what a plugin package looks like: one Target subclass registered under the
``portapack.targets`` entry-point group, its own templates, options, runtime and deployer,
its importer (``portapack import echo``) and its prices (``prices.toml``, for ``portapack cost``).
portapack's test suite puts it on the path with its dist-info (a real entry point), so the
core finds it exactly as it would an installed plugin.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from portapack.cost.billing import BillingRule
from portapack.spec.strict import StrictModel
from portapack.targets.artifacts import example_input, typing_names
from portapack.targets.base import Feature, GpuMapping, Hardware, Target

if TYPE_CHECKING:
    from portapack.spec.loader import Project


class EchoOptions(StrictModel):
    greeting: str = Field("hello", description="Sent back in every response's 'greeting' field.")


class EchoTarget(Target):
    name = "echo"
    title = "Echo"
    extra = "echo"
    options = EchoOptions
    runtime = ".runtime:EchoRuntime"
    deployer = ".deployer:EchoDeployer"
    importer = ".importer:EchoImporter"
    billing = BillingRule("per second of server time, idle included", idle_name="idle")
    template_root = Path(__file__).parent / "templates"
    reserved_names = frozenset({"http"})
    templates: ClassVar[dict[str, str]] = {
        "server.py": "echo/server.py.j2",
        "README.md": "echo/README.md.j2",
    }
    gpu_names: ClassVar[dict[str, GpuMapping]] = {}
    unsupported: ClassVar[dict[Feature, str]] = {Feature.GPU: "the echo server runs on CPU only"}

    def hardware_for(self, project: Project) -> Hardware:
        return Hardware(self.name, "cpu", "cpu")

    @property
    def install_hint(self) -> str:
        return "pip install portapack-echo"

    def context(self, project: Project) -> dict[str, Any]:
        ctx = self.base_context(project)
        ctx.update(greeting=project.spec.targets.echo.greeting, example_input=example_input(project),
                   typing=typing_names(project.predictor))
        return ctx
