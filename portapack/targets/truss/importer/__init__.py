"""``portapack import truss``: a Truss (config.yaml + model/model.py ``class Model``).

Config keys as truss 0.18.36 reads them (truss/base/truss_config.py, read 2026-12-01):
requirements / requirements_file, system_packages, python_version ``py311``, resources
(accelerator, cpu, memory), secrets, environment_variables, build_commands,
runtime.predict_concurrency, weights, model_cache (mounted at /app/model_cache/<volume_folder>),
model_metadata.example_model_input; docker_server (-> a ``server:`` project, :mod:`.truss_server`)
and trt_llm run no Model class.
"""

from __future__ import annotations

import pprint
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from portapack.errors import Problem, SpecError
from portapack.importing.base import (
    Imported,
    carry_python,
    env_name,
    slug,
    user_files,
    without_platform_sdk,
)
from portapack.importing.generated import built_target, unwrap
from portapack.importing.importer import Importer
from portapack.importing.requirements import Requirements, read_file, read_words
from portapack.spec.gpu import parse_gpu
from portapack.spec.model import WEIGHT_SCHEMES
from portapack.targets.truss.importer import model as truss_model
from portapack.targets.truss.importer import server as truss_server

if TYPE_CHECKING:
    from collections.abc import Callable

    from portapack.proof.case_results import CaseResult
    from portapack.proof.runtimes.base import Runtime
    from portapack.spec.loader import Project
    from portapack.spec.server import HttpExample

# Baseten accelerator names that differ from portapack's vocabulary (docs.baseten.co, truss 0.18).
ACCELERATORS = {"A100": ("A100-80GB", None), "A100_40GB": ("A100-40GB", None),
                "H100_40GB": ("H100", "a 40 GB MIG slice of an H100: portapack asks for a whole H100"),
                "V100": ("T4", "no V100 in portapack's vocabulary: using T4 (16 GB)"),
                "B300": ("B200", "no B300 in portapack's vocabulary: using B200"),
                "GB300": ("B200", "no GB300 in portapack's vocabulary: using B200")}
CARRIED = {"model_name", "python_version", "requirements", "requirements_file", "system_packages",
           "resources", "secrets", "environment_variables", "build_commands", "runtime", "weights",
           "model_cache", "model_metadata", "model_class_filename", "model_class_name",
           "model_module_dir", "data_dir", "bundled_packages_dir", "description", "base_image",
           "external_package_dirs", "spec_version", "model_framework", "model_type", "live_reload",
           "apply_library_patches", "examples_filename", "input_type", "use_local_src",
           "model_cache_v2", "hf_cache", "external_data"}
TRUSS_DATA = "/app/data"  # where a Truss image has its data_dir (and external_data) at serving


def _line(text: str, key: str) -> int:
    for n, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return n
    return 1


def read_config(src: Path) -> tuple[dict[str, Any], str]:
    path = src / "config.yaml"
    if not path.is_file():
        raise SpecError(Problem(str(src), "not a Truss: no config.yaml here; pass the folder "
                                "that holds config.yaml and model/"))
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SpecError(Problem(f"config.yaml:{mark.line + 1}" if mark else "config.yaml",
                                f"invalid YAML: {getattr(exc, 'problem', exc)}")) from None
    if not isinstance(data, dict):
        raise SpecError(Problem("config.yaml", "must be a mapping"))
    if data.get("trt_llm"):
        raise SpecError(Problem(f"config.yaml:{_line(text, 'trt_llm')} trt_llm", "cannot be imported: "
                                "a TensorRT-LLM engine is built by Baseten's engine builder, which "
                                "portapack has no equivalent of; keep this Truss on Baseten, or "
                                "serve the model with an engine you start yourself (vLLM, SGLang) "
                                "as a docker_server and import that"))
    return data, text


