"""The model of ``portapack.yaml``: the one neutral spec every target compiles from.

Pydantic v2, unknown keys forbidden. Cross-field rules are ``model_validator(mode="after")``;
shorthand (``gpu: "H100:2"``, ``python: 3.11``) is normalised here so targets only ever see
canonical values. Loading a project is in ``loader.py``; YAML lines and error wording in
``specfile.py``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from portapack.spec.gpu import GpuRequest, parse_gpu
from portapack.spec.server import HttpExample, Server, example_kind, server_problems
from portapack.spec.strict import StrictModel, target_options_model

PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13")
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
WEIGHT_SCHEMES = ("hf", "https", "s3", "gs")


def _to_gpu(value: Any) -> GpuRequest:
    return value if isinstance(value, GpuRequest) else parse_gpu(str(value))


Gpu = Annotated[
    GpuRequest,
    PlainValidator(_to_gpu),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["T4", "A100-80GB", "H100:2"]}),
]


class Resources(StrictModel):
    """Hardware for one replica."""

    gpu: Gpu | None = Field(
        None,
        description="GPU type, optionally ':N' for a count (e.g. 'A100-80GB', 'H100:2'). "
        "Omit for CPU only. Run 'portapack targets' for the names.",
    )
    cpu: float = Field(1, gt=0, le=64, description="CPU cores per replica.")
    memory: str = Field(
        "2Gi",
        pattern=r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti)$",
        description="Memory per replica, with a binary unit: '512Mi', '16Gi'.",
    )

    @field_validator("memory", mode="before")
    @classmethod
    def _memory_hint(cls, value: Any) -> Any:
        if isinstance(value, str):
            m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT])B?\s*", value, flags=re.I)
            if m and not value.strip().endswith("i"):
                unit = m.group(2).upper() + "i"
                raise ValueError(f"use a binary unit: '{m.group(1)}{unit}' instead of '{value}'")
        return value

    @property
    def memory_mib(self) -> int:
        number, unit = re.fullmatch(r"([0-9.]+)(\w+)", self.memory).groups()  # type: ignore[union-attr]
        factor = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}[unit]
        return max(1, int(float(number) * factor))


class Scaling(StrictModel):
    """How replicas scale. Each target maps these to its own idiom."""

    min_replicas: int = Field(0, ge=0, le=100, description="Replicas kept warm.")
    max_replicas: int = Field(1, ge=1, le=100, description="Upper bound on replicas.")
    idle_timeout: int = Field(300, ge=2, le=3600, description="Seconds idle before scale-down.")
    concurrency: int = Field(1, ge=1, le=1000, description="Concurrent predictions per replica.")
    timeout: int = Field(600, ge=1, le=86400, description="Seconds allowed per prediction.")

    @model_validator(mode="after")
    def _bounds(self) -> Scaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) is larger than max_replicas "
                f"({self.max_replicas}); raise max_replicas or lower min_replicas"
            )
        return self


class Weight(StrictModel):
    """Model files fetched at build or start, per platform idiom."""

    source: str = Field(
        description="hf://org/repo[@revision], https://..., s3://bucket/key, gs://bucket/key, "
        "or a local path relative to the spec file."
    )
    path: str = Field(description="Absolute path where the predictor finds the files.")

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or ".." in value.split("/") or "\n" in value:
            raise ValueError(f"must be an absolute path such as /weights/model, not '{value}'")
        return value.rstrip("/") or "/"

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if sep:
            if scheme not in WEIGHT_SCHEMES:
                raise ValueError(
                    f"unknown scheme '{scheme}://'; use one of "
                    + ", ".join(f"{s}://" for s in WEIGHT_SCHEMES)
                    + " or a local path"
                )
            if not rest or any(c.isspace() for c in value):
                raise ValueError(f"'{value}' is not a valid {scheme}:// source")
            if scheme == "hf" and not re.fullmatch(r"[\w.-]+/[\w.-]+(@[\w./-]+)?", rest):
                raise ValueError(f"write hf://org/repo or hf://org/repo@revision, not '{value}'")
        return value

    @property
    def scheme(self) -> str:
        scheme, sep, _ = self.source.partition("://")
        return scheme if sep else "local"

    @property
    def hf_repo(self) -> tuple[str, str | None]:
        """(repo, revision) of an hf:// source."""
        repo, _, rev = self.source.removeprefix("hf://").partition("@")
        return repo, rev or None


