# Sourced by install-kube.sh and install-helm.sh: Go binaries built from a module pinned under
# test/, cached in .cache/ and stamped with that module's go.mod and go.sum, so a second run
# skips the build. (Not named install-*.sh: install-deps.sh runs those.)

# go_module_stamp DIR: a digest of DIR/go.mod and DIR/go.sum.
go_module_stamp() { cat "$1/go.mod" "$1/go.sum" | sha256sum | cut -d' ' -f1; }

# stamped_current STAMP WANT BINARY...: true when every BINARY is executable and STAMP holds WANT.
stamped_current() {
  local stamp=$1 want=$2 binary
  shift 2
  for binary in "$@"; do [[ -x "$binary" ]] || return 1; done
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]
}

# require_go NAME WHAT: exits unless a Go toolchain is on PATH.
require_go() { command -v go >/dev/null || { echo "$1: Go is required to build $2" >&2; exit 1; }; }

# go_build_jobs OVERRIDE: packages built at once. Alone on the machine (CI) every core;
# beside other work, one at a time. The builds also run niced.
go_build_jobs() { if [[ "${CI:-}" == true ]]; then echo "${1:-$(nproc)}"; else echo "${1:-1}"; fi; }

# Module-mode static builds without VCS stamping (a module build has no git to read).
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
