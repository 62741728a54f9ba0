"""Modal: one app file with an image, a class per model, a method and a web endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from portapack.cost.billing import BillingRule
from portapack.targets.artifacts import (
    code_entries,
    example_input,
    hf_requirement,
    local_weights,
    typing_names,
    weight_fetch_commands,
    with_requirements,
)
from portapack.targets.base import Feature, GpuMapping, Hardware, Target
from portapack.targets.modal.options import ModalOptions

if TYPE_CHECKING:
    from portapack.spec.loader import Project



def pip_kwargs(spec: Any) -> dict[str, str]:
    """The spec's package-index options as ``Image.uv_pip_install`` keywords (modal 1.6:
    index_url, and extra_options for the repeatable ones)."""
    kwargs = {"index_url": spec.index_url} if spec.index_url else {}
    extra = [f"--extra-index-url {u}" for u in spec.extra_index_urls]
    extra += [f"--find-links {u}" for u in spec.find_links]
    if extra:
        kwargs["extra_options"] = " ".join(extra)
    return kwargs

class ModalTarget(Target):
    name = "modal"
    title = "Modal"
    extra = "modal"
    options = ModalOptions
    runtime = ".runtime:ModalRuntime"
    server_mode = ".server:ModalServerTarget"  # a server: project behind @modal.web_server
    deployer = ".deployer:ModalDeployer"
    vendor = "Modal"
    billing = BillingRule("per second of container time: start-up, requests, and scaledown_window "
                          "idle after each burst; min_containers always on; CPU cores and memory "
                          "billed on top of the GPU", idle_name="scaledown_window")
    client = ".client:ModalTransport"
    reserved_names = frozenset({"modal"})
    templates: ClassVar[dict[str, str]] = {
        "modal_app.py": "modal/modal_app.py.j2",
        "requirements.txt": "_shared/requirements.txt.j2",
        "README.md": "modal/README.md.j2",
        "portapack_files.py": "_shared/portapack_files.py.j2",  # file inputs/outputs, numpy, PIL
    }
    gpu_names: ClassVar[dict[str, GpuMapping]] = {
        "T4": GpuMapping("T4"),
        "L4": GpuMapping("L4"),
        "A10G": GpuMapping("A10"),
        "RTX-4090": GpuMapping("A10", exact=False),
        "A6000": GpuMapping("L40S", exact=False),
        "L40S": GpuMapping("L40S"),
        "A100-40GB": GpuMapping("A100-40GB"),
        "A100-80GB": GpuMapping("A100-80GB"),
        "H100": GpuMapping("H100"),
        "H200": GpuMapping("H200"),
        "B200": GpuMapping("B200"),
        "RTX-PRO-6000": GpuMapping("RTX-PRO-6000"),
    }
    unsupported: ClassVar[dict[Feature, str]] = {
        Feature.WEIGHTS_S3: "not fetched; mount the bucket with modal.CloudBucketMount in modal_app.py",
        Feature.WEIGHTS_GS: "not fetched; mount the bucket with modal.CloudBucketMount in modal_app.py",
    }

    def validate(self, project: Project) -> list[str]:
        """Python versions Modal will no longer deploy."""
        # modal 1.6.4 modal/_image.py, deprecation dated 2026-11-04: "Modal 1.7.0 and later will
        # not run or deploy apps that use Images with Python 3.10".
        problems = super().validate(project)
        if project.spec.python == "3.10":
            problems.append('python: "3.10" cannot deploy on Modal: Modal 1.7 and later will not '
                            'run or deploy Images with Python 3.10 (deprecated in Modal 1.6, '
                            '2026-11-04); set python: "3.11" or newer')
        return problems

    def context(self, project: Project) -> dict[str, Any]:
        spec, pred = project.spec, project.predictor
        ctx = self.base_context(project)
        snapshot = self.snapshot(project)
        hf = self.hf_weights(project)
        example = example_input(project)
        weights = local_weights(project)
        ctx.update(
            typing=typing_names(pred),
            requirements=with_requirements(project, "pydantic>=2", "fastapi[standard]",
                                           *hf_requirement(project)),
            system_packages=spec.system_packages,
            env=self.image_env(project),
            build_commands=spec.build_steps,
            pip_kwargs=pip_kwargs(spec),
            # hf:// weights go to a Volume on first start (Modal's idiom); https:// at build.
            weight_commands=[c for c in weight_fetch_commands(project) if not c.startswith("hf ")],
            hf_weights=hf,
            secrets=spec.secrets,  # each a modal.Secret.from_name(...)
            local_weights=weights,
            code_files=[{"source": top, "kind": kind, "remote": f"/root/{top}"}
                        for top, kind in code_entries(project).items()],
            # @app.cls(...) settings of plain value; secrets and volumes follow them.
            cls_options=self.cls_values(project),
            # predict() is always a plain def (portapack.spec.signature), and @modal.concurrent runs
            # a sync method's inputs on threads (Modal 1.x "Input concurrency"). An async adapter
            # could only hand the call to a thread too, or serialize it behind a lock and undo
            # the concurrency asked for; the generated file says so above the decorator instead
            # (not a build note: nothing is approximated, so --strict need not refuse it).
            concurrency=spec.scaling.concurrency,
            snapshot=snapshot,
            example_input=example,
            gpu=str(spec.resources.gpu) if spec.resources.gpu else "",
        )
        return ctx

    def cls_values(self, project: Project) -> dict[str, Any]:
        """The plain-valued @app.cls(...) settings: GPU, resources, timeouts, scaling, snapshot."""
        spec = project.spec
        gpu = spec.resources.gpu
        values: dict[str, Any] = {}
        if gpu:
            values["gpu"] = str(gpu).replace(gpu.type, self.gpu_name(gpu) or gpu.type)
        values |= {
            "cpu": float(spec.resources.cpu),
            "memory": spec.resources.memory_mib,
            "timeout": spec.scaling.timeout,
            "scaledown_window": spec.scaling.idle_timeout,
            "min_containers": spec.scaling.min_replicas,
            "max_containers": spec.scaling.max_replicas,
        }
        if self.snapshot(project):
            values["enable_memory_snapshot"] = True
        return values

    def hf_weights(self, project: Project) -> list[dict[str, str]]:
        """hf:// weights, each cached in its own Modal Volume mounted at the weights path."""
        out = []
        for n, w in enumerate(w for w in project.spec.weights if w.scheme == "hf"):
            repo, revision = w.hf_repo
            out.append({"repo": repo, "revision": revision, "path": w.path,
                        "volume": f"{project.spec.name}-weights-{n}", "volume_var": f"weights_{n}"})
        return out

    def snapshot(self, project: Project) -> bool:
        """Memory snapshots are safe when load() cannot have touched a GPU."""
        chosen = project.spec.targets.modal.memory_snapshot
        return chosen if chosen is not None else project.spec.resources.gpu is None

    def hardware_for(self, project: Project) -> Hardware:
        """The GPU (a list means fallbacks), plus cores and memory, which Modal bills too."""
        values = self.cls_values(project)
        cpu, memory = float(values["cpu"]), values["memory"] / 1024  # Modal takes MiB
        gpu = values.get("gpu")
        if not gpu:
            return Hardware(self.name, "cpu", "cpu-core", 0, cpu, memory)
        choices = [gpu] if isinstance(gpu, str) else list(gpu)
        name, _, count = choices[0].partition(":")
        return Hardware(self.name, choices[0], name, int(count or 1), cpu, memory,
                        tuple(c.partition(":")[0] for c in choices[1:]))
