"""The Modal target: its emitter (target.py), options, local runtime and deployer."""

from .target import ModalTarget

__all__ = ["ModalTarget"]
