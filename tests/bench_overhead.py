"""(d) of ``make bench``: what the generated adapter costs per request, per local runtime.

For each target, examples/text-stats is built, and a copy of the build gets the hand-written
native handler of tests/bench_native/ in place of the generated adapter. Both run under the
same local runtime, in the same environment, and are called alternately by portapack's
client, one request at a time. The goal is an adapter overhead at p50 of at most 5 % or
1 ms over native, whichever is larger. The figures are printed; nothing is asserted.

    .venv/bin/python tests/bench_overhead.py      (alone; make bench runs it too)

Environment: BENCH_CALLS (default 200 per side), BENCH_TARGETS (default all four).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATIVE = Path(__file__).resolve().parent / "bench_native"
ADAPTER_FILE = {"cog": "run.py", "runpod": "handler.py", "truss": "model/model.py",
                "modal": "modal_app.py"}
CALLS = int(os.environ.get("BENCH_CALLS", "200"))
INPUTS = {"text": "I love it, love it!", "top_k": 3}


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[q - 1]


def native_copy(build: Path, target: str, dest: Path) -> Path:
    shutil.copytree(build, dest, symlinks=True)
    shutil.copy2(NATIVE / target / Path(ADAPTER_FILE[target]).name, dest / ADAPTER_FILE[target])
    return dest


def measure(target: str, work: Path) -> dict[str, float]:
    import portapack
    from portapack.calling import Client
    from portapack.proof.runtimes.base import free_port
    from portapack.proof.serve import Served

    project = portapack.load_project(ROOT / "examples" / "text-stats")
    build = portapack.build(project, [target], work / "adapter")[target].path
    native = native_copy(build, target, work / "native" / target)
    servers = {"adapter": Served(target, build, free_port()), "native": Served(target, native, free_port())}
    try:
        clients = {k: Client(target, s.url, local=True) for k, s in servers.items()}
        want = clients["adapter"].predict(INPUTS)
        got = clients["native"].predict(INPUTS)
        if got != want:
            raise RuntimeError(f"{target}: native answered {got!r}, the adapter {want!r}")
        for _ in range(10):  # warm both
            for c in clients.values():
                c.predict(INPUTS)
        times: dict[str, list[float]] = {"adapter": [], "native": []}
        for n in range(CALLS):  # alternate, so drift hits both sides alike
            for side in (("adapter", "native") if n % 2 else ("native", "adapter")):
                started = time.perf_counter()
                clients[side].predict(INPUTS)
                times[side].append(time.perf_counter() - started)
        return {f"{side}_{q}": p(v, q) * 1000 for side, v in times.items() for q in (50, 95)}
    finally:
        for s in servers.values():
            s.stop()


def report(target: str, f: dict[str, float]) -> str:
    over = f["adapter_50"] - f["native_50"]
    allowed = max(1.0, 0.05 * f["native_50"])
    verdict = "within goal" if over <= allowed else f"OVER goal ({allowed:.2f} ms allowed)"
    return (f"  {target:7} p50 native {f['native_50']:7.2f} ms  adapter {f['adapter_50']:7.2f} ms"
            f"  (+{over:5.2f} ms, {100 * over / f['native_50']:+5.1f} %)  p95 native "
            f"{f['native_95']:7.2f} / adapter {f['adapter_95']:7.2f} ms  {verdict}")


def main() -> int:
    targets = os.environ.get("BENCH_TARGETS", "cog,runpod,truss,modal").split(",")
    print(f"(d) adapter overhead per request, text-stats, {CALLS} calls per side "
          "(portapack's client, local runtimes, one at a time)", flush=True)
    work = Path(tempfile.mkdtemp(prefix="portapack-overhead-"))
    try:
        for target in targets:
            try:
                print(report(target, measure(target, work / target)), flush=True)
            except Exception as exc:  # one runtime failing does not hide the others
                print(f"  {target:7} not measured: {type(exc).__name__}: {exc}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
