"""The command line: the ``portapack`` group. Each command lives in portapack/commands/,
parses its options, calls the library and prints; nothing else lives here."""

from __future__ import annotations

import signal
from typing import Any

import click

from portapack import __version__
from portapack.commands.call import call
from portapack.commands.cost import cost as cost_command
from portapack.commands.deploy import deploy
from portapack.commands.importer import import_command
from portapack.commands.local import image, predict, serve, test_command
from portapack.commands.project import build, init, schema, targets, validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="portapack")
def main() -> None:
    """Write a model once; build, test and deploy it on every platform with a target
    ('portapack targets' lists them)."""
    # SIGTERM unwinds like Ctrl-C, so servers that test/serve started are always stopped.
    signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


for command in (init, validate, build, predict, test_command, serve, image, deploy, call,
                cost_command, import_command, targets, schema):
    main.add_command(command)

if __name__ == "__main__":  # pragma: no cover
    main()
