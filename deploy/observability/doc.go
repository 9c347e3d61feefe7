// Package observability holds no code: it is the home of the Grafana
// dashboard and the PrometheusRule shipped for Tide, and of the test that
// checks every PromQL expression in them with promtool and every metric
// they name against the registry the scaler serves (internal/app). The
// test may import internal/app and client_golang; nothing imports this
// package.
package observability
