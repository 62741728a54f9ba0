#!/usr/bin/env bash
# Prepare a local Docker toolchain for portapack's end-to-end image tests, on a Debian
# bookworm machine where Docker Hub is unreachable and downloads pass through a
# TLS-inspecting proxy:
#   1. apt-installs docker.io, debootstrap, docker-registry (+ curl, ca-certificates);
#   2. starts dockerd in the background if no engine answers `docker info`;
#   3. builds the base image portapack/python:3.11-bookworm from a debootstrap rootfs
#      (cached as a tarball under /var/cache/portapack), with the host's CA bundle in it,
#      and ALSO tags it python:3.11-slim: the artifacts' own default base (the RunPod
#      Dockerfile's), which tests, `make bench` and `portapack test` use by default;
#   4. starts a plain-HTTP registry on 127.0.0.1:5005 if nothing answers /v2/ there;
#   5. prints a summary.
# Idempotent: a second run only checks. Run as root. Exits non-zero with a message on failure.
#
# Overridable: PORTAPACK_BASE_IMAGE, PORTAPACK_DEFAULT_BASE_TAG, PORTAPACK_REGISTRY_ADDR,
# PORTAPACK_DEBIAN_MIRROR.
set -Eeuo pipefail

BASE_IMAGE="${PORTAPACK_BASE_IMAGE:-portapack/python:3.11-bookworm}"
# bookworm's python3 is 3.11: the local image stands in for the artifacts' default base.
DEFAULT_BASE_TAG="${PORTAPACK_DEFAULT_BASE_TAG:-python:3.11-slim}"
REGISTRY_ADDR="${PORTAPACK_REGISTRY_ADDR:-127.0.0.1:5005}"
MIRROR="${PORTAPACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
INCLUDE=python3,python3-venv,python3-pip,ca-certificates
CACHE_DIR=/var/cache/portapack
ROOTFS_TAR="$CACHE_DIR/rootfs-$SUITE-minbase-${INCLUDE//,/-}.tar"
REGISTRY_DIR=/var/lib/portapack-registry
REGISTRY_CONFIG="$REGISTRY_DIR/config-${REGISTRY_ADDR##*:}.yml"
LOG_DIR=/var/log/portapack
DOCKERD_LOG="$LOG_DIR/dockerd.log"
REGISTRY_LOG="$LOG_DIR/registry.log"
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
DOCKER_WAIT=90     # seconds to wait for dockerd
REGISTRY_WAIT=30   # seconds to wait for the registry

T0=$SECONDS
WORK=""
POLICY_RC_CREATED=0

say() { printf '[docker-setup] %s\n' "$*"; }
die() { printf '[docker-setup] ERROR: %s\n' "$*" >&2; exit 1; }

