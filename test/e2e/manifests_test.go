package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// TestManifestsValidateOnTheServer renders every kustomize overlay, the
// Helm chart and the examples (scripts/render-manifests.sh), and applies
// each with `kubectl apply --dry-run=server`: the real API server, with
// KEDA's CRDs installed, validates every object (schemas, CRD structural
// validation, defaulting, admission) without creating anything.
func TestManifestsValidateOnTheServer(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "scripts/render-manifests.sh"), out)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("render-manifests.sh: %v\n%s", err, b)
	}
	files, err := filepath.Glob(filepath.Join(out, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rendered manifests in %s (%v)", out, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			n := ensureNamespaces(t, string(b))
			res, err := kube.Kubectl(t.Context(), "apply", "--dry-run=server", "-f", f)
			if err != nil {
				t.Fatalf("kubectl apply --dry-run=server -f %s: %v\n%s", filepath.Base(f), err, res)
			}
			if got := strings.Count(res, "(server dry run)"); got != n {
				t.Errorf("%d objects validated, want %d:\n%s", got, n, res)
			}
		})
	}
}

// ensureNamespaces creates the namespaces the documents live in (a
// server-side dry run of a namespaced object needs its namespace to exist,
// and a Namespace in the same file is not created by a dry run) and
// returns the number of objects.
func ensureNamespaces(t *testing.T, manifest string) int {
	t.Helper()
	n := 0
	for _, doc := range docSep.Split(manifest, -1) {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("rendered YAML: %v", err)
		}
		if obj.Kind == "" {
			continue
		}
		n++
		if ns := obj.Metadata.Namespace; ns != "" {
			_, err := kube.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
	}
	return n
}
