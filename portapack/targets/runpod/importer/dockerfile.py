"""A RunPod worker's Dockerfile, read into spec fields (``portapack import runpod``).

Nothing is built or run. The file is parsed as Docker reads it by ``dockerfile-parse`` (line
continuations, comments, instruction case, JSON and shell forms), so each RUN arrives as the one
shell text Docker hands to ``/bin/sh -c``. Then:

* ``FROM`` (the final stage, following ``FROM <stage>``; ``ARG`` defaults substituted) ->
  ``python`` for ``python:3.x`` images, else ``targets.runpod.base_image``;
* ``ENV`` -> ``env``, with ``$ARG``/``${ARG}`` replaced by the ARG's default (what ``docker
  build`` without ``--build-arg`` does); a value that reads the base image's own variables
  (``${PATH}``) is not carried, by name;
* a ``RUN`` that is only a ``&&`` chain of plain ``pip install`` / ``apt-get install`` (and
  ``apt-get update`` / cleanup) -> ``requirements`` / ``system_packages``; ``-r FILE`` is found
  through the ``COPY`` that put it there. Any other ``RUN`` is kept whole and verbatim as one
  build command (``if ...; then ...; fi``, pipes, ``||``, quotes all intact); an ARG it reads
  becomes ``build_args``. A BuildKit ``--mount=type=cache`` flag is dropped (a cache changes no
  result); other mounts are refused or noted by name.

What has no equivalent (ENTRYPOINT, USER, a CMD script, a ``COPY --from`` another stage, ...)
is noted with its line. Without a Dockerfile, requirements.txt alone.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from portapack.errors import Problem, SpecError
from portapack.importing.base import Imported, without_platform_sdk
from portapack.importing.requirements import Requirements, read_file, read_words
from portapack.spec.model import PYTHON_VERSIONS

VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
ANY_VAR = re.compile(r"\$(?:\{[^}]*\}|\w+)")
COMPOUND = {"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case",
            "esac", "{", "}", "function", "select", "!"}
APT_OPTIONS = {"-y", "--yes", "-q", "-qq", "--quiet", "--no-install-recommends", "--assume-yes",
               "--no-install-suggests"}
APT_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.\-]*$")
PIP_UPGRADES = {"pip", "setuptools", "wheel", "uv"}


@dataclass
class _State:
    src: Path
    spec: dict[str, Any]
    imported: Imported
    args: dict[str, str] = field(default_factory=dict)  # ARG name -> default, in this stage
    global_args: dict[str, str] = field(default_factory=dict)  # ARGs before the first FROM
    env: dict[str, str] = field(default_factory=dict)
    system: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    reqs: Requirements = field(default_factory=Requirements)
    copies: dict[str, str] = field(default_factory=dict)  # image path -> source path (relative)
    workdir: str = "/"
    stages: set[str] = field(default_factory=set)  # stage names (FROM <stage> is no image)
    pip_sources: int = 0  # pip installs lifted into requirements


def _line(entry: dict[str, Any]) -> str:
    return f"Dockerfile:{entry['startline'] + 1}"


def _stages(structure: list[dict[str, Any]], args: dict[str, str]) -> list[dict[str, Any]]:
    """The instructions of the final stage, preceded by those of the stages it is built FROM."""
    stages: list[tuple[str | None, list[dict[str, Any]]]] = []
    for entry in structure:
        if entry["instruction"] == "FROM":
            words = entry["value"].split()
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append((name, [entry]))
        elif stages:
            stages[-1][1].append(entry)
    if not stages:
        return []
    names = {name: body for name, body in stages if name}
    chain = [stages[-1][1]]  # FROM images may name global ARGs only
    while True:
        image = _subst(chain[0][0]["value"].split()[0], args)
        if image in names and names[image] is not chain[0]:
            chain.insert(0, names[image])
        else:
            break
    return [entry for body in chain for entry in body]


def _subst(text: str, values: dict[str, str]) -> str:
    return VAR.sub(lambda m: values.get(m.group(1) or m.group(2), m.group(0)), text)


def read_dockerfile(src: Path, spec: dict[str, Any], imported: Imported) -> Requirements:
    """Fill ``spec`` from the worker's Dockerfile; return the requirements it installs (the
    runpod SDK left out), with their index options. Without a Dockerfile, requirements.txt."""
    path = src / "Dockerfile"
    if not path.is_file():
        imported.note("Dockerfile", "none found: dependencies come from requirements.txt only")
        reqs = Requirements()
        if (src / "requirements.txt").is_file():
            reqs = _req_file(src, "requirements.txt", "requirements.txt", imported)
        reqs.requirements = _without_runpod(reqs.requirements, imported)
        return reqs
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(path=str(path), env_replace=False)
    structure = parser.structure
    state = _State(src, spec, imported)
    for entry in structure:  # global ARGs (before the first FROM) may be used in FROM
        if entry["instruction"] == "FROM":
            break
        if entry["instruction"] == "ARG":
            _arg(entry, state)
    state.global_args, state.args = state.args, {}
    froms = [e for e in structure if e["instruction"] == "FROM"]
    state.stages = {w[2] for w in (e["value"].split() for e in froms) if len(w) >= 3 and w[1].lower() == "as"}
    entries = _stages(structure, state.args)
    if len(froms) > 1:
        left = len(froms) - len([e for e in entries if e["instruction"] == "FROM"])
        imported.note(_line(froms[-1]), "multi-stage Dockerfile: the final stage (and the stages "
                      f"it is built FROM) are carried, {left} other stage(s) are not")
    for entry in entries:
        _instruction(entry, state)
    if state.env:
        spec["env"] = state.env
    if state.system:
        spec["system_packages"] = state.system
    if state.commands:
        spec["build_commands"] = state.commands
    if state.build_args:
        spec["build_args"] = state.build_args
    state.reqs.requirements = _without_runpod(state.reqs.requirements, imported)
    return state.reqs


def _arg(entry: dict[str, Any], state: _State) -> None:
    """``ARG NAME[=default]``: inside a stage a bare ``ARG NAME`` takes the global default."""
    for word in shlex.split(entry["value"]):
        name, sep, default = word.partition("=")
        state.args[name] = _subst(default, state.args) if sep else state.global_args.get(name, "")


def _instruction(entry: dict[str, Any], state: _State) -> None:
    op, value, where = entry["instruction"], entry["value"], _line(entry)
    imported, spec = state.imported, state.spec
    if op == "FROM":
        image = _subst(value.split()[0], state.global_args)
        state.args = {}  # each stage sees only the ARGs it declares
        if image in state.stages:
            return
        if ANY_VAR.search(image):
            raise SpecError(Problem(where, f"FROM {value.split()[0]}: the image names a build "
                                    "argument with no default; give the ARG a default"))
        m = re.match(r"(?:docker\.io/)?(?:library/)?python:(\d\.\d+)", image)
        if m and m.group(1) in PYTHON_VERSIONS + ("3.8", "3.9"):
            spec["python"] = m.group(1)
            spec.get("targets", {}).pop("runpod", None)
        else:
            spec.setdefault("targets", {})["runpod"] = {"base_image": image}
            imported.note(f"{where} FROM", f"{image} became targets.runpod.base_image; the other "
                          "targets use their own base images", lost=True)
    elif op == "ARG":
        _arg(entry, state)
    elif op == "ENV":
        _env(value, where, state)
    elif op == "WORKDIR":
        state.workdir = str(PurePosixPath(state.workdir) / _subst(value, {**state.args, **state.env}))
    elif op in ("COPY", "ADD"):
        _copy(value, where, state, op)
    elif op == "RUN":
        _run(value, where, state)
    elif op == "CMD":
        words = _exec_words(value)
        if not (words and re.match(r"python[\d.]*$", PurePosixPath(words[0]).name) and any(
                w.endswith(".py") for w in words)):
            imported.note(where, f"CMD {value} is not carried: every target starts the predictor "
                          "itself, so what this command starts first does not run", lost=True)
    elif op in ("ENTRYPOINT", "USER", "VOLUME", "HEALTHCHECK", "SHELL", "ONBUILD", "STOPSIGNAL"):
        imported.note(where, f"'{op} {value}' is not carried", lost=True)


def _exec_words(value: str) -> list[str]:
    import json

    try:
        words = json.loads(value)
        return [str(w) for w in words] if isinstance(words, list) else []
    except ValueError:
        try:
            return shlex.split(value)
        except ValueError:
            return []


def _env(value: str, where: str, state: _State) -> None:
    try:
        words = shlex.split(value, posix=True)
    except ValueError:
        state.imported.note(where, f"ENV {value} is not carried: it does not parse", lost=True)
        return
    if words and "=" not in words[0]:  # legacy `ENV KEY value with spaces`
        pairs = [(words[0], value.split(None, 1)[1] if len(value.split(None, 1)) > 1 else "")]
    else:
        pairs = [tuple(w.split("=", 1)) for w in words if "=" in w]
    known = {**state.args, **state.env}
    for key, raw in pairs:
        names = {m.group(1) or m.group(2) for m in VAR.finditer(raw)}
        unknown = sorted(n for n in names if n not in known)
        if unknown or (ANY_VAR.search(raw) and not names):
            state.imported.note(where, f"ENV {key}={raw} is not carried: it reads "
                                f"{', '.join('$' + n for n in unknown) or 'a variable form'} from the "
                                "base image, which portapack cannot see", lost=True)
            continue
        text = _subst(raw, known)
        used_args = sorted(n for n in names if n in state.args and n not in state.env)
        if used_args:
            state.imported.note(where, f"ENV {key}: {', '.join('$' + n for n in used_args)} replaced "
                                "by the ARG default (as docker build without --build-arg)")
        state.env[key] = text
        known[key] = text


def _copy(value: str, where: str, state: _State, op: str) -> None:
    words = _exec_words(value) if value.lstrip().startswith("[") else value.split()
    flags = [w for w in words if w.startswith("--")]
    words = [w for w in words if not w.startswith("--")]
    if any(f.startswith("--from=") for f in flags):
        state.imported.note(where, f"{op} {value}: files made in another build stage are not "
                            "carried; make them at build time with a build command, or fetch "
                            "them with 'weights:'", lost=True)
        return
    if len(words) < 2:
        return
    *sources, dest = words
    dest_dir = dest.endswith("/") or len(sources) > 1 or dest in (".", "./")
    base = PurePosixPath(state.workdir) / dest
    for source in sources:
        rel = source.strip("/")
        target = base / PurePosixPath(rel).name if dest_dir else base
        if (state.src / rel).is_dir():
            state.copies[str(base)] = rel  # a folder's contents land in dest
        else:
            state.copies[str(target)] = rel


def _find_copied(path: str, state: _State) -> str | None:
    """The source file (relative) that the image has at ``path`` (resolved from WORKDIR)."""
    absolute = str(PurePosixPath(state.workdir) / path)
    if absolute in state.copies:
        return state.copies[absolute]
    for dest, rel in state.copies.items():  # a copied folder
        if (state.src / rel).is_dir() and absolute.startswith(dest.rstrip("/") + "/"):
            return f"{rel}/{absolute[len(dest.rstrip('/')) + 1:]}".lstrip("/")
    return None


def _strip_flags(value: str, where: str, state: _State) -> str:
    """Drop RUN's own flags (BuildKit ``--mount``, ``--network``, ``--security``)."""
    text = value.lstrip()
    while text.startswith("--"):
        flag, _, text = text.partition(" ")
        text = text.lstrip()
        key, _, opts = flag.partition("=")
        if key != "--mount":
            if key == "--network" and opts != "none":
                continue
            raise SpecError(Problem(where, f"RUN {flag}: no target can carry this flag; remove it"))
        options = dict(o.partition("=")[::2] for o in opts.split(","))
        kind = options.get("type", "bind")
        if kind in ("cache", "tmpfs"):
            state.imported.note(where, f"RUN {flag}: a {kind} mount changes no result; dropped")
        elif kind == "secret" and options.get("required", "false") == "false":
            state.imported.note(where, f"RUN {flag}: the command runs without the secret (as "
                                "docker build does when none is passed); pass what it needs as "
                                "a secret at run time instead", lost=True)
        else:
            raise SpecError(Problem(where, f"RUN {flag}: a {kind} mount at build time has no "
                                    "equivalent on the targets; remove it (or move that step to "
                                    "load()), then import again"))
    return text