cleanup() {
  if [[ $POLICY_RC_CREATED == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
  if [[ -n $WORK && -d $WORK ]]; then
    # debootstrap mounts proc/sys (and maybe dev) inside the target: unmount before deleting.
    local m
    awk -v w="$WORK" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r \
      | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$WORK"
  fi
}
on_error() {
  local rc=$? line=$1
  printf '[docker-setup] ERROR: command failed (exit %s) at line %s: %s\n' \
    "$rc" "$line" "$BASH_COMMAND" >&2
  printf '[docker-setup] logs: %s %s\n' "$DOCKERD_LOG" "$REGISTRY_LOG" >&2
  exit "$rc"
}
trap 'on_error $LINENO' ERR
trap cleanup EXIT

[[ $(id -u) == 0 ]] || die "must run as root"
[[ -r $HOST_CA_BUNDLE ]] || die "host CA bundle $HOST_CA_BUNDLE not found"
mkdir -p "$CACHE_DIR" "$LOG_DIR" "$REGISTRY_DIR/data"

# ---------------------------------------------------------------- 1. packages
need=()
for pkg in docker.io debootstrap docker-registry curl ca-certificates; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if ((${#need[@]})); then
  say "apt-get install ${need[*]}"
  # Keep the packages' init scripts from starting their own dockerd / registry on :5000:
  # this script starts both itself, with its own config and logs.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    POLICY_RC_CREATED=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$LOG_DIR/apt.log" 2>&1 || { tail -20 "$LOG_DIR/apt.log" >&2; die "apt-get update failed"; }
  apt-get install -y -qq --no-install-recommends "${need[@]}" >>"$LOG_DIR/apt.log" 2>&1 \
    || { tail -20 "$LOG_DIR/apt.log" >&2; die "apt-get install ${need[*]} failed (log: $LOG_DIR/apt.log)"; }
  if [[ $POLICY_RC_CREATED == 1 ]]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_CREATED=0; fi
else
  say "packages present"
fi
command -v docker >/dev/null || die "no docker client on PATH after installing docker.io"
command -v dockerd >/dev/null || die "no dockerd on PATH after installing docker.io"
command -v docker-registry >/dev/null || die "no docker-registry on PATH"

# ---------------------------------------------------------------- 2. dockerd
if docker info >/dev/null 2>&1; then
  say "docker engine answers"
else
  if pgrep -x dockerd >/dev/null; then
    say "dockerd is running but not answering yet; waiting for it"
  else
    say "starting dockerd (log: $DOCKERD_LOG)"
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  ok=0
  for ((i = 0; i < DOCKER_WAIT; i++)); do
    if docker info >/dev/null 2>&1; then ok=1; break; fi
    pgrep -x dockerd >/dev/null || { sleep 1; pgrep -x dockerd >/dev/null || break; }
    sleep 1
  done
  if [[ $ok != 1 ]]; then
    tail -20 "$DOCKERD_LOG" >&2 || true
    die "docker engine did not answer within ${DOCKER_WAIT}s (log: $DOCKERD_LOG)"
  fi
  say "docker engine ready after ${i}s"
fi

# ---------------------------------------------------------------- 3. base image
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  say "base image $BASE_IMAGE present"
else
  WORK=$(mktemp -d "$CACHE_DIR/work.XXXXXX")
  ROOT="$WORK/root"
  if [[ -s $ROOTFS_TAR ]]; then
    say "unpacking cached rootfs $ROOTFS_TAR"
    mkdir -p "$ROOT"
    tar -C "$ROOT" --numeric-owner -xpf "$ROOTFS_TAR"
  else
    say "debootstrap $SUITE (minbase + $INCLUDE) from $MIRROR; ~1 min"
    debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOT" "$MIRROR" \
      >"$LOG_DIR/debootstrap.log" 2>&1 \
      || { tail -20 "$LOG_DIR/debootstrap.log" >&2; die "debootstrap failed (log: $LOG_DIR/debootstrap.log)"; }
    # Trim what a container never needs, then cache the pristine rootfs.
    rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
      "$ROOT"/var/log/*.log "$ROOT"/var/log/apt/* "$ROOT"/tmp/*
    tar -C "$ROOT" --numeric-owner --one-file-system -cpf "$ROOTFS_TAR.tmp" .
    mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    say "cached rootfs as $ROOTFS_TAR"
  fi

  # Customize (done on every import, so a changed host CA bundle is picked up).
  # The TLS-inspecting proxy's CA must be trusted inside: the host's whole bundle replaces
  # the image's, and the host's local CAs also go where update-ca-certificates keeps them,
  # so an `apt-get install` in a derived image that regenerates the bundle keeps them too.
  cp "$HOST_CA_BUNDLE" "$ROOT/etc/ssl/certs/ca-certificates.crt"
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
  fi
  cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
EOF
  : >"$ROOT/etc/resolv.conf"
  echo localhost >"$ROOT/etc/hostname"

  say "importing $BASE_IMAGE"
  CA=/etc/ssl/certs/ca-certificates.crt
  # An imported image has no ENV at all. Docker's builders and `docker run` fall back to a
  # default PATH, but set it explicitly like the official python images do. The CA
  # variables matter at run time: `requests` uses certifi's bundle (no proxy CA) unless
  # REQUESTS_CA_BUNDLE points at the system one; PIP_CERT covers pips without truststore.
  tar -C "$ROOT" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
      -cpf - . \
    | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change "ENV SSL_CERT_FILE=$CA" \
        --change "ENV REQUESTS_CA_BUNDLE=$CA" \
        --change "ENV PIP_CERT=$CA" \
        --change 'CMD ["python3"]' \
        --message "portapack local base: debootstrap $SUITE minbase + $INCLUDE + host CA bundle" \
        - "$BASE_IMAGE" >/dev/null
  cleanup; WORK=""
  docker run --rm "$BASE_IMAGE" python3 -c 'import ssl, venv, ensurepip' \
    || die "base image $BASE_IMAGE is broken: python3 with ssl/venv/ensurepip does not run"
  say "built $BASE_IMAGE"
fi

# The same image under the artifacts' default base name (Docker Hub is unreachable here).
# Re-tagged on every run, so it always follows a rebuilt $BASE_IMAGE.
if [[ $(docker image inspect --format '{{.Id}}' "$DEFAULT_BASE_TAG" 2>/dev/null) \
      != $(docker image inspect --format '{{.Id}}' "$BASE_IMAGE") ]]; then
  docker tag "$BASE_IMAGE" "$DEFAULT_BASE_TAG"
  say "tagged $BASE_IMAGE as $DEFAULT_BASE_TAG"
else
  say "$DEFAULT_BASE_TAG is $BASE_IMAGE"
fi

# ---------------------------------------------------------------- 4. registry
registry_up() {
  curl -fsS -o /dev/null --max-time 3 "http://$REGISTRY_ADDR/v2/" 2>/dev/null
}
if registry_up; then
  say "registry answers on http://$REGISTRY_ADDR/v2/"
else
  cat >"$REGISTRY_CONFIG" <<EOF
# Written by portapack .ci/docker-setup.sh
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  say "starting docker-registry on $REGISTRY_ADDR (log: $REGISTRY_LOG)"
  setsid nohup docker-registry serve "$REGISTRY_CONFIG" >>"$REGISTRY_LOG" 2>&1 </dev/null &
  reg_pid=$!
  ok=0
  for ((i = 0; i < REGISTRY_WAIT * 2; i++)); do
    if registry_up; then ok=1; break; fi
    kill -0 "$reg_pid" 2>/dev/null || break   # exited, e.g. port taken
    sleep 0.5
  done
  if [[ $ok != 1 ]]; then
    tail -5 "$REGISTRY_LOG" >&2 || true
    if kill -0 "$reg_pid" 2>/dev/null; then
      die "registry did not answer on http://$REGISTRY_ADDR/v2/ within ${REGISTRY_WAIT}s (log: $REGISTRY_LOG)"
    fi
    die "docker-registry exited at start (port taken?); log: $REGISTRY_LOG"
  fi
  say "registry ready"
fi

# ---------------------------------------------------------------- 5. summary
server=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
client=$(docker version --format '{{.Client.Version}}' 2>/dev/null || echo '?')
size=$(docker image inspect --format '{{.Size}}' "$BASE_IMAGE" 2>/dev/null || echo 0)
cat <<EOF
[docker-setup] ready in $((SECONDS - T0))s
  docker:     client $client ($(command -v docker)), engine $server; dockerd log $DOCKERD_LOG
  base image: $BASE_IMAGE, also tagged $DEFAULT_BASE_TAG ($((size / 1000000)) MB); rootfs cache $ROOTFS_TAR
  registry:   http://$REGISTRY_ADDR (push as localhost:${REGISTRY_ADDR##*:}/NAME:TAG); log $REGISTRY_LOG
  build:      docker build --build-arg BASE_IMAGE=$BASE_IMAGE -t localhost:${REGISTRY_ADDR##*:}/NAME:TAG DIR
EOF
