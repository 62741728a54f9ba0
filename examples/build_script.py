"""Build every bundled example for every platform from a script, with portapack's Python API.

    python examples/build_script.py [OUT]
"""

import sys
from pathlib import Path

import portapack

HERE = Path(__file__).parent


def main(out: Path) -> int:
    failed = 0
    for spec in sorted(HERE.glob("*/portapack.yaml")):
        try:
            project = portapack.load_project(spec)
            result = portapack.build(project, targets="all", out=out / project.spec.name)
        except portapack.PortapackError as exc:
            print(f"{spec}: {exc}", file=sys.stderr)
            failed += 1
            continue
        for b in result.builds:
            print(f"{project.spec.name:14} {b.target:7} {len(b.files):3} files -> {b.path}")
            for note in b.notes:
                print(f"{'':23}~ {note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build")))
