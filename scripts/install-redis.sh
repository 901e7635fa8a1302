#!/usr/bin/env bash
# Installs redis-server (Debian package) for the session-state tests, which start a real
# Redis from the test harness (test/support/redis.ts). Idempotent: does nothing when a
# redis-server is already on PATH or in /usr/bin.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1 || [[ -x /usr/bin/redis-server ]]; then
  echo "redis: $(command -v redis-server || echo /usr/bin/redis-server) present"
  exit 0
fi

as_root=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo -n)
  else
    echo "redis: redis-server is missing and this user cannot install packages (no root, no sudo)." >&2
    echo "redis: install it with: apt-get install -y redis-server" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# The package enables a system service; tests run their own instances on free ports.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  "${as_root[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
echo "redis: installed $(/usr/bin/redis-server --version | head -1)"
