"""The Cog target: its emitter (target.py), options, local runtime and deployer."""

from portapack.targets.cog.target import CogTarget

__all__ = ["CogTarget"]
