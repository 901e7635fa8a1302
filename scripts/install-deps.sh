#!/usr/bin/env bash
# Installs the real components the tests run (Envoy, Redis, the test API server, …) into
# .cache/ so a second run is fast. Each component has its own script; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache/bin
for script in scripts/install-*.sh; do
  [[ "$script" == scripts/install-deps.sh ]] && continue
  echo "deps: $script"
  bash "$script"
done
echo "deps: ok"
