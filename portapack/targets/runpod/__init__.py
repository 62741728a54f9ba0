"""The RunPod target: its emitter (target.py), options, local runtime and deployer."""

from portapack.targets.runpod.target import RunpodTarget

__all__ = ["RunpodTarget"]
