//go:build tools

// Keeps the helm command's packages in go.sum so `go build helm.sh/helm/v3/cmd/helm` works
// from this module.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
