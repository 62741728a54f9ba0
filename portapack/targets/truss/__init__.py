"""The Truss target: its emitter (target.py), options, local runtime and deployer."""

from .target import TrussTarget

__all__ = ["TrussTarget"]
