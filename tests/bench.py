"""portapack's figures: build time, the RunPod image's build/rebuild/size, and cold starts.

    make bench            (= .venv/bin/python tests/bench.py)

Not a pytest file: it asserts nothing about timings, it prints them. Each figure is the median
of a few runs, measured in this one run so the comparisons are fair:

  (a) ``portapack build --target all`` on examples/text-stats, next to Truss's own
      ``truss image build-context`` on the truss folder that build wrote;
  (b) the RunPod image: a cold build (fresh tag, no layer cache, local base image), a rebuild
      after editing only predict.py (and which layers the log says were rebuilt), and the
      size it adds to the base image;
  (d) (tests/bench_overhead.py) per local runtime, the request latency of the generated
      adapter beside a hand-written native handler (tests/bench_native/) on the same runtime;
  (c) cold start to the first answer: the predictor bare in-process (load() + first predict()),
      RunPod's local API server without Docker, and the image in a container (docker run ->
      first successful POST /runsync).

Without a Docker engine (or the base image), (b) and (c)'s container rows are skipped, saying why.
Environment: BENCH_RUNS (default 3), BENCH_COLD_BUILDS (default 3: each is up to ~40 s),
BENCH_BASE_IMAGE (default python:3.11-slim, the RunPod Dockerfile's own base).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "text-stats"
BIN = Path(sys.executable).parent
PORTAPACK = [sys.executable, "-m", "portapack.cli"]
TRUSS = str(BIN / "truss") if (BIN / "truss").exists() else "truss"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
COLD_BUILDS = int(os.environ.get("BENCH_COLD_BUILDS", "3"))
BASE = os.environ.get("BENCH_BASE_IMAGE", "python:3.11-slim")
REQUEST = {"text": "I love it, love it!"}

rows: list[tuple[str, str, str, str]] = []  # (section, measurement, value, notes)


def say(text: str = "") -> None:
    print(text, flush=True)


def median_of(runs: list[float]) -> float:
    return statistics.median(runs)


def fmt_s(seconds: float) -> str:
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def runs_note(runs: list[float]) -> str:
    return f"n={len(runs)}, " + ", ".join(fmt_s(r) for r in runs)


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
    return result


def post_json(url: str, body: Any, timeout: float = 5) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return 0, None


def wait_for_runsync(url: str, expected: Any, timeout: float = 120,
                     alive: Callable[[], bool] = lambda: True) -> float:
    """Seconds until POST /runsync first answers ``expected`` (polling every 20 ms)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        status, body = post_json(f"{url}/runsync", {"input": REQUEST})
        if status == 200 and isinstance(body, dict) and body.get("output") == expected:
            return time.perf_counter() - started
        if not alive():
            raise RuntimeError("the server exited before it answered")
        time.sleep(0.02)
    raise RuntimeError(f"no successful /runsync within {timeout:.0f}s")


def free_port() -> int:
    from portapack.proof.runtimes.base import free_port as pick

    return pick()


# -- (a) build ------------------------------------------------------------------------------------
def bench_build(work: Path) -> Path:
    say(f"(a) portapack build --target all vs truss image build-context ({RUNS} runs each)")
    ours, theirs = [], []
    truss_dir = None
    for n in range(RUNS):
        out = work / f"build-{n}"
        ours.append(timed(lambda out=out: run(PORTAPACK + ["build", "--target", "all", "--out",
                                                           str(out)], cwd=EXAMPLE)))
        truss_dir = out / "truss"
        ctx = work / f"truss-context-{n}"
        theirs.append(timed(lambda ctx=ctx, d=truss_dir: run(
            [TRUSS, "image", "build-context", str(ctx), str(d), "--non-interactive"])))
        say(f"    run {n + 1}: portapack {fmt_s(ours[-1])}, truss {fmt_s(theirs[-1])}")
    a, b = median_of(ours), median_of(theirs)
    rows.append(("build", "`portapack build --target all` (4 targets)", fmt_s(a), runs_note(ours)))
    rows.append(("build", "`truss image build-context` (1 target)", fmt_s(b), runs_note(theirs)))
    rows.append(("build", "ratio portapack / truss", f"{a / b:.2f}x",
                 "both CLI subprocesses on text-stats, same run; portapack writes all 4 targets"))
    return work / "build-0"


# What a build must import whatever portapack does: the CLI (click), the spec (PyYAML), the
# templates (Jinja2) and pydantic with one model validated (its first model pulls in the rest
# of pydantic and scans installed distributions for pydantic plugins).
FLOOR = ("import click, yaml, jinja2\nfrom pydantic import BaseModel\n"
         "class M(BaseModel):\n    x: int\nM(x=1)")


