"""What ``portapack deploy`` created (and what ``portapack serve`` is serving), kept on disk
so ``portapack call`` and ``Client.from_deploy`` need no flags.

``<out>/.portapack-deploy/<target>.json`` (deploy) and ``<out>/.portapack-serve/<target>.json``
(serve, removed when it stops). Beside the build folders, not inside them: a rebuild replaces
``<out>/<target>/`` whole, while the deployment it recorded lives on.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from portapack.errors import PortapackError

FOLDERS = {False: ".portapack-deploy", True: ".portapack-serve"}


def record_path(out: Path, target: str, *, local: bool = False) -> Path:
    return Path(out) / FOLDERS[local] / f"{target}.json"


def write_record(out: Path, target: str, data: dict[str, Any], *, local: bool = False) -> Path:
    path = record_path(out, target, local=local)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"target": target, **data, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                     time.gmtime())}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_record(out: Path, target: str, *, local: bool = False) -> dict[str, Any]:
    from portapack.targets import canonical_name

    target = canonical_name(target)
    path = record_path(out, target, local=local)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        how = (f"'portapack serve --target {target}' is not running (from this folder)" if local
               else f"nothing deployed to {target} from here yet: run 'portapack deploy --target "
               f"{target}'")
        raise PortapackError(f"{how}, or pass --url/--endpoint (looked for {path})") from None
    except ValueError as exc:
        raise PortapackError(f"{path} is not valid JSON ({exc}); deploy again or delete it") from None


def remove_record(out: Path, target: str, *, local: bool = False) -> None:
    record_path(out, target, local=local).unlink(missing_ok=True)
