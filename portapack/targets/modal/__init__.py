"""The Modal target: its emitter (target.py), options, local runtime and deployer."""

from portapack.targets.modal.target import ModalTarget

__all__ = ["ModalTarget"]
