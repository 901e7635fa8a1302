#!/usr/bin/env bash
# Builds the Helm CLI (helm.sh/helm/v3/cmd/helm) from the version pinned in test/helm/go.mod
# into .cache/helm/bin/helm, for the chart tests and `npm run gen:deploy`. Skips the build
# when a binary stamped with the same go.mod/go.sum exists.
# The machine is small and shared: the build runs niced with one package at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/go-build-lib.sh
root=$PWD
bin="$root/.cache/helm/bin"
stamp="$bin/.stamp"
want=$(go_module_stamp test/helm)
if stamped_current "$stamp" "$want" "$bin/helm"; then
  echo "helm: helm is up to date in .cache/helm/bin"
  exit 0
fi
require_go helm "the Helm CLI"
mkdir -p "$bin"
cd test/helm
version=$(go list -m -f '{{.Version}}' helm.sh/helm/v3)
client_go=$(go list -m -f '{{.Version}}' k8s.io/client-go)
kube_major=1; kube_minor=${client_go#v0.}; kube_minor=${kube_minor%%.*}
# As helm's own Makefile does: `helm version` prints the version (a module build has no git
# to take it from), and lint and `helm template` assume the Kubernetes version client-go
# was released with (client-go v0.N is Kubernetes 1.N).
ldflags="-s -w \
  -X helm.sh/helm/v3/internal/version.version=$version \
  -X helm.sh/helm/v3/internal/version.metadata= \
  -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
  -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$kube_major \
  -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kube_minor \
  -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$kube_major \
  -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kube_minor"
jobs=$(go_build_jobs "${HELM_BUILD_JOBS:-}")
start=$(date +%s)
echo "helm: building helm $version"
nice -n 15 go build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$bin/helm.tmp" helm.sh/helm/v3/cmd/helm
mv "$bin/helm.tmp" "$bin/helm"
echo "$want" > "$stamp"
echo "helm: built in $(( $(date +%s) - start ))s"
