#!/usr/bin/env bash
# Rewrites go.mod's replace block for the pinned k8s.io/kubernetes release.
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/apiserver, …) at
# v0.0.0 and points them at ./staging in its own go.mod; a module that depends on it must
# map each to the published v0.<minor>.<patch> tag that matches the release.
# Usage: test/cluster/gen-replaces.sh v1.35.4   (then: go mod tidy)
set -euo pipefail
cd "$(dirname "$0")"
k8s=${1:?usage: gen-replaces.sh vMAJOR.MINOR.PATCH}
staging="v0.${k8s#v1.}"
modfile=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
mapfile -t mods < <(sed -n 's#^\s*\(k8s\.io/[a-z0-9./-]*\) => \./staging/.*#\1#p' "$modfile")
{
  sed '/^replace (/,$d' go.mod
  echo 'replace ('
  for m in "${mods[@]}"; do printf '\t%s => %s %s\n' "$m" "$m" "$staging"; done
  echo ')'
} > go.mod.new
mv go.mod.new go.mod