def _run(value: str, where: str, state: _State) -> None:
    text = _strip_flags(value, where, state)
    if value.lstrip().startswith("["):
        words = _exec_words(value)
        text = shlex.join(words)
    parts = _and_chain(text)
    if parts is not None and _lift(parts, where, state):
        return
    _command(text, where, state)


def _command(text: str, where: str, state: _State) -> None:
    text = text.strip()
    if not text:
        return
    if "\n" in text:
        raise SpecError(Problem(where, "a RUN with a heredoc or a newline cannot be one build "
                                "command; move it into a script"))
    state.commands.append(text)
    state.imported.note(where, f"RUN kept verbatim as a build command on every target: {text[:80]}"
                        + ("..." if len(text) > 80 else ""))
    for name in sorted({m.group(1) or m.group(2) for m in VAR.finditer(text)}):
        if name in state.args and name not in state.env:
            state.build_args[name] = state.args[name]
    for word in re.findall(r"[\w./-]+", text):
        if word.startswith("/") and _find_copied(word, state):
            state.imported.note(where, f"the command uses {word}, which COPY put in the image "
                                f"from {_find_copied(word, state)}; the targets copy your files "
                                "after the build commands, elsewhere: move this step to load()",
                                lost=True)


def _and_chain(text: str) -> list[list[str]] | None:
    """The commands of a plain ``a && b && c`` (each as its words), or None if the text has
    any other shell structure (``;``, ``||``, pipes, redirections, subshells, if/for/case, ...)."""
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return None
    parts: list[list[str]] = [[]]
    for token in tokens:
        if token == "&&":
            parts.append([])
        elif set(token) <= set("();<>|&"):
            return None
        else:
            if not parts[-1] and token in COMPOUND:
                return None
            parts[-1].append(token)
    if any(not p for p in parts) or "`" in text or "$(" in text:
        return None
    return parts


