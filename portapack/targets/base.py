"""The base class every platform target subclasses, and the pieces they share.

A target is data plus one pure mapping: ``context(project)`` turns the project into a flat
dict of template variables; the templates under ``templates/<name>/`` write the files.
What a platform cannot express is declared in ``unsupported`` (feature -> reason) and
collected by one generic check, never by ``if target == ...`` in the core. The features and
which ones a spec asks for are in :mod:`.features` (also importable from here).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.errors import BuildError
from portapack.proof.sandbox import link_or_copy
from portapack.spec.files import example_fixtures
from portapack.spec.gpu import CANONICAL, GpuRequest
from portapack.spec.signature import REQUIRED
from portapack.spec.signature.fields import pydantic_fields
from portapack.spec.strict import StrictModel
from portapack.targets.artifacts import local_weights
from portapack.targets.features import Feature, requested_features
from portapack.targets.samples import samples_context

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date

    from portapack.cost.billing import BillingRule
    from portapack.cost.table import Price
    from portapack.spec.loader import Project


@dataclass(frozen=True)
class Note:
    """Something a target approximated or left out."""

    target: str
    feature: str
    message: str

    def __str__(self) -> str:
        return f"{self.feature}: {self.message}"


@dataclass(frozen=True)
class GpuMapping:
    """How one canonical GPU is named on a platform; ``exact`` False means a nearest match."""

    name: str
    exact: bool = True


@dataclass(frozen=True)
class Hardware:
    """What one replica runs on, as the platform names it (for ``portapack cost``)."""

    target: str
    name: str  # as the artifact says it: "A100-80GB:2", "gpu-a100-large-2x", "AMPERE_80", "cpu"
    price_key: str  # the price table's `hardware` for one unit (one GPU, or the CPU instance)
    gpu_count: int = 0  # 0: a CPU-only replica
    cpu_cores: float | None = None  # for platforms that bill cores and memory separately (Modal)
    memory_gib: float | None = None
    fallbacks: tuple[str, ...] = ()  # further price keys the platform may also place it on

    @property
    def is_gpu(self) -> bool:
        return self.gpu_count > 0


class Target:
    """A platform: everything portapack knows about it, in one object.

    A subclass lives in its own package (``portapack/targets/<name>/``, or a plugin's) and
    declares its name, options model, GPU map and what it cannot express as class attributes;
    ``context()`` maps a project to template variables (pure), the templates write the files,
    ``validate()`` refuses what the platform cannot take, and ``runtime``/``deployer`` name
    the classes (``.module:Class``, relative to the subclass's package) that run the artifact
    locally and push it. The core does the rest: atomic builds, notes, ``--strict``, tests.
    """

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()  # other names users may write (replicate -> cog)
    title: ClassVar[str]
    extra: ClassVar[str]  # pip extra holding the platform SDK: portapack[<extra>]
    options: ClassVar[type[StrictModel]] = StrictModel  # validates targets.<name>: in the spec
    runtime: ClassVar[str]  # ".runtime:ModalRuntime": the local runtime class
    deployer: ClassVar[str]  # ".deployer:ModalDeployer": the deployer class
    # ".importer:CogImporter": reads this platform's own projects (portapack import); None: none.
    importer: ClassVar[str | None] = None
    # ".client:ModalTransport": how `portapack call` / portapack.Client talk to the deployed
    # model and to the local runtime (a portapack.calling.Transport); None: it cannot be called.
    client: ClassVar[str | None] = None
    # For artifacts that are Docker images: ".image:factory(project, out, base_image)" giving
    # the runtime that runs the image in a container (portapack test --image); None otherwise.
    image_runtime: ClassVar[str | None] = None
    # Folder holding this target's templates; None: portapack's own templates/ folder.
    template_root: ClassVar[Path | None] = None
    # Input names the generated adapter uses in the inputs' scope (module names, aliases).
    reserved_names: ClassVar[frozenset[str]] = frozenset()
    templates: ClassVar[dict[str, str]]  # output path -> template path (under templates/)
    code_dir: ClassVar[str] = ""  # where the user's files go inside the artifact
    gpu_names: ClassVar[dict[str, GpuMapping]]
    unsupported: ClassVar[dict[Feature, str]] = {}
    # ".server:TrussServerTarget": the subclass that packages a `server:` project (an HTTP
    # server command, e.g. vLLM) in this platform's own idiom; None: this target cannot.
    server_mode: ClassVar[str | None] = None
    # Whether the platform's image config can hold env values with newlines (Dockerfile ENV
    # lines cannot); if not, the generated code sets those at start-up.
    env_newlines: ClassVar[bool] = False
    # `portapack cost`: how the platform bills (None: the target is not priced), other ways
    # it can bill ({label: rule}, shown beside the main figure), who bills (default: title);
    # the prices themselves are `prices.toml` beside the target's module.
    billing: ClassVar[BillingRule | None] = None
    billing_alternatives: ClassVar[dict[str, BillingRule]] = {}
    vendor: ClassVar[str | None] = None

    def for_project(self, project: Project) -> Target:
        """The target that builds ``project``: this one, or its server-mode subclass for a
        ``server:`` project (the core never asks which kind of project it has)."""
        if project.spec.server is None:
            return self
        if self.server_mode is None:
            from portapack.errors import TargetError

            raise TargetError(f"the {self.name} target cannot package a server: block (an HTTP "
                              "server command); choose another target or use predictor:")
        return self.resolve_ref(self.server_mode)()

    # -- the mapping --------------------------------------------------------------------------
    def context(self, project: Project) -> dict[str, Any]:
        """Project -> flat dict of template variables. Pure: no I/O."""
        raise NotImplementedError

    def extra_notes(self, project: Project) -> list[Note]:
        """Target-specific approximations beyond the ``unsupported`` table."""
        return []

    def validate(self, project: Project) -> list[str]:
        """Problems that make this spec impossible on this platform (not approximations):
        each names the field and the fix. ``build`` refuses the target when any is found.
        Subclasses extend this (``super().validate(project) + [...]``)."""
        return [f"{project.spec.predictor_file}:{i.line} input '{i.name}': the {self.title} "
                "adapter uses this name; rename the parameter"
                for i in (project.predictor.inputs if project.predictor else ())
                if i.name in self.reserved_names]

    def hardware_for(self, project: Project) -> Hardware:
        """What one replica runs on, for pricing; a target without a price table says so."""
        return Hardware(self.name, "unknown", "unknown")

    @property
    def billed_by(self) -> str:
        return self.vendor or self.title

    def bundled_prices(self) -> list[Price]:
        """The prices shipped beside this target's module (``prices.toml``), if any."""
        from portapack.cost.table import read_price_file

        path = Path(sys.modules[type(self).__module__].__file__ or "").with_name("prices.toml")
        return read_price_file(path, self.name) if path.is_file() else []

    def live_prices(self, today: date, env: Mapping[str, str]) -> list[Price]:
        """Prices read from the platform's API now, where it publishes them and ``env`` holds
        credentials; [] otherwise. Raises :class:`~portapack.errors.PortapackError` on failure
        (``portapack cost`` then warns and keeps the bundled figures)."""
        return []

    # -- the classes that run and deploy the artifact (imported only when used) ---------------
    def runtime_class(self) -> type:
        return self.resolve_ref(self.runtime)

    def deployer_class(self) -> type:
        return self.resolve_ref(self.deployer)

    def importer_class(self) -> type:
        if self.importer is None:
            from portapack.errors import TargetError

            raise TargetError(f"the {self.name} target cannot import {self.title} projects")
        return self.resolve_ref(self.importer)

    def client_class(self) -> type:
        if self.client is None:
            from portapack.errors import TargetError

            raise TargetError(f"the {self.name} target has no client: portapack call cannot "
                              "talk to it")
        return self.resolve_ref(self.client)

    @property
    def install_hint(self) -> str:
        """How to install what this target needs (a plugin overrides it with its own package)."""
        return f'pip install "portapack[{self.extra}]"'

    def require_image(self) -> None:
        """Refuse image commands for a target whose artifact is not a Docker image."""
        if self.image_runtime is None:
            from portapack.errors import TargetError

            raise TargetError(f"the {self.name} target's artifact is not a Docker image; "
                              "choose a target with a Dockerfile (portapack targets)")

    @classmethod
    def resolve_ref(cls, ref: str) -> Any:
        """A ".module:name" reference, relative to this target's package, imported now."""
        module, _, attr = ref.partition(":")
        package = sys.modules[cls.__module__].__package__  # the class's own package
        return getattr(import_module(module, package), attr)

    # -- shared behaviour ---------------------------------------------------------------------
    def notes(self, project: Project) -> list[Note]:
        found = [Note(self.name, f.value, reason) for f, reason in self.unsupported.items()
                 if f in requested_features(project)]
        gpu = project.spec.resources.gpu
        if gpu and Feature.GPU not in self.unsupported:
            mapped = self.gpu_names[gpu.type]
            if not mapped.exact:
                found.append(Note(self.name, "resources.gpu",
                                  f"{self.title} has no {gpu.type}; using the nearest, {mapped.name}"))
        moved = sorted(self.runtime_env(project))
        if moved:
            found.append(Note(self.name, "env", f"{', '.join(moved)} holds a newline, which "
                              f"{self.title}'s image config cannot; the generated code sets it "
                              "at start-up instead"))
        return found + self.extra_notes(project)

    def build_time_weights_note(self, project: Project) -> list[Note]:
        """hf:// weights fetched at image build run without the spec's secrets (no HF_TOKEN)."""
        spec = project.spec
        if "HF_TOKEN" in spec.secrets and any(w.scheme == "hf" for w in spec.weights):
            return [Note(self.name, "weights", "hf:// weights are downloaded at image build, where "
                         "secrets are not available: a gated repo needs a token at build time, "
                         "or a download in load()")]
        return []

    def runtime_env(self, project: Project) -> dict[str, str]:
        """Env values the generated code sets itself (before the user's module is imported)."""
        if self.env_newlines:
            return {}
        return {k: v for k, v in project.spec.env.items() if "\n" in v or "\r" in v}

    def image_env(self, project: Project) -> dict[str, str]:
        """Env values the platform's image config carries."""
        moved = self.runtime_env(project)
        return {k: v for k, v in project.spec.env.items() if k not in moved}

    def gpu_name(self, gpu: GpuRequest | None) -> str | None:
        return None if gpu is None else self.gpu_names[gpu.type].name

    def base_context(self, project: Project) -> dict[str, Any]:
        """Variables every target's templates may use."""
        spec, pred = project.spec, project.predictor
        return {
            "spec": spec,
            "name": spec.name,
            "predictor": pred,
            "user_module": pred.module,
            "user_class": pred.class_name,
            "inputs": pred.inputs,
            "streaming": pred.streaming,
            "file_inputs": pred.file_inputs,  # fetched into local files before predict()
            "requirements": list(project.requirements),
            "fields": pydantic_fields(pred),
            "examples": [e.model_dump() for e in spec.examples],
            "code_dir": self.code_dir,
            "runtime_env": self.runtime_env(project),
            # Local weights: (source relative to the user's project root, where they belong).
            "weight_links": [[w["source"], w["remote"]] for w in local_weights(project)],
            "root_depth": spec.predictor_file.count("/"),
            **samples_context(project),  # README samples with files (targets/samples.py)
        }

    def write(self, project: Project, dest: Path) -> list[str]:
        """Copy the user's files and render the templates into ``dest``; return written paths."""
        from portapack.building.render import render

        context = self.context(project)
        written: list[str] = []
        generated = set(self.templates)
        weights = [w["source"].rstrip("/") for w in local_weights(project)]
        # Example files `files:` lists are test data, often large: linked like the weights.
        fixtures = example_fixtures(project.spec, project.predictor) if project.predictor else set()
        for rel in project.files:
            target_rel = f"{self.code_dir}/{rel}" if self.code_dir else rel
            if target_rel in generated:
                raise BuildError(f"{rel}: clashes with the file portapack generates for "
                                 f"{self.name}; rename it or leave it out of 'files'")
            out = dest / target_rel
            out.parent.mkdir(parents=True, exist_ok=True)
            if rel in fixtures or any(rel == w or rel.startswith(w + "/") for w in weights):
                link_or_copy(project.root / rel, out)  # large and read-only: never 4 copies
            else:
                shutil.copy2(project.root / rel, out)  # yours to edit in build/: a real copy
            written.append(target_rel)
        for rel, template in self.templates.items():
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(render(template, context, self.template_root), encoding="utf-8")
            written.append(rel)
        return sorted(written)


def gpu_table(targets: list[Target]) -> list[dict[str, str]]:
    """Rows for ``portapack targets``: canonical name -> each platform's name (~ = nearest)."""
    rows = []
    for canonical, memory in CANONICAL.items():
        row = {"gpu": canonical, "memory_gb": str(memory)}
        for t in targets:
            mapped = t.gpu_names.get(canonical)
            row[t.name] = "-" if mapped is None else (mapped.name if mapped.exact else f"~{mapped.name}")
        rows.append(row)
    return rows


__all__ = ["Feature", "GpuMapping", "Hardware", "Note", "Target", "REQUIRED", "gpu_table",
           "pydantic_fields", "requested_features"]
