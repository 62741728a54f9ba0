"""The Cog target: its emitter (target.py), options, local runtime and deployer."""

from .target import CogTarget

__all__ = ["CogTarget"]
