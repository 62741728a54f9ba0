"""The one registry of targets: the built-in ones and plugins, by name.

A target is one :class:`Target` subclass in its own package (``portapack/targets/<name>/``)
with its templates in ``templates/<name>/``. Third-party targets register the same kind of
class under the ``portapack.targets`` entry-point group::

    [project.entry-points."portapack.targets"]
    mytarget = "my_package:MyTarget"

Nothing is imported until a target is asked for: listing the names reads metadata only.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING

from portapack.errors import TargetError

if TYPE_CHECKING:
    from portapack.targets.base import Target

GROUP = "portapack.targets"
BUILTIN = {
    "modal": "portapack.targets.modal:ModalTarget",
    "cog": "portapack.targets.cog:CogTarget",
    "truss": "portapack.targets.truss:TrussTarget",
    "runpod": "portapack.targets.runpod:RunpodTarget",
    "kserve": "portapack.targets.kserve:KserveTarget",
}


@dataclass(frozen=True)
class Registered:
    """One registry entry: where the target class is and where it came from."""

    name: str
    ref: str  # "module:Class"
    origin: str  # "built-in" or "plugin: <distribution> <version>"


@cache
def registered() -> dict[str, Registered]:
    """Built-in targets first, then plugins in name order. A plugin may not reuse a name."""
    from importlib.metadata import entry_points

    found = {name: Registered(name, ref, "built-in") for name, ref in BUILTIN.items()}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        origin = f"plugin: {dist.name} {dist.version}" if dist else "plugin"
        if ep.name in found:
            raise TargetError(f"the {origin} registers target '{ep.name}', which is already "
                              f"{found[ep.name].origin}; uninstall one of them")
        found[ep.name] = Registered(ep.name, ep.value, origin)
    return found


@cache
def target_class(name: str) -> type[Target]:
    """The class registered as ``name`` (imported now)."""
    from portapack.targets.base import Target

    entry = registered()[name]
    module, _, attr = entry.ref.partition(":")
    try:
        cls = getattr(import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise TargetError(f"target '{name}' ({entry.origin}) cannot be loaded from "
                          f"{entry.ref}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Target)) or cls.name != name:
        raise TargetError(f"target '{name}' ({entry.origin}): {entry.ref} must be a "
                          f"portapack.targets.Target subclass with name = {name!r}")
    return cls


def names() -> list[str]:
    return list(registered())


def options_models() -> dict[str, tuple[type, str]]:
    """Each target's options model and title, for the spec's ``targets:`` section."""
    return {name: (target_class(name).options, target_class(name).title) for name in names()}


@cache
def _aliases() -> dict[str, str]:
    return {alias: name for name in registered() for alias in target_class(name).aliases}


def canonical_name(name: str) -> str:
    """A target name or alias (``replicate`` -> ``cog``), in any case (``Modal``), -> the
    registered name."""
    name = name.strip().lower()
    if name in registered():
        return name
    if name in _aliases():
        return _aliases()[name]
    known = names() + sorted(_aliases())
    guess = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean '{guess[0]}'? " if guess else ""
    raise TargetError(f"unknown target '{name}'; {hint}choose from {', '.join(names())} or all "
                      "('portapack targets' lists them)")


def get_target(name: str) -> Target:
    return target_class(canonical_name(name))()


def _split(chosen: list[str] | tuple[str, ...] | str) -> list[str]:
    items = [chosen] if isinstance(chosen, str) else chosen
    return [n.strip().lower() for item in items for n in item.split(",") if n.strip()]


def means_all(chosen: list[str] | tuple[str, ...] | str) -> bool:
    """Whether ``chosen`` asks for "all": every target that can carry the spec."""
    return "all" in _split(chosen)


def resolve_targets(chosen: list[str] | tuple[str, ...] | str) -> list[Target]:
    """``"all"`` (registry order) or a list of names/aliases (their order), without duplicates.
    Names are case-insensitive and an item may be a comma list (``"modal,cog"``)."""
    chosen = _split(chosen)
    if not chosen:
        raise TargetError(f"no target given; choose from {', '.join(names())} or all")
    wanted = names() if "all" in chosen else [canonical_name(n) for n in chosen]
    return [target_class(n)() for n in dict.fromkeys(wanted)]


class _Targets(Mapping[str, "type[Target]"]):
    """``TARGETS[name]`` -> the target class, loaded on first use."""

    def __getitem__(self, name: str) -> type[Target]:
        if name not in registered():
            raise KeyError(name)
        return target_class(name)

    def __iter__(self) -> Iterator[str]:
        return iter(registered())

    def __len__(self) -> int:
        return len(registered())

    def __repr__(self) -> str:
        return f"TARGETS({', '.join(self)})"


TARGETS: Mapping[str, type[Target]] = _Targets()


def __getattr__(name: str):  # the base class's names, without importing it up front
    if name in ("Target", "Feature", "GpuMapping", "Note", "Hardware"):
        from portapack.targets import base

        return getattr(base, name)
    raise AttributeError(name)


__all__ = ["GROUP", "TARGETS", "Registered", "canonical_name", "get_target", "means_all", "names",
           "options_models", "registered", "resolve_targets", "target_class"]
