#!/usr/bin/env bash
# Builds the end-to-end control plane from the Go module proxy and caches
# the binaries outside the work tree, keyed by version and Go version, so
# only the first run on a machine pays for it (cold: ~40 min on 2 cores;
# warm: nothing to do):
#   etcd, kube-apiserver, kube-controller-manager  (test/e2e/build/kube)
#   keda-operator, keda-adapter                    (test/e2e/build/keda)
#   kubectl (Debian's kubernetes-client is too old for server-side dry runs
#   of today's APIs, so it is built from the same Kubernetes version)
#   kubelet, kube-scheduler                        (test/e2e/build/kube)
#   containerd, containerd-shim-runc-v2, ctr, runc (test/e2e/build/containerd:
#   the 1.36 kubelet needs containerd 2, Debian 12 has 1.6; Debian's runc
#   1.1.5 cannot start a pod sandbox on this kernel; runc needs cgo and
#   libseccomp-dev, which scripts/deps.sh installs)
# Prints the directory holding them.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBE_VERSION=v1.36.3
KEDA_VERSION=v2.21.0
CONTAINERD_VERSION=$(cd test/e2e/build/containerd && go list -m -f '{{.Version}}' github.com/containerd/containerd/v2)
GOVER=$(go env GOVERSION)
CACHE=${TIDE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tide/e2e}
OUT="$CACHE/kube-$KUBE_VERSION-keda-$KEDA_VERSION-containerd-$CONTAINERD_VERSION-$GOVER"
mkdir -p "$OUT"

# Versions kubectl and the API server report; without them they say v0.0.0
# and kubectl cannot parse the server's version.
minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
done

build() { # name, module dir, package[, go build flags...]
	local name=$1 dir=$2 pkg=$3
	shift 3
	if [ -x "$OUT/$name" ]; then return; fi
	echo "e2e-build: building $name (cached in $OUT afterwards)" >&2
	local start=$SECONDS
	(cd "$dir" && go build -trimpath -ldflags "$ldflags" "$@" -o "$OUT/$name.tmp" "$pkg")
	mv "$OUT/$name.tmp" "$OUT/$name"
	echo "e2e-build: $name took $((SECONDS - start)) s" >&2
}

build etcd test/e2e/build/kube ./etcd
build kube-apiserver test/e2e/build/kube ./kube-apiserver
build kube-controller-manager test/e2e/build/kube ./kube-controller-manager
build kubectl test/e2e/build/kube ./kubectl
build kubelet test/e2e/build/kube ./kubelet
build kube-scheduler test/e2e/build/kube ./kube-scheduler
ctrd=github.com/containerd/containerd/v2/cmd
build containerd test/e2e/build/containerd $ctrd/containerd -tags "no_btrfs no_devmapper no_zfs"
build containerd-shim-runc-v2 test/e2e/build/containerd $ctrd/containerd-shim-runc-v2
build ctr test/e2e/build/containerd $ctrd/ctr
CGO_ENABLED=1 build runc test/e2e/build/containerd github.com/opencontainers/runc -tags seccomp
build keda-operator test/e2e/build/keda github.com/kedacore/keda/v2/cmd/operator
build keda-adapter test/e2e/build/keda github.com/kedacore/keda/v2/cmd/adapter

echo "$OUT"
