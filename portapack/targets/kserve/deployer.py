"""KServe: build the predictor image, push it, then apply the InferenceService to the cluster
of the user's kubeconfig (current context) with server-side apply, and wait for Ready.

The Kubernetes client (``portapack[kserve]``) is imported lazily. Only CustomObjectsApi is
used: it needs no discovery (DynamicClient would cache discovery in /tmp). Server-side apply
(``fieldManager=portapack``, ``force``) makes a second deploy update the same object;
``fieldValidation=Strict`` makes the API server refuse a misspelt field, as kubectl does.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import textwrap
import time
from typing import Any

from portapack.building.builder import project_digest
from portapack.deploying.base import Deployer, DeployResult, Plan, PreflightError, Step, missing_module
from portapack.errors import PortapackError
from portapack.proof.engine import push_image
from portapack.targets.artifacts import example_input
from portapack.targets.kserve.cluster import Cluster, ClusterError, ready_state
from portapack.targets.kserve.manifest import PLACEHOLDER_IMAGE

POLL_SECONDS = 2.0


class KserveDeployer(Deployer):
    target = "kserve"
    install_hint = 'pip install "portapack[kserve,docker]"'
    poll_seconds = POLL_SECONDS

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._cluster: Cluster | None = None

    # -- what is deployed --------------------------------------------------------------------
    @property
    def registry(self) -> str | None:
        return self.options.registry or self.spec.targets.kserve.registry

    @property
    def image(self) -> str:
        """Tagged by what the build holds and the base it is built on (as a dry run shows)."""
        if not self.registry:
            return PLACEHOLDER_IMAGE.format(name=self.spec.name)
        digest = f"{project_digest(self.project)}|{self.options.base_image or ''}"
        return f"{self.registry}/{self.spec.name}:{hashlib.sha256(digest.encode()).hexdigest()[:12]}"

    @property
    def namespace(self) -> str:
        """--namespace, else targets.kserve.namespace, else the kubeconfig context's, else default."""
        chosen = self.options.namespace or self.spec.targets.kserve.namespace
        if chosen:
            return chosen
        try:
            return Cluster.context_namespace() or "default"
        except (ClusterError, ImportError):
            return "default"

    def manifest(self) -> dict[str, Any]:
        from portapack.targets import get_target

        target = get_target(self.target).for_project(self.project)
        return target.manifest(self.project, self.image, self.namespace)

    # -- checks -----------------------------------------------------------------------------
    def check_platform(self) -> list[str]:
        problems = missing_module("kubernetes", "kserve") + missing_module("docker", "docker")
        if not any("docker" in p for p in problems):
            from portapack.proof.engine import DockerUnavailable, docker_client

            try:
                docker_client()
            except DockerUnavailable as exc:
                problems.append(str(exc))
        if not self.registry:
            problems.append("no registry to push the image to: pass --registry REGISTRY/NAMESPACE "
                            "or set targets.kserve.registry (one your cluster can pull from)")
        if not any("kubernetes" in p for p in problems):
            try:
                Cluster.load()
            except ClusterError as exc:
                problems.append(str(exc))
        return problems

    def preflight(self) -> None:
        """The local checks, then one cheap call (list InferenceServices, limit 1) proving the
        API server answers, the credentials work and KServe is installed: within 15 s."""
        super().preflight()
        try:
            self.cluster().check_access(self.namespace)
        except ClusterError as exc:
            raise PreflightError(self.target, [str(exc)]) from None

    def cluster(self) -> Cluster:
        if self._cluster is None:
            self._cluster = Cluster.load()
        return self._cluster

    # -- the plan ---------------------------------------------------------------------------
    def plan(self) -> Plan:
        import yaml

        manifest = self.manifest()
        predictor = manifest["spec"]["predictor"]
        settings: dict[str, Any] = {
            "mode": manifest["metadata"]["annotations"]["serving.kserve.io/deploymentMode"],
            "namespace": self.namespace,
            "replicas": f"{predictor.get('minReplicas')}..{predictor.get('maxReplicas')}",
            "image": self.image,
            "manifest": "\n" + textwrap.indent(yaml.safe_dump(manifest, sort_keys=False), "    ").rstrip(),
        }
        secret = self.spec.targets.kserve.secret_name or self.spec.name
        steps = [Step("build image", {"tag": self.image, "context": str(self.build_dir)}),
                 Step("push image", {"image": self.image}),
                 Step("apply InferenceService", {"name": self.spec.name, "namespace": self.namespace,
                                                 "fieldManager": "portapack"}),
                 Step("wait for Ready", {"timeout": f"{self.options.timeout:g}s"})]
        secrets = [f"{s} (key of Secret {secret})" for s in self.spec.secrets]
        return Plan(self.target, self.spec.name, steps, settings, secrets)

    # -- the steps --------------------------------------------------------------------------
    def run_step(self, step: Step, result: DeployResult) -> None:
        if step.action == "build image":
            from portapack.proof.engine import build_image

            build_image(self.build_dir, self.image, base_image=self.options.base_image,
                        on_progress=self.say)
        elif step.action == "push image":
            push_image(self.image, self.say)
        elif step.action == "apply InferenceService":
            applied = self.cluster().apply(self.manifest())
            result.endpoint_id = f"{applied['metadata'].get('namespace', self.namespace)}/{self.spec.name}"
            self.say(f"applied inferenceservice/{self.spec.name} (generation "
                     f"{applied['metadata'].get('generation', '?')})")
        elif step.action == "wait for Ready":
            isvc = self.wait_ready()
            result.url = (isvc.get("status") or {}).get("url")
            result.sample_request = self.sample_request(result.url)
        else:
            super().run_step(step, result)

    def wait_ready(self) -> dict[str, Any]:
        """Poll until Ready is True for the current generation; fail at once on a failed
        revision or model load, and at the timeout with the last condition."""
        deadline = time.monotonic() + self.options.timeout
        last = "no status yet"
        while True:
            isvc = self.cluster().get(self.namespace, self.spec.name)
            state, why = ready_state(isvc)
            if state == "ready":
                return isvc
            if state == "failed":
                raise PortapackError(f"{why}\n{self.logs_hint()}")
            if why != last:
                self.say(f"  waiting: {why}")
                last = why
            if time.monotonic() >= deadline:
                raise PortapackError(f"not Ready after {self.options.timeout:g} s ({last})\n"
                                     f"{self.logs_hint()}")
            time.sleep(self.poll_seconds)

    def logs_hint(self) -> str:
        name, ns = self.spec.name, self.namespace
        return (f"see: kubectl -n {ns} describe inferenceservice {name}; kubectl -n {ns} logs "
                f"-l serving.kserve.io/inferenceservice={name} -c kserve-container")

    def sample_request(self, url: str | None) -> str | None:
        if not url:
            return None
        if self.spec.server is not None:
            route = self.spec.server.routes[0]
            body = next((e.body for e in self.spec.examples
                         if getattr(e, "route", None) == route and e.body), {})
            return (f"curl -s {url.rstrip('/')}{route} -H 'Content-Type: application/json' "
                    f"-d {shlex.quote(json.dumps(body))}")
        body = shlex.quote(json.dumps({"instances": [example_input(self.project)]}))
        return (f"curl -s {url.rstrip('/')}/v1/models/{self.spec.name}:predict "
                f"-H 'Content-Type: application/json' -d {body}")

