#!/usr/bin/env bash
# scripts/render-manifests.sh - render every deploy/ manifest into OUTDIR,
# one file per rendering, for review or `kubectl apply --dry-run=server -f`.
#
# Usage:
#   scripts/render-manifests.sh OUTDIR
#
# Writes:
#   kustomize-base.yaml, kustomize-<overlay>.yaml    kustomize build of
#                                                    deploy/kustomize/base and
#                                                    each overlays/<overlay>
#   helm-default.yaml                                helm template, default values
#   helm-hpa-tls.yaml                                helm template with
#                                                    hpaAwareness=true,
#                                                    tls.enabled=true (and
#                                                    namespace.create=true):
#                                                    the objects of overlays/keda
#   helm-standalone.yaml                             helm template with
#                                                    deploy/helm/tide/ci/
#                                                    standalone-values.yaml
#                                                    (standalone.enabled=true,
#                                                    the example trigger): the
#                                                    objects of
#                                                    overlays/standalone
#   helm-netpol.yaml, helm-openshift.yaml            networkPolicy on (with hpaAwareness,
#                                                    tls, pushTokenSecret: push peers);
#                                                    UIDs null, 1 replica, image.digest
#   crd-kinds/helm-crs.yaml                          ServiceMonitor, PrometheusRule, cert-manager objects:
#                                                    their CRDs are not in the e2e cluster,
#                                                    so its dry run of OUTDIR/*.yaml skips
#                                                    them; only their kinds are checked
#   example-<name>.yaml                              deploy/examples/<name>.yaml
#
# It runs `helm lint --strict` on the chart (default, KEDA, standalone and
# every optional template), checks that values.schema.json rejects bad
# values by name, that the PodDisruptionBudget is rendered at 2 replicas and
# not at 1, and checks every document of every file: it must parse as YAML and
# carry apiVersion, kind and metadata.name, and built-in kinds must use a GA
# API version and decode strictly into their Kubernetes 1.36 Go types
# (unknown or misspelt fields fail; keda.sh objects are left to the API
# server). An APIService (apiregistration.k8s.io/v1, not in client-go's
# scheme) decodes strictly into a copy of its type, must be named
# <version>.<group> and must point at a Service of the same file; a
# ConfigMap with a key triggers.yaml must pass the scaler's own trigger
# validation (pkg/workload.Parse with the built-in sources). Any error fails the run, and
# OUTDIR is only updated when everything succeeded; files of a previous run
# with these prefixes are replaced.
#
# kustomize and helm are the versions pinned in scripts/tools.sh (built on
# first use). Helm runs with its cache and config in a scratch directory, so
# the caller's ~/.config/helm is neither read nor written.
#
# Environment:
#   GO               go command to use (default: go)
#   TIDE_NAMESPACE   namespace of the Helm renderings (default: tide-system)
#   TIDE_RELEASE     Helm release name (default: tide, which names the
#                    objects as the kustomize base does)
#   KUBE_VERSION     Kubernetes version for helm (default: v1.36.0)

set -euo pipefail