def import_truss(src: Path, *, gpu: str | None = None) -> Imported:
    """Convert the Truss in ``src``."""
    config, _ = read_config(src)
    if config.get("docker_server"):
        return _import_server(src, config, gpu)
    module_dir = str(config.get("model_module_dir") or "model")
    model_rel = f"{module_dir}/{config.get('model_class_filename') or 'model.py'}"
    class_name = str(config.get("model_class_name") or "Model")
    if not (src / model_rel).is_file():
        raise SpecError(Problem(str(src), f"not a Truss with a Model class: {model_rel} is missing"))
    imported = Imported("truss", {}, "predict.py", "")
    spec: dict[str, Any] = {"name": slug(str(config.get("model_name") or src.resolve().name)),
                            "predictor": f"predict.py:{truss_model.PREDICTOR}"}
    _python(config, spec, imported)
    requirements = _requirements(src, config, imported, spec)
    _image(config, spec, imported)
    secrets = _secrets(config, imported)
    secrets += [s for s in _sizing_and_weights(config, spec, imported, gpu) if s not in secrets]
    if config.get("base_image"):
        image = config["base_image"].get("image") if isinstance(config["base_image"], dict) else None
        imported.note("config.yaml base_image", f"{image or 'the base image'} is not carried: "
                      "portapack chooses each target's base image", lost=True)
    for key in sorted(set(config) - CARRIED):
        if config[key]:
            imported.note(f"config.yaml {key}", "not carried (portapack has no equivalent)", lost=True)
    example = (config.get("model_metadata") or {}).get("example_model_input")
    data_dir = str(config.get("data_dir") or "data")
    data_root = _external_data(src, config, spec, imported, data_dir)
    built = built_target(src)
    if built is not None:  # portapack's own artifact: its predictor as it is, not model.py
        model = truss_model.TrussModel("", example=example if isinstance(example, dict) else None)
    else:
        model = truss_model.rewrite(src / model_rel, model_rel, class_name, example, config,
                                    data_dir, data_root)
    imported.predictor_source = model.source
    imported.notes += model.notes
    secrets += [s for s in model.secrets if s not in secrets]
    if secrets:
        spec["secrets"] = secrets
    if requirements:
        spec["requirements"] = requirements
    carry_python(spec, "config.yaml python_version", requirements, imported)
    if model.example is not None:
        spec["examples"] = [{"input": model.example}]
    imported.spec = spec
    packages = str(config.get("bundled_packages_dir") or "packages")
    skip = {"config.yaml", model_rel, f"{module_dir}/__init__.py"}
    if isinstance(config.get("requirements_file"), str):
        skip.add(config["requirements_file"])
    for rel, path in user_files(src, skip).items():
        # model/ and packages/ are on sys.path in Truss: their modules go beside predict.py.
        for prefix in (f"{module_dir}/", f"{packages}/"):
            if rel.startswith(prefix):
                rel = rel[len(prefix):]
        imported.copies[rel] = path
    if built is not None:
        unwrap(src, built, imported, spec, model_rel, packages)
    return imported


def _import_server(src: Path, config: dict[str, Any], gpu: str | None) -> Imported:
    """A docker_server Truss: a ``server:`` project (no predictor)."""
    imported = Imported("truss", {"name": truss_server.server_name(src, config)}, "", "")
    spec = imported.spec
    _python(config, spec, imported)
    requirements = _requirements(src, config, imported, spec)
    if requirements:
        spec["requirements"] = requirements
    carry_python(spec, "config.yaml python_version", requirements, imported)
    _image(config, spec, imported)
    secrets = _secrets(config, imported)
    secrets += [s for s in truss_server.import_server(src, config, imported) if s not in secrets]
    secrets += [s for s in _sizing_and_weights(config, spec, imported, gpu) if s not in secrets]
    if secrets:
        spec["secrets"] = secrets
    for key in sorted(set(config) - CARRIED - {"docker_server"}):
        if config[key]:
            imported.note(f"config.yaml {key}", "not carried (portapack has no equivalent)", lost=True)
    imported.copies = truss_server.server_files(src, config)
    return imported


def _external_data(src: Path, config: dict[str, Any], spec: dict[str, Any], imported: Imported,
                   data_dir: str) -> str | None:
    """external_data: each file fetched at image build to /app/data/<local_data_path>, as Truss's
    server.Dockerfile does (RUN mkdir -p ...; curl -L URL -o ...), here with Python (every
    target's image has it). Returns /app/data when DATA_DIR should point there (None if
    nothing is fetched)."""
    commands = []
    for n, item in enumerate(config.get("external_data") or []):
        where = f"config.yaml external_data[{n}]"
        url, rel = str(item.get("url", "")), str(item.get("local_data_path", "")).strip("/")
        if not url.startswith(("https://", "http://")) or not rel or ".." in rel.split("/"):
            imported.note(where, f"'{url}' to '{rel}' is not carried: only http(s) URLs to a path "
                          "inside the data directory are fetched", lost=True)
            continue
        dest = f"{TRUSS_DATA}/{rel}"
        folder = dest.rsplit("/", 1)[0]
        commands.append(f"mkdir -p {shlex.quote(folder)} && python -c " + shlex.quote(
            "import sys, urllib.request; urllib.request.urlretrieve(*sys.argv[1:])")
            + f" {shlex.quote(url)} {shlex.quote(dest)}")
        imported.note(where, f"fetched at image build to {dest} (a build command), as Truss does")
    if not commands:
        return None
    spec["build_commands"] = [*spec.get("build_commands", []), *commands]
    shipped = [p for p in (src / data_dir).rglob("*") if p.is_file() and p.name != ".gitkeep"] \
        if (src / data_dir).is_dir() else []
    if shipped:
        imported.note("config.yaml external_data", f"the fetched files are in {TRUSS_DATA}, but "
                      f"{data_dir}/ also holds files, which go beside the predictor: DATA_DIR "
                      f"points there, so code reading a fetched file through it must use "
                      f"{TRUSS_DATA} instead", lost=True)
        return None
    return TRUSS_DATA


