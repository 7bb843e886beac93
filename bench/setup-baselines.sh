#!/bin/sh
# Installs the baselines the benchmark compares against (etcd 3.4 server and client from Debian /
# Ubuntu packages) when `etcd` is not already on PATH. Idempotent: does nothing when etcd exists.
# Exits non-zero with a clear message when it cannot install (no apt-get, not root and no sudo,
# or the packages are unavailable).
set -eu

if command -v etcd >/dev/null 2>&1; then
  echo "setup-baselines: etcd already installed: $(command -v etcd) ($(etcd --version 2>/dev/null | head -n 1))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-baselines: etcd is missing and apt-get is not available; install etcd 3.4+ (server and etcdctl) by hand" >&2
  exit 2
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "setup-baselines: etcd is missing; installing it needs root (run as root or with passwordless sudo)" >&2
    exit 2
  fi
fi

echo "setup-baselines: installing etcd-server and etcd-client with apt-get"
if ! $SUDO apt-get update; then
  echo "setup-baselines: apt-get update failed" >&2
  exit 3
fi
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends etcd-server etcd-client; then
  echo "setup-baselines: apt-get install etcd-server etcd-client failed (package not in this distribution's archive?)" >&2
  exit 3
fi

if ! command -v etcd >/dev/null 2>&1; then
  echo "setup-baselines: packages installed but no etcd on PATH" >&2
  exit 4
fi
echo "setup-baselines: installed $(command -v etcd) ($(etcd --version 2>/dev/null | head -n 1))"
