"""Inputs as predict() takes them, outputs as Python values: files in, files out.

In: a file input may be a :class:`~pathlib.Path`, ``"@photo.png"`` (as on the command line),
an http(s) URL or a data: URI; local files travel as data: URIs, which every target accepts.
The request is then checked by the predictor's own ``Inputs`` model (the one every artifact
ships), so a bad input fails here, before anything is sent or billed.

Out: each data: URI becomes a file in ``out_dir`` and its :class:`~pathlib.Path`; an http(s)
URL where the predictor returns a file is downloaded (by the client, which knows the token).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from portapack.calling.errors import CallError

if TYPE_CHECKING:
    from portapack.spec.signature import PredictorInfo


def encode_inputs(inputs: dict[str, Any], predictor: PredictorInfo | None, platform: str,
                  cwd: Path | None = None) -> dict[str, Any]:
    """The request's inputs: local files inlined, then validated (raises :class:`CallError`
    of kind ``input``, naming each bad input)."""
    from portapack.spec.files import data_uri, is_file_ref

    files = set(predictor.file_inputs) if predictor else None
    out: dict[str, Any] = {}
    for name, value in inputs.items():
        is_file = files is None or name in files
        if isinstance(value, Path) or (is_file and is_file_ref(value)):
            path = value if isinstance(value, Path) else (cwd or Path.cwd()) / value[1:]
            if not path.is_file():
                raise CallError(platform, f"input '{name}': no file {path}", kind="input")
            value = data_uri(path)
        out[name] = value
    if predictor is not None:
        from portapack.spec.validation import InvalidInput, inputs_validator

        try:
            inputs_validator(predictor)(dict(out))
        except InvalidInput as exc:
            raise CallError(platform, f"{exc} (checked here, nothing was sent)", kind="input",
                            inputs=out) from None
    return out


def file_urls(value: Any, predictor: PredictorInfo | None) -> list[str]:
    """The http(s) URLs in an output that stand for files (the predictor says it returns
    files); an output that is text stays text."""
    if predictor is None or "path" not in (predictor.output_kind, predictor.output_item):
        return []
    found = []

    def walk(v: Any) -> None:
        if isinstance(v, str) and v.startswith(("http://", "https://")):
            found.append(v)
        elif isinstance(v, list):
            for i in v:
                walk(i)
        elif isinstance(v, dict):
            for i in v.values():
                walk(i)

    walk(value)
    return found


def decode_output(value: Any, out_dir: Path, fetched: dict[str, tuple[bytes, str]] | None = None) -> Any:
    """data: URIs (and the fetched URLs' bytes) written as files; their paths in their place."""
    import mimetypes

    from portapack.spec.files import decode_data_uri, write_file_outputs

    fetched = fetched or {}

    def walk(v: Any) -> Any:
        if isinstance(v, str) and v in fetched:
            data, mime = fetched[v]
            name = Path(v.split("?")[0]).name or "output"
            if not Path(name).suffix:
                name += mimetypes.guess_extension(mime or "") or ".bin"
            path = out_dir / name
            n = 1
            while path.exists():
                path, n = out_dir / f"{Path(name).stem}-{n}{Path(name).suffix}", n + 1
            out_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return path
        if decode_data_uri(v) is not None:
            written, files = write_file_outputs(v, out_dir)
            return Path(written) if files else v
        if isinstance(v, list):
            return [walk(i) for i in v]
        if isinstance(v, dict):
            return {k: walk(i) for k, i in v.items()}
        return v

    return walk(value)
