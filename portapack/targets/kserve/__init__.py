"""The KServe target: its emitter (target.py), manifest, options, local runtime and deployer."""

from portapack.targets.kserve.target import KserveTarget

__all__ = ["KserveTarget"]