def bench_startup(work: Path) -> None:
    """CLI start-up: what a command pays before doing anything (lazy targets, SDKs, jinja), and
    the four-target build next to the floor of the libraries it needs."""
    runs = max(RUNS, 10)
    say(f"(s) start-up: portapack --help, build --target all, the library floor ({runs} runs each)")
    script = str(BIN / "portapack") if (BIN / "portapack").exists() else None
    cli = [script] if script else PORTAPACK
    out = work / "startup-build"
    bare = [timed(lambda: run([sys.executable, "-c", "pass"])) for _ in range(runs)]
    floor = [timed(lambda: run([sys.executable, "-c", FLOOR])) for _ in range(runs)]
    helps = [timed(lambda: run(cli + ["--help"])) for _ in range(runs)]
    builds = [timed(lambda: run(cli + ["build", "--target", "all", "--out", str(out)], cwd=EXAMPLE))
              for _ in range(runs)]
    rows.append(("start-up", "`portapack --help`", fmt_s(median_of(helps)), runs_note(helps)))
    rows.append(("start-up", "`portapack build --target all` (text-stats)",
                 fmt_s(median_of(builds)), runs_note(builds)))
    rows.append(("start-up", "floor: import click, PyYAML, Jinja2, pydantic + 1 model",
                 fmt_s(median_of(floor)), runs_note(floor) + "; no build can start sooner"))
    rows.append(("start-up", "portapack's own share of the build (build - floor)",
                 fmt_s(median_of(builds) - median_of(floor)),
                 "reading the spec and predictor, 4 targets' models, rendering, writing"))
    rows.append(("start-up", "`python -c pass` (the interpreter alone)", fmt_s(median_of(bare)),
                 runs_note(bare)))


# -- (e) the artifacts' own environments (portapack.proof.envs) ---------------------------------------
def bench_envs(work: Path) -> None:
    """`portapack test --target all` twice with an empty env cache: cold (every env made with
    uv; uv's download cache is the user's, so this is env creation, not downloads) then warm
    (every env reused). The set-up time is what `test` spends getting the envs."""
    say("(e) environment set-up of `portapack test` (cold: empty env cache; warm: reused)")
    cache = work / "env-cache"
    env = {**os.environ, "PORTAPACK_CACHE_DIR": str(cache)}
    env.setdefault("UV_CACHE_DIR", str(Path(os.environ.get("XDG_CACHE_HOME")
                                            or Path.home() / ".cache") / "portapack" / "uv"))
    code = """if True:
        import json, sys, time
        from portapack.proof import envs
        timings = []
        real = envs.ensure_env
        def timed(*a, **k):
            got = real(*a, **k)
            timings.append([a[0], got.seconds, got.created])
            return got
        envs.ensure_env = timed
        import portapack.proof.runtimes.base, portapack.proof.local, portapack.targets.truss.runtime as t
        portapack.proof.runtimes.base.ensure_env = portapack.proof.local.ensure_env = t.ensure_env = timed
        import portapack
        started = time.perf_counter()
        report = portapack.test(sys.argv[1], "all", sys.argv[2])
        print(json.dumps({"ok": report.ok, "envs": timings, "wall": time.perf_counter() - started}))
    """
    for label in ("cold", "warm"):
        result = subprocess.run([sys.executable, "-c", code, str(EXAMPLE), str(work / "env-build")],
                                capture_output=True, text=True, env=env, timeout=1800)
        data = json.loads(result.stdout.strip().splitlines()[-1])
        setup = sum(seconds for _, seconds, _ in data["envs"])
        made = sum(1 for *_, created in data["envs"] if created)
        rows.append(("envs", f"{label}: env set-up of `portapack test` (5 envs)", fmt_s(setup),
                     f"{made} created; whole test {fmt_s(data['wall'])}; ok={data['ok']}"))
        say(f"    {label}: env set-up {fmt_s(setup)} ({made} created), whole test {fmt_s(data['wall'])}")


# -- (c, first half) cold start without Docker ----------------------------------------------------
BARE = """\
import json, sys, time
t0 = time.perf_counter()
from portapack import load_project
from portapack.proof.local import LocalPredictor
runner = LocalPredictor(load_project(sys.argv[1]))
t1 = time.perf_counter()
runner.load()
out = runner.predict(json.loads(sys.argv[2]))
t2 = time.perf_counter()
print(json.dumps({"import_and_spec": t1 - t0, "load_predict": t2 - t1, "output": out}))
"""