def _image(config: dict[str, Any], spec: dict[str, Any], imported: Imported) -> None:
    """system_packages, build_commands and environment_variables: the same keys in the spec."""
    for key in ("system_packages", "build_commands"):
        if config.get(key):
            spec[key] = [str(v) for v in config[key]]
    if config.get("environment_variables"):
        spec["env"] = {str(k): _env_value(str(k), v, imported)
                       for k, v in config["environment_variables"].items()}


def _env_value(key: str, value: Any, imported: Imported) -> str:
    """A value as Truss sets it (TrussConfig.from_dict: str(v), a bool lower-cased)."""
    if value is None:
        imported.note(f"config.yaml environment_variables.{key}", "null is set as the text "
                      "'None', as Truss sets it; if it was meant as a placeholder for a secret, "
                      "list it under 'secrets:' instead", lost=True)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _secrets(config: dict[str, Any], imported: Imported) -> list[str]:
    """config.yaml's secrets as environment variable names (a renamed one is noted)."""
    for name in config.get("secrets") or {}:
        if env_name(name) != name:
            imported.note(f"config.yaml secrets.{name}", f"became the secret {env_name(name)} "
                          "(an environment variable name on every platform)")
    return [env_name(name) for name in (config.get("secrets") or {})]


def _sizing_and_weights(config: dict[str, Any], spec: dict[str, Any], imported: Imported,
                        gpu: str | None) -> list[str]:
    """resources, predict_concurrency and weights; returns the secrets the weights need."""
    _resources(config.get("resources") or {}, spec, imported, gpu)
    concurrency = (config.get("runtime") or {}).get("predict_concurrency")
    if isinstance(concurrency, int) and concurrency > 1:
        spec["scaling"] = {"concurrency": concurrency}
    weights, auth = _weights(config, imported)
    if weights:
        spec["weights"] = weights
    return [env_name(a) for a in auth]


def _python(config: dict[str, Any], spec: dict[str, Any], imported: Imported) -> None:
    """python_version as written; :func:`carry_python` raises an old one once the
    requirements are known (to name the pins that may not install)."""
    raw = str(config.get("python_version") or "py311")
    spec["python"] = f"{raw[2]}.{raw[3:]}" if raw.startswith("py") and len(raw) > 3 else raw


def _requirements(src: Path, config: dict[str, Any], imported: Imported,
                  spec: dict[str, Any] | None = None) -> list[str]:
    """requirements (entries of Truss's requirements.txt) and requirements_file, read as pip
    reads them: option lines become the spec's index fields."""
    reqs: list[str] = []
    index = Requirements()
    for n, entry in enumerate(config.get("requirements") or []):
        text = str(entry).strip()
        if text.startswith("-"):
            found = read_words(text.split())
            if found is None or found.requirements or found.files or not index.merge(found):
                imported.note(f"config.yaml requirements[{n}]", f"'{text}' is not carried: an "
                              "option portapack does not map", lost=True)
            continue
        reqs.append(text)
    if config.get("requirements_file"):
        path = src / str(config["requirements_file"])
        if not path.is_file():
            raise SpecError(Problem("config.yaml requirements_file", f"'{path.name}' not found"))
        rel = str(config["requirements_file"])
        found, skipped = read_file(path, rel, src)
        for number, line in skipped:
            imported.note(f"{rel}:{number}", f"pip option '{line}' not carried", lost=True)
        reqs += found.requirements
        index.merge(found)
    if spec is not None:
        spec.update(index.spec_fields())
    elif index.has_index_options:
        imported.note("config.yaml requirements", "package index options are not carried here",
                      lost=True)
    kept, dropped = without_platform_sdk(reqs, "truss")
    if dropped:
        imported.note("config.yaml requirements", f"dropped {', '.join(dropped)} (the truss "
                      "target adds what it needs)")
    return kept


