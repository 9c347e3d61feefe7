package metrics

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestNewRegistersEveryCollector: every field of Metrics is a collector
// New registered (registering it again is AlreadyRegistered), named tide_*,
// so a collector added to the struct cannot be left out of /metrics.
func TestNewRegistersEveryCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		c, ok := v.Field(i).Interface().(prometheus.Collector)
		if !ok || v.Field(i).IsNil() {
			t.Errorf("field %s is not a collector", name)
			continue
		}
		var are prometheus.AlreadyRegisteredError
		if err := reg.Register(c); !errors.As(err, &are) {
			t.Errorf("field %s: registering again gave %v; want AlreadyRegistered (New must register it)", name, err)
		}
		ch := make(chan *prometheus.Desc, 16) // PerMetric describes six
		c.Describe(ch)
		if d := (<-ch).String(); !strings.Contains(d, `fqName: "tide_`) {
			t.Errorf("field %s: %s; want a tide_ name", name, d)
		}
	}
}
