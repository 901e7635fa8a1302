#!/usr/bin/env bash
# Builds the test control plane — kube-apiserver (k8s.io/kubernetes) and etcd
# (go.etcd.io/etcd/server/v3) — from the versions pinned in test/cluster/go.mod into
# .cache/kube/bin/. Skips the build when binaries stamped with the same go.mod/go.sum exist.
# The machine is small and shared: the build runs niced with one package at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin="$root/.cache/kube/bin"
stamp="$bin/.stamp"
want=$(cat test/cluster/go.mod test/cluster/go.sum | sha256sum | cut -d' ' -f1)
if [[ -x "$bin/kube-apiserver" && -x "$bin/etcd" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "kube: kube-apiserver and etcd are up to date in .cache/kube/bin"
  exit 0
fi
command -v go >/dev/null || { echo "kube: Go is required to build the test API server" >&2; exit 1; }
mkdir -p "$bin"
cd test/cluster
k8s=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
minor=${k8s#v1.}; minor=${minor%%.*}
# The apiserver reports this version on /version (clients read it); a module build has no git.
ldflags="-s -w \
  -X k8s.io/component-base/version.gitVersion=$k8s \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$minor \
  -X k8s.io/component-base/version.gitTreeState=clean \
  -X k8s.io/client-go/pkg/version.gitVersion=$k8s"
# Alone on the machine (CI) the build may use every core; beside other work, one at a time.
if [[ "${CI:-}" == true ]]; then jobs=${KUBE_BUILD_JOBS:-$(nproc)}; else jobs=${KUBE_BUILD_JOBS:-1}; fi
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
start=$(date +%s)
echo "kube: building kube-apiserver $k8s and etcd $etcd (first build takes a while)"
nice -n 15 go build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
nice -n 15 go build -p "$jobs" -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3
mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
mv "$bin/etcd.tmp" "$bin/etcd"
echo "$want" > "$stamp"
echo "kube: built in $(( $(date +%s) - start ))s"
