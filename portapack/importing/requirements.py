"""pip requirements as a source project lists them: a requirements file, or the words of a
``pip install`` command, read into plain requirement strings and the package-index options the
spec carries (``index_url``, ``extra_index_urls``, ``find_links``).

pip's own reading (pip 24, ``pip install --help`` and "Requirements File Format"): an option and
its value may be written ``--index-url URL``, ``--index-url=URL`` or ``-i URL``; in a file each
option line applies to the whole file. What this module does not understand is never guessed
at: the caller keeps the text verbatim (a build command) or notes it by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# option -> spec field; each takes one value
INDEX_OPTIONS = {"--index-url": "index_url", "-i": "index_url",
                 "--extra-index-url": "extra_index_urls",
                 "--find-links": "find_links", "-f": "find_links"}
# options that change nothing about what gets installed (only how pip talks or caches)
HARMLESS = {"--no-cache-dir", "--upgrade", "-U", "--quiet", "-q", "--progress-bar",
            "--disable-pip-version-check", "--no-warn-script-location", "--prefer-binary",
            "--root-user-action", "--break-system-packages", "--system", "--verbose", "-v",
            "--timeout", "--retries", "--no-input", "--compile", "--no-compile"}
TAKES_VALUE = {"--progress-bar", "--root-user-action", "--timeout", "--retries"}


@dataclass
class Requirements:
    """Plain requirement strings, the index options, and what was not understood."""

    requirements: list[str] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # -r files read (relative to the source)
    unknown: list[str] = field(default_factory=list)  # options kept out, by their text

    @property
    def has_index_options(self) -> bool:
        return bool(self.index_url or self.extra_index_urls or self.find_links)

    def set_option(self, key: str, value: str) -> bool:
        """Record one index option; False if it contradicts one already read."""
        name = INDEX_OPTIONS[key]
        if name == "index_url":
            if self.index_url not in (None, value):
                return False
            self.index_url = value
        else:
            values = getattr(self, name)
            if value not in values:
                values.append(value)
        return True

    def merge(self, other: Requirements) -> bool:
        """Add ``other`` to this; False if their index_url differ."""
        self.requirements += other.requirements
        self.files += other.files
        self.unknown += other.unknown
        ok = True
        if other.index_url:
            ok = self.set_option("--index-url", other.index_url)
        for url in other.extra_index_urls:
            self.set_option("--extra-index-url", url)
        for url in other.find_links:
            self.set_option("--find-links", url)
        return ok

    def spec_fields(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.index_url:
            out["index_url"] = self.index_url
        if self.extra_index_urls:
            out["extra_index_urls"] = list(self.extra_index_urls)
        if self.find_links:
            out["find_links"] = list(self.find_links)
        return out


def _split_option(word: str) -> tuple[str, str | None]:
    if word.startswith("--") and "=" in word:
        key, _, value = word.partition("=")
        return key, value
    return word, None


def read_words(words: list[str]) -> Requirements | None:
    """The arguments after ``pip install`` (already split as the shell would): None if any of
    them is something this module does not understand exactly (``-e``, ``-c``, ``--pre``, a
    local path, a variable), so the caller keeps the command verbatim instead."""
    out = Requirements()
    n = 0
    while n < len(words):
        word = words[n]
        key, value = _split_option(word)
        if key in INDEX_OPTIONS:
            if value is None:
                if n + 1 >= len(words):
                    return None
                value, n = words[n + 1], n + 1
            if "$" in value or not out.set_option(key, value):
                return None
        elif key in ("-r", "--requirement"):
            if value is None:
                if n + 1 >= len(words):
                    return None
                value, n = words[n + 1], n + 1
            out.files.append(value)
        elif key in HARMLESS:
            if key in TAKES_VALUE and value is None:
                n += 1
        elif word.startswith("-") or "$" in word or word.startswith((".", "/")) or not word:
            return None
        else:
            out.requirements.append(word)
        n += 1
    return out


def read_file(path: Path, rel: str, base: Path) -> tuple[Requirements, list[tuple[int, str]]]:
    """A requirements file; returns it and the lines (number, text) not understood, which the
    caller notes. ``-r other.txt`` lines are followed (relative to the file's folder, within
    ``base``)."""
    out = Requirements()
    skipped: list[tuple[int, str]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = re.split(r"\s+#", raw)[0].strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("-"):
            out.requirements.append(line)
            continue
        words = line.split()
        key, value = _split_option(words[0])
        if value is None and len(words) == 2:
            value = words[1]
        elif value is None and len(words) == 1 and len(key) > 2 and key[:2] in ("-i", "-f", "-r"):
            key, value = key[:2], key[2:]  # pip accepts -ihttps://... too
        if key in INDEX_OPTIONS and value and "$" not in value and out.set_option(key, value):
            continue
        if key in ("-r", "--requirement") and value:
            nested = (path.parent / value)
            try:
                nested.resolve().relative_to(base.resolve())
            except ValueError:
                skipped.append((number, line))
                continue
            if nested.is_file():
                inner, more = read_file(nested, nested.relative_to(base).as_posix(), base)
                out.merge(inner)
                out.files.append(nested.relative_to(base).as_posix())
                skipped += more
                continue
        skipped.append((number, line))
    return out, skipped


__all__ = ["INDEX_OPTIONS", "Requirements", "read_file", "read_words"]
