// Package buildlayers holds the checks of the test layering (README
// "Development"): `make test` needs no Kubernetes control plane and compiles
// nothing only `make e2e` or `make compare-check` needs, and .ci/run runs
// the README's commands.
package buildlayers