class Example(StrictModel):
    """A golden request: inputs, and the output every target must return for them."""

    input: dict[str, Any] = Field(default_factory=dict, description="Keyword inputs of predict().")
    output: Any = Field(None, description="Expected output (a streamed output is the list of items).")


TargetOptions = target_options_model()
# A predictor's examples have input/output; a server's are HTTP requests (they have a route).
AnyExample = Annotated[
    Annotated[Example, Tag("Example")] | Annotated[HttpExample, Tag("HttpExample")],
    Discriminator(example_kind),
]


class Spec(StrictModel):
    """A portapack.yaml."""

    name: str = Field(
        pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        description="Lowercase letters, digits and '-'; the app, model and endpoint name.",
    )
    predictor: str | None = Field(
        None,
        pattern=r"^[\w./-]+\.py:[A-Za-z_]\w*$",
        description="FILE.py:Class, relative to the spec file (or give server: instead).",
    )
    server: Server | None = Field(
        None, description="An HTTP server started by a command (vLLM, SGLang, TGI), instead of "
        "a predictor class.",
    )
    python: Annotated[
        Literal["3.10", "3.11", "3.12", "3.13"],
        WithJsonSchema({"enum": ["3.10", "3.11", "3.12", "3.13", 3.11, 3.12, 3.13]}),
    ] = Field("3.11", description='Python version, as a string: "3.11". A target whose platform '
              'no longer runs a version refuses it (docs/spec.md says which refuse "3.10"); '
              "--target all lists it as refused and builds the others.")
    requirements: list[str] | str = Field(
        default_factory=list,
        description="pip requirement strings, or the path of a requirements file.",
    )
    index_url: Annotated[str, Field(pattern=r"^\S+$")] | None = Field(
        None,
        description="Package index that replaces PyPI for requirements (pip's --index-url).",
    )
    extra_index_urls: list[Annotated[str, Field(pattern=r"^\S+$")]] = Field(
        default_factory=list,
        description="More package indexes for requirements, searched beside the main one "
        "(pip's --extra-index-url), e.g. https://download.pytorch.org/whl/cu124.",
    )
    find_links: list[Annotated[str, Field(pattern=r"^\S+$")]] = Field(
        default_factory=list,
        description="Pages or folders of wheel links for requirements (pip's --find-links).",
    )
    system_packages: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9+.\-]*$")]] = Field(
        default_factory=list, description="apt packages."
    )
    build_commands: list[str] = Field(
        default_factory=list, description="Shell commands run at image build, after dependencies."
    )
    build_args: dict[Annotated[str, Field(pattern=ENV_NAME)], str] = Field(
        default_factory=dict,
        description="Build-time variables (a Dockerfile's ARG): exported to every build command, "
        "absent at run time.",
    )
    env: dict[
        Annotated[str, Field(pattern=ENV_NAME)],
        Annotated[str, WithJsonSchema({"type": ["string", "number", "boolean"]})],
    ] = Field(
        default_factory=dict, description="Plain environment variables."
    )
    secrets: list[Annotated[str, Field(pattern=ENV_NAME)]] = Field(
        default_factory=list,
        description="Secret names; values live in each platform's secret store and reach the "
        "predictor as environment variables.",
    )
    files: list[str] | None = Field(
        None,
        description="Glob patterns of what is copied into every artifact ('dir/' copies a folder). "
        "Default: everything beside the spec except hidden files, caches, venvs and build output.",
    )
    resources: Resources = Field(default_factory=Resources)
    scaling: Scaling = Field(default_factory=Scaling)
    weights: list[Weight] = Field(default_factory=list)
    examples: list[AnyExample] = Field(
        default_factory=list,
        description="input/output pairs for a predictor; route/body/status requests for a server.",
    )
    targets: TargetOptions = Field(default_factory=TargetOptions)

    @field_validator("python", mode="before")
    @classmethod
    def _python(cls, value: Any) -> Any:
        if isinstance(value, float):
            text = str(value)
            if text == "3.1":  # YAML read `3.10` as the number 3.1
                raise ValueError('YAML reads 3.10 as 3.1: quote it, python: "3.10"')
            if text not in PYTHON_VERSIONS:
                raise ValueError('must be one of "3.10", "3.11", "3.12", "3.13"')
            return text
        return value

    @field_validator("build_commands")
    @classmethod
    def _one_line(cls, value: list[str]) -> list[str]:
        for command in value:
            if "\n" in command.strip() or not command.strip():
                raise ValueError(f"{command!r}: each build command must be one non-empty line; "
                                 "split a multi-line script into several commands")
            if command.rstrip().endswith("\\"):
                raise ValueError(f"{command!r} ends with a backslash, which image builders read "
                                 "as a line continuation; remove it")
        return [c.strip() for c in value]

    @field_validator("env", mode="before")
    @classmethod
    def _env_scalars(cls, value: Any) -> Any:
        # YAML turns `DEBUG: true` into a bool; environment values are text.
        if isinstance(value, dict):
            out = {}
            for key, val in value.items():
                if isinstance(key, bool):
                    raise ValueError(f"an env name was read by YAML as the boolean {key}: quote "
                                     "names such as OFF, ON, YES, NO (e.g. 'OFF': value)")
                if not isinstance(key, str):
                    raise ValueError(f"env name {key!r} must be text; quote it")
                if isinstance(val, bool):
                    val = "true" if val else "false"
                elif isinstance(val, int | float):
                    val = str(val)
                out[key] = val
            return out
        return value

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Spec:
        if (info.context or {}).get("cross_checks") is False:
            return self  # the loader runs them itself, to report each at its own line
        problems = cross_field_problems(self)
        if problems:
            raise ValueError("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
        return self

    @property
    def is_server(self) -> bool:
        """Whether this project is an HTTP server (``server:``) rather than a predictor class."""
        return self.server is not None

    @property
    def build_steps(self) -> list[str]:
        """``build_commands`` as each target runs them: with ``build_args`` exported first."""
        if not self.build_args:
            return list(self.build_commands)
        import shlex

        exports = "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in self.build_args.items())
        return [f"{exports} && {c}" for c in self.build_commands]

    @property
    def index_options(self) -> list[str]:
        """The package-index options as requirements.txt lines (read by pip and uv alike)."""
        lines = [f"--index-url {self.index_url}"] if self.index_url else []
        lines += [f"--extra-index-url {u}" for u in self.extra_index_urls]
        return lines + [f"--find-links {u}" for u in self.find_links]

    @property
    def predictor_file(self) -> str:
        return (self.predictor or ":").split(":")[0]

    @property
    def predictor_class(self) -> str:
        return (self.predictor or ":").split(":")[1]

    @property
    def predictor_module(self) -> str:
        return self.predictor_file.removesuffix(".py").replace("/", ".")


def cross_field_problems(spec: Spec) -> list[tuple[tuple, str]]:
    """Rules across fields, each with the field path it belongs to."""
    problems: list[tuple[tuple, str]] = server_problems(spec)
    for name in spec.secrets:
        if name in spec.env:
            problems.append((("env", name), f"{name} is both in env and in secrets; keep it in one"))
    for i, name in enumerate(spec.secrets):
        if name in spec.secrets[:i]:
            problems.append((("secrets", i), f"secrets lists {name} more than once"))
    for i, weight in enumerate(spec.weights):
        if weight.path in [w.path for w in spec.weights[:i]]:
            problems.append((("weights", i, "path"), f"two weights share the path {weight.path}"))
    return problems


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of portapack.yaml, as published by ``portapack schema``."""
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "portapack.yaml"
    # A project is a predictor class or an HTTP server, never both (the loader says so too).
    schema["oneOf"] = [{"required": ["predictor"]}, {"required": ["server"]}]
    return schema
