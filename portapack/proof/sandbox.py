"""What an artifact process sees locally: a clean environment, and its weights at their path.

Weights: a spec's local weights live at an absolute ``path`` (``/weights/linear``) on every
platform, baked into the image. Locally they are mounted there in a private mount namespace
made by bubblewrap: the host's ``/`` is mirrored on a tmpfs root, only the folders on the way
to each weight path are rebuilt (their other entries bound back), and the project's own
weights are bound read-only at the path. Nothing is created on the host, two projects with
the same path never see each other's weights, and it works as a non-root user (bubblewrap
uses unprivileged user namespaces). Without local weights no sandbox is used at all.

Why bubblewrap: a plain ``unshare`` bind needs the mount point to exist on the host (creating
``/weights`` needs root); a container needs a Docker engine and an image per run. bwrap is a
small distribution package (apt-get install bubblewrap) that starts in a few milliseconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from portapack.errors import PortapackError

# Machine plumbing a process may need to download anything (not model state), passed through.
PLUMBING = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY",
            "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "TZ")


class SandboxUnavailable(PortapackError):
    """Local weights need a private mount namespace and this machine cannot make one."""


def clean_env(bin_dir: Path | None, run_dir: Path, env: dict[str, str] | None = None,
              secrets: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """The environment a platform gives its process, built from scratch: PATH with the
    artifact env's bin first (the platforms spawn ``python``), a fresh HOME and TMPDIR per
    run, LANG, the CA and proxy plumbing, the spec's ``env``, and the developer's exported
    values of the secrets the spec lists. Nothing else of the developer's shell leaks in."""
    home, tmp = run_dir / "home", run_dir / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    path = "/usr/local/bin:/usr/bin:/bin"
    out = {"PATH": f"{bin_dir}:{path}" if bin_dir else path, "HOME": str(home), "TMPDIR": str(tmp),
           "LANG": os.environ.get("LANG") or "C.UTF-8", "PYTHONUNBUFFERED": "1",
           # Bytecode goes to the run dir, not __pycache__ folders inside build/.
           "PYTHONPYCACHEPREFIX": str(run_dir / "pycache")}
    out |= {k: os.environ[k] for k in PLUMBING if k in os.environ}
    out |= env or {}
    out |= {name: os.environ[name] for name in secrets if name in os.environ}
    return out


def check_bwrap() -> str:
    """The bwrap binary, proven to work here; else a message saying what is missing."""
    found = shutil.which("bwrap")
    if not found:
        raise SandboxUnavailable(
            "local weights are mounted at their spec path in a private mount namespace, which "
            "needs bubblewrap: install it (apt-get install bubblewrap / dnf install bubblewrap)")
    try:
        probe = subprocess.run([found, "--ro-bind", "/", "/", "true"], capture_output=True, text=True,
                               timeout=5)
    except (OSError, subprocess.TimeoutExpired) as exc:
        probe = None
        detail = str(exc)
    if probe is not None and probe.returncode == 0:
        return found
    detail = probe.stderr.strip() if probe is not None else detail
    raise SandboxUnavailable(
        f"bubblewrap cannot create a user namespace here ({detail}): enable unprivileged user "
        "namespaces (sysctl user.max_user_namespaces > 0; Debian <= 10: "
        "kernel.unprivileged_userns_clone=1; Ubuntu 24.04+: "
        "kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap), "
        "or run portapack test inside a container")


def bwrap_argv(binds: dict[str, str], *, tmpfs: tuple[str, ...] = (), bwrap: str = "bwrap") -> list[str]:
    """bwrap's argv (ending in ``--``) that shows ``binds`` ({path in the sandbox: host path})
    read-only, and an empty tmpfs at each ``tmpfs`` path; the rest of the host's ``/`` as is."""
    wanted = set(binds) | set(tmpfs)
    shadow: set[str] = set()
    for path in wanted:
        parts = path.strip("/").split("/")
        shadow.update("/" + "/".join(parts[:i]) for i in range(1, len(parts)))
    argv = [bwrap, "--die-with-parent", "--tmpfs", "/"]

    def mirror(folder: str) -> None:
        if not os.path.isdir(folder):
            return
        for name in sorted(os.listdir(folder)):
            host = os.path.join(folder, name)
            if host in shadow or host in wanted or host in ("/proc", "/dev"):
                continue
            if os.path.islink(host):
                argv.extend(["--symlink", os.readlink(host), host])  # /lib -> usr/lib etc.
            else:  # -try: an entry removed since the listing (a busy /tmp) is skipped, not fatal
                argv.extend(["--bind-try", host, host])

    mirror("/")
    argv += ["--proc", "/proc", "--dev-bind", "/dev", "/dev"]
    for folder in sorted(shadow, key=len):
        argv += ["--tmpfs", folder]
        mirror(folder)
    for path in sorted(tmpfs):
        argv += ["--tmpfs", path]
    for path, source in sorted(binds.items()):
        argv += ["--ro-bind", source, path]
    return argv + ["--"]


def weight_binds(project_root: Path, weights: list[dict[str, str]]) -> dict[str, str]:
    """{path the predictor reads: the project's own file or folder} for the local weights
    (``portapack.targets.artifacts.local_weights``): bound straight from the project, so a
    local run never copies them."""
    return {w["remote"]: str((project_root / w["source"]).resolve()) for w in weights}


def wrap(argv: list[str], binds: dict[str, str], tmpfs: tuple[str, ...] = ()) -> list[str]:
    """``argv`` run inside the weights sandbox when there are weights; unchanged otherwise."""
    if not binds:
        return argv
    return bwrap_argv(binds, tmpfs=tmpfs, bwrap=check_bwrap()) + argv


def link_or_copy(source: Path, dest: Path) -> None:
    """Place a weight file in an artifact as a hard link (no second copy of a large file on
    disk), or a copy when ``dest`` is on another filesystem or links are refused."""
    dest.unlink(missing_ok=True)
    try:
        os.link(source, dest)
    except OSError:  # EXDEV across filesystems, EPERM on some mounts
        shutil.copy2(source, dest)