def bench_bare(build: Path) -> Any:
    say(f"(c) cold start, no Docker ({RUNS} runs each)")
    inproc, walls = [], []
    expected = None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = run([sys.executable, "-c", BARE, str(EXAMPLE), json.dumps(REQUEST)])
        walls.append(time.perf_counter() - started)
        data = json.loads(result.stdout.strip().splitlines()[-1])
        inproc.append(data["load_predict"])
        expected = data["output"]
    rows.append(("cold start", "bare: `LocalPredictor.load()` + first `predict()`",
                 fmt_s(median_of(inproc)), runs_note(inproc)))
    rows.append(("cold start", "bare, in a fresh `python` (interpreter + imports + spec)",
                 fmt_s(median_of(walls)), runs_note(walls)))
    say(f"    bare load+predict {fmt_s(median_of(inproc))}, fresh process {fmt_s(median_of(walls))}")

    local = []
    for _ in range(RUNS):
        port = free_port()
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-u", "handler.py", "--rp_serve_api", "--rp_api_host", "127.0.0.1",
             "--rp_api_port", str(port)], cwd=build / "runpod", stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for_runsync(f"http://127.0.0.1:{port}", expected,
                             alive=lambda proc=proc: proc.poll() is None)
            local.append(time.perf_counter() - started)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    rows.append(("cold start", "RunPod local API, no Docker: start -> first `/runsync`",
                 fmt_s(median_of(local)), runs_note(local)))
    say(f"    runpod local API {fmt_s(median_of(local))}")
    return expected


# -- (b) the RunPod image -------------------------------------------------------------------------
def docker_or_reason() -> tuple[Any, str | None]:
    try:
        from portapack.proof.engine import DockerUnavailable, docker_client
    except ImportError as exc:  # pragma: no cover
        return None, f"portapack.proof.engine not importable: {exc}"
    try:
        client = docker_client()
    except DockerUnavailable as exc:
        return None, str(exc)
    try:
        client.images.get(BASE)
    except Exception:
        return None, f"base image {BASE} is not in this engine (docker images)"
    return client, None


PIP_DOCKERFILE = """ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
RUN python3 -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH" PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
ENV LOG_LEVEL="info"
COPY assets assets
COPY predict.py predict.py
COPY handler.py .
CMD ["python", "-u", "handler.py"]
"""  # the RunPod Dockerfile portapack generated before uv: a venv (with pip) and pip install


def docker_build(path: Path, tag: str, nocache: bool) -> tuple[float, list[str]]:
    """A BuildKit build, as portapack runs it. A cold build also empties BuildKit's cache
    mounts (uv's and pip's download caches), so it downloads everything again."""
    from portapack.proof.engine import build_image, buildkit_command

    if nocache:
        subprocess.run([buildkit_command()[0], "builder", "prune", "-f", "--filter",
                        "type=exec.cachemount"], capture_output=True, check=False)
    log: list[str] = []
    started = time.perf_counter()
    build_image(path, tag, base_image=BASE, on_progress=log.append, no_cache=nocache)
    return time.perf_counter() - started, log


def steps(log: list[str]) -> list[tuple[str, bool]]:
    """(instruction, taken from the cache) for each RUN/COPY step of a BuildKit plain log."""
    text = "\n".join(log)
    names = dict(re.findall(r"^#(\d+) \[[^\]]*\d+/\d+\] ((?:RUN|COPY).*)$", text, re.M))
    cached = set(re.findall(r"^#(\d+) CACHED$", text, re.M))
    return [(ins, n in cached) for n, ins in sorted(names.items(), key=lambda x: int(x[0]))]


def portapack_build(project: Path, out: Path) -> None:
    import portapack

    portapack.build(project, ["runpod"], out)


