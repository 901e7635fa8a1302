#!/usr/bin/env bash
# Builds the test control plane — kube-apiserver (k8s.io/kubernetes) and etcd
# (go.etcd.io/etcd/server/v3) — from the versions pinned in test/cluster/go.mod into
# .cache/kube/bin/. Skips the build when binaries stamped with the same go.mod/go.sum exist.
# The machine is small and shared: the build runs niced with one package at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/go-build-lib.sh
root=$PWD
bin="$root/.cache/kube/bin"
stamp="$bin/.stamp"
want=$(go_module_stamp test/cluster)
if stamped_current "$stamp" "$want" "$bin/kube-apiserver" "$bin/etcd"; then
  echo "kube: kube-apiserver and etcd are up to date in .cache/kube/bin"
  exit 0
fi
require_go kube "the test API server"
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
jobs=$(go_build_jobs "${KUBE_BUILD_JOBS:-}")
start=$(date +%s)
echo "kube: building kube-apiserver $k8s and etcd $etcd (first build takes a while)"
nice -n 15 go build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
nice -n 15 go build -p "$jobs" -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3
mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
mv "$bin/etcd.tmp" "$bin/etcd"
echo "$want" > "$stamp"
echo "kube: built in $(( $(date +%s) - start ))s"