def _lift(parts: list[list[str]], where: str, state: _State) -> bool:
    """If every command in the chain is an install this module maps exactly, apply them and
    return True; otherwise change nothing and return False."""
    system: list[str] = []
    reqs = Requirements()
    pip_count = 0
    for words in parts:
        env_prefix = []
        while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
            env_prefix.append(words[0])
            words = words[1:]
        if any(not w.startswith("DEBIAN_FRONTEND=") for w in env_prefix):
            return False
        if not words:
            return False
        head = words[0]
        if head in ("apt-get", "apt") and len(words) > 1:
            verb, rest = words[1], words[2:]
            if verb in ("update", "clean", "autoremove", "upgrade") and all(
                    w in APT_OPTIONS for w in rest) and verb != "upgrade":
                continue
            if verb != "install":
                return False
            packages = [w for w in rest if w not in APT_OPTIONS]
            if any(not APT_PACKAGE.match(p) for p in packages):
                return False
            system += packages
            continue
        if words[:2] == ["rm", "-rf"] and all(w.startswith("/var/lib/apt/lists") for w in words[2:]):
            continue
        args = _pip_args(words)
        version = re.match(r"^python(3\.\d+)$", head)
        if args is not None and version and "python" not in state.spec:
            state.spec["python"] = version.group(1)  # the worker's image runs this Python
        if args is None:
            return False
        found = read_words(args)
        if found is None:
            return False
        for rel in found.files:
            copied = _find_copied(rel, state)
            if copied is None or not (state.src / copied).is_file():
                return False
            found.merge(_req_file(state.src, copied, where, state.imported))
        if set(r.lower() for r in found.requirements) <= PIP_UPGRADES and not found.files and \
                ("--upgrade" in args or "-U" in args):
            state.imported.note(where, f"'{shlex.join(words)}' dropped: each target installs "
                                "with its own up-to-date installer")
            continue
        pip_count += 1
        if not reqs.merge(found):
            return False
    if state.commands and (system or pip_count):
        state.imported.note(where, "installed before the build commands on every target (this "
                            f"RUN came after '{state.commands[-1][:60]}')")
    if reqs.index_url and (state.pip_sources or pip_count > 1):
        # --index-url on one pip install replaced PyPI for that install only: as an extra
        # index it serves the same pinned packages without hiding PyPI from the others.
        state.imported.note(where, f"--index-url {reqs.index_url} applied to this install only; "
                            "it became an extra index for every requirement", lost=False)
        reqs.extra_index_urls.insert(0, reqs.index_url)
        reqs.index_url = None
    if state.reqs.index_url and reqs.requirements:
        state.imported.note(where, f"an earlier install's --index-url {state.reqs.index_url} now "
                            "also serves these requirements")
    state.pip_sources += pip_count
    if not state.reqs.merge(reqs):
        return False
    state.system += [p for p in system if p not in state.system]
    if reqs.requirements or system:
        state.imported.note(where, "RUN became " + " and ".join(
            x for x in (f"{len(reqs.requirements)} requirement(s)" if reqs.requirements else "",
                        f"{len(system)} system package(s)" if system else "") if x))
    return True


def _pip_args(words: list[str]) -> list[str] | None:
    """The arguments of a ``pip install`` (``pip``, ``pip3``, ``python -m pip``, ``uv pip``)."""
    n = 0
    if re.match(r"^(/usr/(local/)?bin/)?python[\d.]*$", words[0]) and words[1:3] == ["-m", "pip"]:
        n = 3
    elif re.match(r"^(/usr/(local/)?bin/)?pip[\d.]*$", words[0]):
        n = 1
    elif words[0] == "uv" and words[1:2] == ["pip"]:
        n = 2
    else:
        return None
    if words[n:n + 1] != ["install"]:
        return None
    return words[n + 1:]


def _req_file(src: Path, rel: str, where: str, imported: Imported) -> Requirements:
    found, skipped = read_file(src / rel, rel, src)
    for number, line in skipped:
        imported.note(f"{rel}:{number}", f"pip option '{line}' not carried", lost=True)
    return found


def _without_runpod(requirements: list[str], imported: Imported) -> list[str]:
    kept, dropped = without_platform_sdk(requirements, "runpod")
    if dropped:
        imported.note("requirements", f"dropped {', '.join(dropped)} from the image's "
                      "requirements (the runpod target adds it)")
    return kept


__all__ = ["read_dockerfile"]