def bench_variant(client: Any, label: str, context: Path, project: Path, out: Path | None,
                  tags: list[str]) -> None:
    """Cold builds, size over the base, and rebuilds after a code edit for one Dockerfile."""
    run_id = uuid.uuid4().hex[:8]
    cold = []
    for n in range(COLD_BUILDS):
        tag = f"portapack-bench/text-stats:{label}-cold-{run_id}-{n}"
        tags.append(tag)
        seconds, _ = docker_build(context, tag, nocache=True)
        cold.append(seconds)
        say(f"    {label}: cold build {n + 1}: {fmt_s(seconds)}")
    rows.append(("image", f"{label}: cold build (no layer or download cache)",
                 fmt_s(median_of(cold)), runs_note(cold)))
    image = client.images.get(tags[-1]).attrs["Size"]
    base = client.images.get(BASE).attrs["Size"]
    rows.append(("image", f"{label}: image size minus base image",
                 f"{(image - base) / 1e6:.1f} MB", f"{image / 1e6:.1f} MB image"))

    warm, verdicts, done = [], [], []
    predictor = project / "predict.py"
    original = predictor.read_text()
    for n in range(RUNS):
        # A unique edit each time: the engine's cache cannot already hold this layer.
        predictor.write_text(original + f"\n# bench edit {uuid.uuid4()}\n")
        if out is not None:
            portapack_build(project, out)
        else:
            shutil.copy2(predictor, context / "predict.py")
        tag = f"portapack-bench/text-stats:{label}-edit-{run_id}-{n}"
        tags.append(tag)
        seconds, log = docker_build(context, tag, nocache=False)
        warm.append(seconds)
        done = steps(log)
        first_code = next(i for i, (ins, _) in enumerate(done) if "predict.py" in ins)
        verdicts.append(all(c for _, c in done[:first_code])
                        and not any(c for _, c in done[first_code:]))
    predictor.write_text(original)
    rebuilt = [ins for ins, c in done if not c]
    verdict = ("only the code layers rebuilt (" + "; ".join(rebuilt) + ")" if all(verdicts)
               else "UNEXPECTED: dependency layers were rebuilt")
    rows.append(("image", f"{label}: rebuild after editing only predict.py",
                 fmt_s(median_of(warm)), f"{runs_note(warm)}; {verdict}"))
    say(f"    {label}: size {(image - base) / 1e6:.1f} MB over the base; rebuild "
        f"{fmt_s(median_of(warm))}")


def bench_image(client: Any, work: Path, tags: list[str]) -> str:
    say(f"(b) RunPod image on {BASE}: portapack's (uv, BuildKit cache) beside plain pip")
    project = work / "image-project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("build", "__pycache__"))
    out = work / "image-build"
    portapack_build(project, out)
    context = out / "runpod"
    plain = work / "pip-context"
    shutil.copytree(context, plain)
    (plain / "Dockerfile").write_text(PIP_DOCKERFILE)
    bench_variant(client, "pip", plain, project, None, tags)
    bench_variant(client, "uv", context, project, out, tags)
    return tags[-1]


def bench_container(client: Any, tag: str, expected: Any) -> None:
    say(f"(c) container cold start: docker run -> first successful /runsync ({RUNS} runs)")
    starts = []
    for _ in range(RUNS):
        port = free_port()
        started = time.perf_counter()
        container = client.containers.run(
            tag, ["python", "-u", "handler.py", "--rp_serve_api", "--rp_api_host", "0.0.0.0",
                  "--rp_api_port", "8000"], ports={"8000/tcp": ("127.0.0.1", port)}, detach=True)
        try:
            def alive(container=container) -> bool:
                container.reload()
                return container.status != "exited"

            wait_for_runsync(f"http://127.0.0.1:{port}", expected, alive=alive)
            starts.append(time.perf_counter() - started)
        finally:
            container.remove(force=True)
        say(f"    run: {fmt_s(starts[-1])}")
    rows.append(("cold start", "Docker: `docker run` -> first `/runsync`", fmt_s(median_of(starts)),
                 runs_note(starts)))


# -- main -----------------------------------------------------------------------------------------
def table() -> str:
    lines = ["| | measurement | median | notes |", "|---|---|---|---|"]
    order = ["start-up", "envs", "build", "image", "cold start"]
    for section, name, value, notes in sorted(rows, key=lambda r: order.index(r[0])):
        lines.append(f"| {section} | {name} | {value} | {notes} |")
    return "\n".join(lines)


def main() -> int:
    started = time.perf_counter()
    # Measured as an installed wheel runs: pip writes bytecode at install, so the CLI's
    # subprocesses may write and reuse __pycache__ here too (some shells set this to 1).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    from portapack import __version__

    say(f"portapack {__version__} bench, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"median of {RUNS} runs (cold image builds: {COLD_BUILDS})\n")
    work = Path(tempfile.mkdtemp(prefix="portapack-bench-"))
    tags: list[str] = []
    client = None
    try:
        bench_startup(work)
        bench_envs(work)
        build = bench_build(work)
        expected = bench_bare(build)
        client, reason = docker_or_reason()
        if client is None:
            say(f"(b), (c) Docker rows skipped: {reason}")
            rows.append(("image", "(skipped)", "-", f"no Docker: {reason}"))
        else:
            tag = bench_image(client, work, tags)
            bench_container(client, tag, expected)
    finally:
        for tag in tags:
            try:
                client.images.remove(tag, force=True)
            except Exception:
                pass
        shutil.rmtree(work, ignore_errors=True)
    import bench_overhead  # tests/ is on sys.path: this file runs as a script from there

    bench_overhead.main()
    say(f"\ntotal bench time {time.perf_counter() - started:.0f} s\n")
    say(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
