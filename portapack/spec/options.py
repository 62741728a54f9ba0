"""Where the spec's ``targets:`` section learns which targets exist.

The spec never imports a target. The target registry (``portapack.targets``) supplies each
target's options model and title through :func:`supply_target_options`, and the package root
connects the two when ``portapack`` is imported. Plain Python: registering imports nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# name -> (options model, title), in registry order.
OptionsSource = Callable[[], Mapping[str, tuple[Any, str]]]
_source: OptionsSource | None = None


def supply_target_options(source: OptionsSource) -> None:
    """Register where the ``targets:`` section's models come from (the target registry)."""
    global _source
    _source = source


def target_options() -> Mapping[str, tuple[Any, str]]:
    """Each registered target's (options model, title)."""
    if _source is None:
        raise RuntimeError("no target registry supplied the targets: options; import portapack first")
    return _source()
