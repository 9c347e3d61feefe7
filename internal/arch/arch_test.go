package arch

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/tide-scaler/tide/"

// deps lists the packages pkg links (not its tests'), by import path.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "../../"+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// forbid fails for every dependency of pkg that starts with one of bad.
func forbid(t *testing.T, pkg string, bad ...string) {
	t.Helper()
	for _, d := range deps(t, pkg) {
		for _, b := range bad {
			if strings.HasPrefix(d, b) && d != mod+pkg {
				t.Errorf("%s links %s (it must not link %s)", pkg, d, b)
			}
		}
	}
}

// TestProductionBinaryLinksNoDemo: the demo's embedded Kafka and Redis live
// in cmd/tide-demo; the scaler binaries link none of them.
func TestProductionBinaryLinksNoDemo(t *testing.T) {
	for _, pkg := range []string{"cmd/scaler", "cmd/scaler-kube"} {
		forbid(t, pkg, "github.com/twmb/franz-go/pkg/kfake", "github.com/alicebob/miniredis",
			"github.com/yuin/gopher-lua", mod+"internal/demo")
	}
}

// TestLeanScalerLinksNoKubernetes: cmd/scaler, the binary whose idle serve
// benchmarks/README.md measures, links no Kubernetes client, API types or
// API server; package init of those is what made an idle serve hold
// 58 MiB. What needs them is in cmd/scaler-kube (internal/app/kubeapp,
// internal/explaincmd), which scaler execs.
func TestLeanScalerLinksNoKubernetes(t *testing.T) {
	kube := []string{"k8s.io/client-go", "k8s.io/api/", "k8s.io/apiserver", "k8s.io/component-base",
		"k8s.io/kube-openapi", "sigs.k8s.io/custom-metrics-apiserver", "go.etcd.io/",
		mod + "internal/app/kubeapp", mod + "internal/explaincmd", mod + "pkg/hpa/kube", mod + "pkg/awareness",
		mod + "pkg/externalmetrics", mod + "pkg/standalone", mod + "pkg/sources/inference/discovery"}
	for _, pkg := range []string{"cmd/scaler", "internal/app", "internal/cli", "cmd/internal/scalercmd"} {
		t.Run(pkg, func(t *testing.T) { forbid(t, pkg, kube...) })
	}
}

// TestPackageGraph: each package imports only what the README's package
// table allows.
func TestPackageGraph(t *testing.T) {
	faces := []string{mod + "pkg/server", mod + "pkg/externalmetrics", mod + "pkg/standalone", mod + "pkg/explain", mod + "pkg/status"}
	sources := []string{mod + "pkg/sources/kafka", mod + "pkg/sources/redis", mod + "pkg/sources/inference"}
	for pkg, bad := range map[string][]string{
		// Faces never reach each other; the gRPC face has no client-go.
		"pkg/server":          append([]string{"k8s.io/client-go"}, faces...),
		"pkg/externalmetrics": faces,
		"pkg/standalone":      faces,
		"pkg/explain":         faces,
		// The status page reads the core and the engine's cache: no gRPC,
		// no Kubernetes, no concrete source.
		"pkg/status": append(append([]string{"google.golang.org/grpc", "k8s.io/client-go", "k8s.io/api/"}, faces...), sources...),
		// The core: no face, no concrete source, no gRPC, no Kubernetes.
		"pkg/trigger": append(append([]string{"google.golang.org/grpc", "k8s.io/client-go"}, faces...), sources...),
		// The engine never imports a concrete source.
		"pkg/sources": append(append([]string{"google.golang.org/grpc", "k8s.io/client-go", mod + "pkg/trigger"}, faces...), sources...),
		// Sources: no face, gRPC, Kubernetes client or API type, or trigger core.
		"pkg/sources/kafka":     append([]string{"google.golang.org/grpc", "k8s.io/client-go", "k8s.io/api/", mod + "pkg/trigger", mod + "pkg/strategy"}, faces...),
		"pkg/sources/redis":     append([]string{"google.golang.org/grpc", "k8s.io/client-go", "k8s.io/api/", mod + "pkg/trigger", mod + "pkg/strategy"}, faces...),
		"pkg/sources/inference": append([]string{"google.golang.org/grpc", "k8s.io/client-go", "k8s.io/api/", mod + "pkg/trigger", mod + "pkg/strategy"}, faces...),
		// Kubernetes plumbing and the pieces the faces share: no face.
		"pkg/workload":  faces,
		"pkg/awareness": faces,
		"pkg/nodehints": append([]string{mod + "pkg/trigger"}, faces...),
		"pkg/zero":      append([]string{mod + "pkg/trigger"}, faces...),
		"pkg/scale":     {mod + "pkg/"},
		"pkg/leader":    {mod + "pkg/"},
		// Pure helpers import nothing of ours above them.
		"pkg/strategy": {mod + "pkg/sources", mod + "pkg/trigger", "k8s.io/client-go"},
		"pkg/metadata": {mod + "pkg/", "k8s.io/", "google.golang.org/"},
		"pkg/allow":    {mod + "pkg/", "k8s.io/", "google.golang.org/"},
		"pkg/hpa":      {mod + "pkg/sources", mod + "pkg/metadata", mod + "pkg/trigger", "k8s.io/client-go"},
		"pkg/lagtime":  {mod, "k8s.io/"},
		"pkg/migrate":  {mod, "k8s.io/client-go", "k8s.io/api/", "google.golang.org/", "github.com/kedacore/"},
	} {
		t.Run(pkg, func(t *testing.T) { forbid(t, pkg, bad...) })
	}
}
