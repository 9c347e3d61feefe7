package metrics

import "github.com/prometheus/client_golang/prometheus"

// RegisterBuildInfo registers tide_build_info{version,revision,goversion},
// always 1, with reg: which build a scrape came from.
func RegisterBuildInfo(reg prometheus.Registerer, version, revision, goVersion string) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "Always 1; the labels name the running build: version, VCS revision and Go toolchain.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(version, revision, goVersion).Set(1)
	reg.MustRegister(g)
}
