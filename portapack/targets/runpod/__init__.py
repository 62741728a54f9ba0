"""The RunPod target: its emitter (target.py), options, local runtime and deployer."""

from .target import RunpodTarget

__all__ = ["RunpodTarget"]
