"""KServe on your own Kubernetes: a predictor image running KServe's model server
(``kserve.ModelServer``) and the InferenceService that serves it."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.targets.artifacts import (
    code_entries,
    example_input,
    local_weights,
    typing_names,
    with_requirements,
)
from portapack.targets.base import Feature, GpuMapping, Hardware, Note, Target
from portapack.targets.kserve.manifest import REMOTE_SCHEMES, inference_service
from portapack.targets.kserve.options import LEGACY_MODES, KserveOptions

if TYPE_CHECKING:
    from portapack.spec.loader import Project

# The model server portapack's adapter was written and tested against (kserve 0.21.0,
# 2026-12); it lives only in the artifact (its image and its own test env), never beside
# portapack: kserve pins python-dateutil<3, the kubernetes client 37.0.2 needs >=3.
KSERVE_REQUIREMENT = "kserve>=0.21.0,<0.22"
UV_REQUIREMENT = "uv>=0.9,<0.14"


class KserveTarget(Target):
    name = "kserve"
    title = "KServe"
    extra = "kserve"
    options = KserveOptions
    runtime = ".runtime:KserveRuntime"
    server_mode = ".server:KserveServerTarget"  # a server: project as a custom container
    deployer = ".deployer:KserveDeployer"
    client = ".client:KserveTransport"
    image_runtime = ".image:docker_runtime_factory"
    reserved_names = frozenset({"kserve", "model_server", "argparse", "asyncio"})
    templates: ClassVar[dict[str, str]] = {
        "model.py": "kserve/model.py.j2",
        "Dockerfile": "kserve/Dockerfile.j2",
        ".dockerignore": "kserve/dockerignore.j2",
        "requirements.txt": "_shared/requirements.txt.j2",
        "inferenceservice.yaml": "kserve/inferenceservice.yaml.j2",
        "README.md": "kserve/README.md.j2",
        "portapack_files.py": "_shared/portapack_files.py.j2",
    }
    # Values of the node label NVIDIA's GPU Feature Discovery sets (nvidia.com/gpu.product):
    # the card's name with spaces as dashes. Cluster-specific: other labellers (cloud node
    # pools, Karpenter) name cards differently; targets.kserve.gpu_label/gpu_product change it.
    gpu_names: ClassVar[dict[str, GpuMapping]] = {
        "T4": GpuMapping("Tesla-T4"),
        "L4": GpuMapping("NVIDIA-L4"),
        "A10G": GpuMapping("NVIDIA-A10G"),
        "RTX-4090": GpuMapping("NVIDIA-GeForce-RTX-4090"),
        "A6000": GpuMapping("NVIDIA-RTX-A6000"),
        "L40S": GpuMapping("NVIDIA-L40S"),
        "A100-40GB": GpuMapping("NVIDIA-A100-SXM4-40GB"),
        "A100-80GB": GpuMapping("NVIDIA-A100-SXM4-80GB"),
        "H100": GpuMapping("NVIDIA-H100-80GB-HBM3"),
        "H200": GpuMapping("NVIDIA-H200"),
        "B200": GpuMapping("NVIDIA-B200"),
        "RTX-PRO-6000": GpuMapping("NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition"),
    }
    unsupported: ClassVar[dict[Feature, str]] = {}

    def base_image(self, project: Project) -> str:
        return project.spec.targets.kserve.base_image or f"python:{project.spec.python}-slim"

    def context(self, project: Project) -> dict[str, Any]:
        spec = project.spec
        ctx = self.base_context(project)
        ctx.update(
            typing=typing_names(project.predictor),
            requirements=with_requirements(project, KSERVE_REQUIREMENT, "pydantic>=2"),
            base_image=self.base_image(project),
            system_packages=spec.system_packages,
            docker_env=self.image_env(project),
            build_commands=spec.build_commands,
            uv_requirement=UV_REQUIREMENT,
            local_weights=local_weights(project),
            storage_weights=[w for w in spec.weights if w.scheme in REMOTE_SCHEMES],
            code_entries=list(code_entries(project)),
            concurrency=spec.scaling.concurrency,
            secrets=spec.secrets,
            secret_name=spec.targets.kserve.secret_name or spec.name,
            mode=spec.targets.kserve.mode,
            example_input=example_input(project),
            manifest=self.manifest(project),
        )
        return ctx

    def manifest(self, project: Project, image: str | None = None,
                 namespace: str | None = None) -> dict[str, Any]:
        """The InferenceService: the build's (placeholder image) or a deploy's."""
        return inference_service(project, image, namespace)

    def validate(self, project: Project) -> list[str]:
        problems = super().validate(project) + storage_problems(project)
        if not project.spec.name[0].isalpha():  # IsvcNameFmt: [a-z]([-a-z0-9]*[a-z0-9])?
            problems.append(f"name: an InferenceService name starts with a letter, not "
                            f"'{project.spec.name}'; rename the spec")
        return problems

    def extra_notes(self, project: Project) -> list[Note]:
        spec, opts = project.spec, project.spec.targets.kserve
        scaling, notes = spec.scaling, []
        if opts.deployment_mode in LEGACY_MODES:
            notes.append(Note(self.name, "targets.kserve.deployment_mode", f"{opts.deployment_mode}"
                              f" is written as {opts.mode}, its name since KServe 0.16"))
        if opts.mode == "Standard":
            if scaling.min_replicas == 0:
                notes.append(Note(self.name, "scaling.min_replicas", "Standard mode (an HPA) keeps "
                                  "at least one replica: minReplicas is 1, no scale to zero "
                                  "(deployment_mode: Knative scales to zero)"))
            if "concurrency" in scaling.model_fields_set:
                notes.append(Note(self.name, "scaling.concurrency", "Standard mode's HPA scales on "
                                  "CPU, not on requests: concurrency only limits predictions "
                                  "running at once in each replica"))
            if "idle_timeout" in scaling.model_fields_set:
                notes.append(Note(self.name, "scaling.idle_timeout", "not expressible in Standard "
                                  "mode: the HPA scales down on its own schedule"))
        elif "idle_timeout" in scaling.model_fields_set:
            notes.append(Note(self.name, "scaling.idle_timeout", "~ Knative's scale-to-zero pod "
                              "retention period, which applies only when min_replicas is 0"))
        return notes

    def hardware_for(self, project: Project) -> Hardware:
        """Your own nodes: priced by the canonical GPU (or CPU), e.g. --self-hosted A100-80GB=1.10."""
        res = project.spec.resources
        memory = res.memory_mib / 1024
        if res.gpu:
            return Hardware(self.name, str(res.gpu), res.gpu.type, res.gpu.count,
                            cpu_cores=res.cpu, memory_gib=memory)
        return Hardware(self.name, "cpu", "cpu", cpu_cores=res.cpu, memory_gib=memory)


def storage_problems(project: Project) -> list[str]:
    """KServe's webhook rules for storageUris (validateMultipleStorageURIsSpec)."""
    paths = [w.path for w in project.spec.weights if w.scheme in REMOTE_SCHEMES]
    problems = [f"weights: KServe mounts a download at {p}, which must not be /; choose a "
                "folder such as /mnt/models" for p in paths if p == "/"]
    problems += [f"weights: the path {p} is longer than KServe's 255 characters"
                 for p in paths if len(p) > 255]
    if len(paths) > 1:
        parents = [PurePosixPath(p).parts for p in paths]
        common = 0
        while all(len(p) > common + 1 and p[common + 1] == parents[0][common + 1] for p in parents):
            common += 1
        if common == 0:
            problems.append(f"weights: KServe needs the download paths ({', '.join(paths)}) to "
                            "share a parent folder other than / (e.g. /weights/a and /weights/b)")
    return problems