log() { printf 'render-manifests: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

[[ $# -eq 1 && -n "$1" && "$1" != -* ]] || die "usage: $0 OUTDIR"
outdir="$1"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO="${GO:-go}"
namespace="${TIDE_NAMESPACE:-tide-system}"
release="${TIDE_RELEASE:-tide}"
kube_version="${KUBE_VERSION:-v1.36.0}"

kustomize="$("$root/scripts/tools.sh" --bin kustomize)" || die "cannot install kustomize"
helm="$("$root/scripts/tools.sh" --bin helm)" || die "cannot install helm"

mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/tide-render.XXXXXX")"
trap 'rm -rf "$work"' EXIT
stage="$work/out"
mkdir -p "$stage"
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"

# emit NAME: fail unless the staged rendering is non-empty.
emit() {
	[[ -s "$stage/$1" ]] || die "$1: empty rendering"
	log "rendered $1 ($(grep -c '^kind:' "$stage/$1") objects)"
}

# Kustomize: the base and every overlay.
"$kustomize" build "$root/deploy/kustomize/base" >"$stage/kustomize-base.yaml" ||
	die "kustomize build deploy/kustomize/base failed"
emit kustomize-base.yaml
shopt -s nullglob
overlays=("$root"/deploy/kustomize/overlays/*/)
[[ ${#overlays[@]} -gt 0 ]] || die "no overlays under deploy/kustomize/overlays"
for dir in "${overlays[@]}"; do
	name="$(basename "$dir")"
	"$kustomize" build "$dir" >"$stage/kustomize-$name.yaml" ||
		die "kustomize build deploy/kustomize/overlays/$name failed"
	emit "kustomize-$name.yaml"
done

# Helm: lint, then render with the default, the KEDA and the standalone values.
chart="$root/deploy/helm/tide"
enabled=(--set hpaAwareness=true --set tls.enabled=true --set namespace.create=true)
standalone=(-f "$chart/ci/standalone-values.yaml")
"$helm" lint --strict --kube-version "$kube_version" "$chart" >"$work/lint.log" 2>&1 ||
	{ cat "$work/lint.log" >&2; die "helm lint (default values) failed"; }
"$helm" lint --strict --kube-version "$kube_version" "${enabled[@]}" "$chart" >>"$work/lint.log" 2>&1 ||
	{ cat "$work/lint.log" >&2; die "helm lint (hpaAwareness, tls) failed"; }
"$helm" lint --strict --kube-version "$kube_version" "${standalone[@]}" "$chart" >>"$work/lint.log" 2>&1 ||
	{ cat "$work/lint.log" >&2; die "helm lint (standalone) failed"; }
optional=(--set hpaAwareness=true --set tls.enabled=true --set networkPolicy.enabled=true
	--set serviceMonitor.enabled=true --set prometheusRule.enabled=true --set certManager.enabled=true
	--set standalone.exposeGRPC=true --set pushTokenSecret=tide-push)
"$helm" lint --strict --kube-version "$kube_version" "${optional[@]}" "$chart" >>"$work/lint.log" 2>&1 ||
	{ cat "$work/lint.log" >&2; die "helm lint (optional templates) failed"; }
log "helm lint --strict: $(grep -c 'chart(s) linted, 0 chart(s) failed' "$work/lint.log") of 4 runs clean"

# values.schema.json: each bad value must fail `helm template` with an
# error naming it.
bad=(
	"replicas=0|/replicas"
	"logLevel=loud|/logLevel"
	"image.digest=latest|/image/digest"
	"maxTriggers=-1|/maxTriggers"
	"podSecurityContext.runAsNonRoot=false|/podSecurityContext/runAsNonRoot"
	"shutdownTimeout=20|/shutdownTimeout"
	"tls.enabel=true|enabel"
)
for b in "${bad[@]}"; do
	set_arg="${b%%|*}" want="${b#*|}"
	if "$helm" template "$release" "$chart" --kube-version "$kube_version" --set "$set_arg" >"$work/bad.log" 2>&1; then
		die "helm template --set $set_arg succeeded; values.schema.json must reject it"
	fi
	grep -qF -- "$want" "$work/bad.log" || { cat "$work/bad.log" >&2; die "helm template --set $set_arg: the error does not name $want"; }
done
log "values.schema.json rejected ${#bad[@]} bad values by name"
"$helm" template "$release" "$chart" --namespace "$namespace" --kube-version "$kube_version" \
	>"$stage/helm-default.yaml" || die "helm template (default values) failed"
emit helm-default.yaml
"$helm" template "$release" "$chart" --namespace "$namespace" --kube-version "$kube_version" "${enabled[@]}" \
	>"$stage/helm-hpa-tls.yaml" || die "helm template (hpaAwareness, tls) failed"
emit helm-hpa-tls.yaml
"$helm" template "$release" "$chart" --namespace "$namespace" --kube-version "$kube_version" "${standalone[@]}" \
	>"$stage/helm-standalone.yaml" || die "helm template (standalone) failed"
emit helm-standalone.yaml
"$helm" template "$release" "$chart" --namespace "$namespace" --kube-version "$kube_version" \
	--set hpaAwareness=true --set tls.enabled=true --set networkPolicy.enabled=true \
	--set 'networkPolicy.http.from[0].namespaceSelector.matchLabels.kubernetes\.io/metadata\.name=monitoring' \
	--set pushTokenSecret=tide-push \
	>"$stage/helm-netpol.yaml" || die "helm template (networkPolicy) failed"
emit helm-netpol.yaml
"$helm" template "$release" "$chart" --namespace "$namespace" --kube-version "$kube_version" \
	--set podSecurityContext.runAsUser=null --set podSecurityContext.runAsGroup=null \
	--set podSecurityContext.fsGroup=null --set securityContext.runAsUser=null --set replicas=1 \
	--set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
	>"$stage/helm-openshift.yaml" || die "helm template (OpenShift UIDs, 1 replica) failed"
emit helm-openshift.yaml
! grep -q 'runAsUser\|fsGroup' "$stage/helm-openshift.yaml" || die "helm-openshift.yaml: runAsUser or fsGroup set to null is still rendered"
grep -q '^kind: PodDisruptionBudget' "$stage/helm-default.yaml" || die "helm-default.yaml (2 replicas): no PodDisruptionBudget"
! grep -q '^kind: PodDisruptionBudget' "$stage/helm-openshift.yaml" || die "helm-openshift.yaml (1 replica): a PodDisruptionBudget would block node drains"
mkdir -p "$stage/crd-kinds"
"$helm" template "$release" "$chart" --namespace "$namespace" --kube-version "$kube_version" "${optional[@]}" \
	--show-only templates/servicemonitor.yaml --show-only templates/prometheusrule.yaml \
	--show-only templates/certmanager.yaml \
	>"$stage/crd-kinds/helm-crs.yaml" || die "helm template (serviceMonitor, prometheusRule, certManager) failed"
grep -q '^    honorLabels: true$' "$stage/crd-kinds/helm-crs.yaml" ||
	die "crd-kinds/helm-crs.yaml: the ServiceMonitor must honour Tide's namespace label (honorLabels: true)"
emit crd-kinds/helm-crs.yaml

# Examples, as they are (standalone-hpa.yaml included).
examples=("$root"/deploy/examples/*.yaml)
[[ ${#examples[@]} -gt 0 ]] || die "no examples under deploy/examples"
for f in "${examples[@]}"; do
	cp "$f" "$stage/example-$(basename "$f")"
	emit "example-$(basename "$f")"
done

# Check every document. The checker is a throwaway main package run inside
# Tide's module, so it uses the k8s.io/api and sigs.k8s.io/yaml versions
# go.mod already requires, and Tide's own trigger validation, and adds
# nothing to it.
mkdir -p "$work/check"
cat >"$work/check/main.go" <<'EOF'
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/tide-scaler/tide/pkg/trigger/builtin"
	"github.com/tide-scaler/tide/pkg/workload"
)

// apiService mirrors apiregistration.k8s.io/v1 APIService
// (k8s.io/kube-aggregator, which go.mod does not require), field for field,
// so that a strict decode catches unknown or misspelt fields.
type apiService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		Service *struct {
			Namespace string `json:"namespace,omitempty"`
			Name      string `json:"name,omitempty"`
			Port      *int32 `json:"port,omitempty"`
		} `json:"service,omitempty"`
		Group                 string `json:"group,omitempty"`
		Version               string `json:"version,omitempty"`
		InsecureSkipTLSVerify bool   `json:"insecureSkipTLSVerify,omitempty"`
		CABundle              []byte `json:"caBundle,omitempty"`
		GroupPriorityMinimum  int32  `json:"groupPriorityMinimum"`
		VersionPriority       int32  `json:"versionPriority"`
	} `json:"spec,omitempty"`
	Status struct {
		Conditions []struct {
			Type               string      `json:"type"`
			Status             string      `json:"status"`
			LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
			Reason             string      `json:"reason,omitempty"`
			Message            string      `json:"message,omitempty"`
		} `json:"conditions,omitempty"`
	} `json:"status,omitempty"`
}

// file collects what one rendering's documents refer to across documents.
type file struct {
	services map[string][]int32 // namespace/name -> ports
	refs     []string           // errors to report unless the Service exists: "namespace/name port"
}

var sep = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

func main() {
	failed := false
	for _, path := range os.Args[1:] {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
			continue
		}
		n := 0
		f := &file{services: map[string][]int32{}}
		for i, doc := range sep.Split(string(b), -1) {
			if err := f.check(doc); err != nil {
				fmt.Fprintf(os.Stderr, "%s: document %d: %v\n", filepath.Base(path), i+1, err)
				failed = true
			} else if strings.TrimSpace(stripComments(doc)) != "" {
				n++
			}
		}
		if n == 0 {
			fmt.Fprintf(os.Stderr, "%s: no objects\n", filepath.Base(path))
			failed = true
		}
		for _, ref := range f.refs {
			var key string
			var port int32
			fmt.Sscanf(ref, "%s %d", &key, &port)
			found := false
			for _, p := range f.services[key] {
				found = found || p == port
			}
			if !found {
				fmt.Fprintf(os.Stderr, "%s: an APIService points at Service %s port %d, which this file does not define\n", filepath.Base(path), key, port)
				failed = true
			}
		}
		fmt.Fprintf(os.Stderr, "render-manifests: checked %s: %d objects\n", filepath.Base(path), n)
	}
	if failed {
		os.Exit(1)
	}
}

func stripComments(doc string) string {
	var out []string
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func (f *file) check(doc string) error {
	if strings.TrimSpace(stripComments(doc)) == "" {
		return nil
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
		return fmt.Errorf("not YAML: %w", err)
	}
	if head.APIVersion == "" || head.Kind == "" || head.Metadata.Name == "" {
		return fmt.Errorf("missing apiVersion, kind or metadata.name (%q, %q, %q)", head.APIVersion, head.Kind, head.Metadata.Name)
	}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return fmt.Errorf("apiVersion %q: %w", head.APIVersion, err)
	}
	gvk := gv.WithKind(head.Kind)
	if gvk == (schema.GroupVersionKind{Group: "apiregistration.k8s.io", Version: "v1", Kind: "APIService"}) {
		var as apiService
		if err := yaml.UnmarshalStrict([]byte(doc), &as); err != nil {
			return fmt.Errorf("APIService %s: %w", head.Metadata.Name, err)
		}
		s := as.Spec
		if want := s.Version + "." + s.Group; as.Name != want {
			return fmt.Errorf("APIService %s: must be named %q (<version>.<group>)", as.Name, want)
		}
		if s.InsecureSkipTLSVerify && len(s.CABundle) > 0 {
			return fmt.Errorf("APIService %s: insecureSkipTLSVerify may not be true with a caBundle", as.Name)
		}
		if s.Service == nil || s.Service.Name == "" || s.Service.Namespace == "" {
			return fmt.Errorf("APIService %s: spec.service needs a name and a namespace", as.Name)
		}
		port := int32(443)
		if s.Service.Port != nil {
			port = *s.Service.Port
		}
		f.refs = append(f.refs, fmt.Sprintf("%s/%s %d", s.Service.Namespace, s.Service.Name, port))
		return nil
	}
	if !scheme.Scheme.Recognizes(gvk) {
		switch gvk.String() {
		case "monitoring.coreos.com/v1, Kind=ServiceMonitor", "monitoring.coreos.com/v1, Kind=PrometheusRule",
			"cert-manager.io/v1, Kind=Issuer", "cert-manager.io/v1, Kind=Certificate":
			return nil // crd-kinds/: no Go types here and no CRDs in the e2e cluster
		}
		if gv.Group == "keda.sh" {
			return nil // no Go types here; the API server checks the CRD schema
		}
		if strings.Contains(gv.Group, ".") && !strings.HasSuffix(gv.Group, ".k8s.io") {
			return fmt.Errorf("%s: a custom resource this check does not know", gvk)
		}
		return fmt.Errorf("%s: not a Kubernetes 1.36 kind (wrong apiVersion?)", gvk)
	}
	if strings.Contains(gv.Version, "alpha") || strings.Contains(gv.Version, "beta") {
		// Most pre-GA versions client-go still knows (policy/v1beta1,
		// autoscaling/v2beta2, ...) are no longer served, the others are
		// off by default.
		return fmt.Errorf("%s: a pre-GA API version; use the GA one", gvk)
	}
	obj, err := scheme.Scheme.New(gvk)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		return fmt.Errorf("%s %s: %w", head.Kind, head.Metadata.Name, err)
	}
	switch o := obj.(type) {
	case *corev1.Service:
		key := o.Namespace + "/" + o.Name
		for _, p := range o.Spec.Ports {
			f.services[key] = append(f.services[key], p.Port)
		}
	case *corev1.ConfigMap:
		// The standalone trigger file, checked as the scaler loads it.
		if data, ok := o.Data["triggers.yaml"]; ok {
			if _, err := workload.Parse([]byte(data), builtin.Registry(builtin.Options{})); err != nil {
				return fmt.Errorf("ConfigMap %s: triggers.yaml: %w", o.Name, err)
			}
		}
	}
	return nil
}
EOF
(cd "$root" && GOWORK=off "$GO" run "$work/check/main.go" "$stage"/*.yaml "$stage"/crd-kinds/*.yaml) ||
	die "rendered manifests failed the check (see above)"

# Everything passed: replace the previous run's files.
rm -f "$outdir"/kustomize-*.yaml "$outdir"/helm-*.yaml "$outdir"/example-*.yaml "$outdir"/crd-kinds/helm-*.yaml
mkdir -p "$outdir/crd-kinds"
cp "$stage"/*.yaml "$outdir"/
cp "$stage"/crd-kinds/*.yaml "$outdir"/crd-kinds/
log "wrote $(find "$stage" -name '*.yaml' | wc -l) files to $outdir"
