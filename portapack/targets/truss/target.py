"""Baseten Truss: config.yaml, model/model.py, and the user's code in packages/."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from portapack.cost.billing import BillingRule
from portapack.targets.artifacts import example_input, local_weights, typing_names, with_requirements
from portapack.targets.base import Feature, GpuMapping, Hardware, Note, Target, requested_features
from portapack.targets.truss.options import TrussOptions

if TYPE_CHECKING:
    from portapack.spec.loader import Project

# Secret names that hold a Hugging Face token (huggingface_hub reads both). A spec declaring
# one gets it named as the hf:// weights' auth_secret_name, so gated repos download on Baseten
# (truss 0.18.36 truss/base/truss_config.py WeightsSource.auth_secret_name; Baseten docs
# "private model" / weights guides, checked 2026-12-01).
HF_TOKEN_SECRETS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


class TrussTarget(Target):
    name = "truss"
    aliases = ("baseten",)
    title = "Truss"
    extra = "truss"
    options = TrussOptions
    runtime = ".runtime:TrussRuntime"
    server_mode = ".server:TrussServerTarget"  # a server: project as a docker_server Truss
    deployer = ".deployer:TrussDeployer"
    importer = ".importer:TrussImporter"
    vendor = "Baseten"
    billing = BillingRule("per minute of replica up time, cold start included (each deploy's image "
                          "build too, not counted here); min_replica always on; scale_down_delay "
                          "idle after each burst", granularity=60, idle_name="scale_down_delay")
    client = ".client:BasetenTransport"
    reserved_names = frozenset({"truss"})
    code_dir = "packages"  # Truss puts its bundled_packages_dir on sys.path
    env_newlines = True  # config.yaml environment_variables hold any string
    templates: ClassVar[dict[str, str]] = {
        "config.yaml": "truss/config.yaml.j2",
        "model/__init__.py": "truss/init.py.j2",
        "model/model.py": "truss/model.py.j2",
        "README.md": "truss/README.md.j2",
        # On sys.path in Truss's loader and server, like the user's code.
        "packages/portapack_files.py": "_shared/portapack_files.py.j2",
    }
    # resources.accelerator values (truss.base.truss_config.Accelerator).
    gpu_names: ClassVar[dict[str, GpuMapping]] = {
        "T4": GpuMapping("T4"),
        "L4": GpuMapping("L4"),
        "A10G": GpuMapping("A10G"),
        "RTX-4090": GpuMapping("A10G", exact=False),
        "A6000": GpuMapping("L40S", exact=False),
        "L40S": GpuMapping("L40S"),
        "A100-40GB": GpuMapping("A100_40GB"),
        "A100-80GB": GpuMapping("A100"),
        "H100": GpuMapping("H100"),
        "H200": GpuMapping("H200"),
        "B200": GpuMapping("B200"),
        "RTX-PRO-6000": GpuMapping("RTX_PRO_6000"),
    }
    # min/max replicas, idle_timeout and concurrency are applied by `portapack deploy` through
    # Baseten's management API after the push (config.yaml has no autoscaling): see
    # extra_notes and portapack/deploying/truss.py.
    unsupported: ClassVar[dict[Feature, str]] = {
        Feature.TIMEOUT: "Truss has no per-prediction timeout setting",
    }
    # What deploy sets through the API: spec field -> Baseten autoscaling setting.
    autoscaling_fields: ClassVar[dict[Feature, str]] = {
        Feature.MIN_REPLICAS: "min_replica",
        Feature.MAX_REPLICAS: "max_replica",
        Feature.IDLE_TIMEOUT: "scale_down_delay",
    }

    def context(self, project: Project) -> dict[str, Any]:
        spec = project.spec
        ctx = self.base_context(project)
        weights = local_weights(project, self.code_dir)
        accelerator = self.accelerator(project)
        ctx.update(
            typing=typing_names(project.predictor),
            requirements=with_requirements(project, "pydantic>=2"),
            secrets=spec.secrets,
            local_weights=weights,
            accelerator=accelerator,
            example_input=example_input(project),
            config=self.config(project, accelerator),
            autoscaling=self.autoscaling(project),
            # A text stream goes out as text; any other stream as JSON lines (one per item).
            stream_text=project.predictor.streaming and project.predictor.output_kind == "str",
        )
        return ctx

    def extra_notes(self, project: Project) -> list[Note]:
        """Scaling the user set is not in config.yaml: say that deploy applies it."""
        used = requested_features(project)
        return [Note(self.name, f.value, f"not in config.yaml (Baseten keeps autoscaling on the "
                      f"deployment); 'portapack deploy' sets {setting} through Baseten's API "
                      "after the push")
                for f, setting in self.autoscaling_fields.items() if f in used]

    def notes(self, project: Project) -> list[Note]:
        """In the order of the spec's fields, as the other targets list them."""
        order = [f.value for f in Feature]
        return sorted(super().notes(project),
                      key=lambda n: order.index(n.feature) if n.feature in order else len(order))

    def autoscaling(self, project: Project) -> dict[str, int]:
        """The body of Baseten's PATCH .../autoscaling_settings for this spec: every field, so
        a deployment always matches the spec (Baseten's own defaults differ: 900 s delay)."""
        scaling = project.spec.scaling
        return {"min_replica": scaling.min_replicas, "max_replica": scaling.max_replicas,
                "scale_down_delay": scaling.idle_timeout,  # both in seconds, 0-3600 on Baseten
                "concurrency_target": scaling.concurrency}

    def hf_secret(self, project: Project) -> str | None:
        """The declared secret holding a Hugging Face token, if any."""
        return next((s for s in HF_TOKEN_SECRETS if s in project.spec.secrets), None)

    def accelerator(self, project: Project) -> str | None:
        gpu = project.spec.resources.gpu
        override = project.spec.targets.truss.accelerator
        if override or not gpu:
            return override
        name = self.gpu_name(gpu)
        return name if gpu.count == 1 else f"{name}:{gpu.count}"

    def config(self, project: Project, accelerator: str | None) -> dict[str, Any]:
        spec = project.spec
        cpu = spec.resources.cpu
        resources: dict[str, Any] = {
            "cpu": str(int(cpu)) if float(cpu).is_integer() else f"{int(cpu * 1000)}m",
            "memory": spec.resources.memory,
        }
        if accelerator:
            resources["accelerator"] = accelerator
        config: dict[str, Any] = {
            "model_name": spec.name,
            "python_version": "py" + spec.python.replace(".", ""),
            "requirements": spec.index_options + with_requirements(project, "pydantic>=2"),
            "resources": resources,
            "runtime": {"predict_concurrency": spec.scaling.concurrency},
        }
        if spec.system_packages:
            config["system_packages"] = list(spec.system_packages)
        if spec.env:
            config["environment_variables"] = dict(spec.env)
        if spec.secrets:
            config["secrets"] = {s: None for s in spec.secrets}
        if spec.build_commands:
            config["build_commands"] = spec.build_steps
        remote = [w for w in spec.weights if w.scheme != "local"]
        if remote:
            hf_secret = self.hf_secret(project)
            config["weights"] = [
                {"source": w.source, "mount_location": w.path}
                | ({"auth_secret_name": hf_secret} if w.scheme == "hf" and hf_secret else {})
                for w in remote]
        if spec.examples and spec.server is None:
            # Baseten shows it as the sample request body: "@cat.png" (a portapack spec form)
            # becomes the marked placeholder the README explains.
            config["model_metadata"] = {"example_model_input": example_input(project)}
        return config

    def hardware_for(self, project: Project) -> Hardware:
        accelerator = self.accelerator(project)
        if not accelerator:
            return Hardware(self.name, "cpu", "cpu")
        name, _, count = accelerator.partition(":")
        return Hardware(self.name, accelerator, name, int(count or 1))
