"""The Truss target: its emitter (target.py), options, local runtime and deployer."""

from portapack.targets.truss.target import TrussTarget

__all__ = ["TrussTarget"]