def _resources(res: dict[str, Any], spec: dict[str, Any], imported: Imported, gpu: str | None) -> None:
    out: dict[str, Any] = {}
    acc = res.get("accelerator")
    if gpu:
        out["gpu"] = gpu
    elif acc:
        name, _, count = str(acc).partition(":")
        canonical, why = ACCELERATORS.get(name.upper(), (name, None))
        try:
            out["gpu"] = str(parse_gpu(f"{canonical}:{count}" if count else canonical))
        except ValueError as exc:
            raise SpecError(Problem("config.yaml resources.accelerator", str(exc))) from None
        if why:
            imported.note("config.yaml resources.accelerator", why, lost=True)
    elif res.get("use_gpu"):
        imported.note("config.yaml resources.use_gpu", "use_gpu without an accelerator: using T4; "
                      "pass --gpu to choose", lost=True)
        out["gpu"] = "T4"
    if res.get("cpu"):
        out["cpu"] = float(str(res["cpu"]).rstrip("m")) / (1000 if str(res["cpu"]).endswith("m") else 1)
        out["cpu"] = int(out["cpu"]) if float(out["cpu"]).is_integer() else out["cpu"]
    if res.get("memory"):
        out["memory"] = str(res["memory"])
    if out:
        spec["resources"] = out


def _weights(config: dict[str, Any], imported: Imported) -> tuple[list[dict[str, str]], list[str]]:
    weights, auth = [], []
    for n, w in enumerate(config.get("weights") or []):
        where = f"config.yaml weights[{n}]"
        source = str(w.get("source", ""))
        if source.partition("://")[0] not in WEIGHT_SCHEMES:
            imported.note(where, f"source {source} is not carried: portapack takes "
                          + ", ".join(f"{s}://" for s in WEIGHT_SCHEMES), lost=True)
            continue
        weights.append({"source": source, "path": str(w.get("mount_location", f"/weights/{n}"))})
        if w.get("auth_secret_name"):
            auth.append(str(w["auth_secret_name"]))
        _patterns(w, where, imported)
    for n, repo in enumerate(config.get("model_cache") or []):
        where = f"config.yaml model_cache[{n}]"
        kind = str(repo.get("kind", "hf"))
        scheme = {"hf": "hf", "s3": "s3", "gcs": "gs"}.get(kind)
        if scheme is None:
            imported.note(where, f"kind {kind} is not carried", lost=True)
            continue
        rev = repo.get("revision")
        source = f"{scheme}://{repo['repo_id']}" + (f"@{rev}" if rev and scheme == "hf" else "")
        folder = repo.get("volume_folder") or str(repo["repo_id"]).replace("/", "--")
        weights.append({"source": source, "path": f"/app/model_cache/{folder}"})
        if not repo.get("use_volume"):
            imported.note(where, "use_volume: false put the repo in the Hugging Face cache; "
                          f"portapack places it at /app/model_cache/{folder}: load it from there",
                          lost=True)
        auth.append(str(repo.get("runtime_secret_name") or "hf_access_token"))
        _patterns(repo, where, imported)
    return weights, auth


def _patterns(entry: dict[str, Any], where: str, imported: Imported) -> None:
    for key in ("allow_patterns", "ignore_patterns"):
        if entry.get(key):
            imported.note(where, f"{key} is not carried: the whole repository is fetched", lost=True)


def config_literal(config: dict[str, Any]) -> str:
    """The Truss config as a Python literal, for code that read ``self._config``."""
    return pprint.pformat(config, width=96, sort_dicts=False)


__all__ = ["import_truss"]


class TrussImporter(Importer):
    """Trusses in (a Model class or a docker_server); the original runs under Truss's loader,
    or, for a docker_server, under Truss's own docker_server files in a local image."""

    one_dict_request = True

    def convert(self, src: Path, *, gpu: str | None = None) -> Imported:
        return import_truss(src, gpu=gpu)

    def original_runtime(self, copy: Path, env: dict[str, str]) -> Runtime:
        from portapack.targets.truss.runtime import TrussRuntime

        return TrussRuntime(copy, env=env)

    def server_expectations(self, src: Path, project: Project, work: Path,
                            record: Callable[[CaseResult], None]) -> list[HttpExample] | None:
        from portapack.targets.truss.importer.verify_server import original_expectations

        return original_expectations(src, project, work, record)
