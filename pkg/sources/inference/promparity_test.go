package inference

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/internal/testci"
)

// TestQuantilePromtoolParity evaluates histogram_quantile on every
// TestQuantile case that has a value with Prometheus' own PromQL engine
// (`promtool test rules`), expecting exactly what quantile returns. Cases
// with equal bounds are left out: PromQL cannot hold two series with the
// same labels, and summing pods is what sum by (le) does before it.
func TestQuantilePromtoolParity(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testci.Missing(t, "promtool not found (Debian package prometheus): %v", err)
	}
	var b strings.Builder
	b.WriteString("tests:\n- interval: 1m\n  input_series:\n")
	var exprs strings.Builder
	n := 0
	for i, c := range quantileCases {
		v, _, ok := quantile(c.q, c.in)
		if !ok || hasDuplicateBounds(c.in) {
			continue
		}
		n++
		for _, bk := range c.in {
			le := strconv.FormatFloat(bk.upper, 'g', -1, 64)
			if math.IsInf(bk.upper, 1) {
				le = "+Inf"
			}
			fmt.Fprintf(&b, "  - series: 'h_bucket{c=\"%d\",le=\"%s\"}'\n    values: '%g'\n", i, le, bk.count)
		}
		fmt.Fprintf(&exprs, "  - expr: histogram_quantile(%g, h_bucket{c=\"%d\"})\n    eval_time: 0\n    exp_samples:\n    - labels: '{c=\"%d\"}'\n      value: %s\n",
			c.q, i, i, strconv.FormatFloat(v, 'g', -1, 64))
	}
	b.WriteString("  promql_expr_test:\n")
	b.WriteString(exprs.String())
	path := filepath.Join(t.TempDir(), "parity.test.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), promtool, "test", "rules", path).CombinedOutput()
	if err != nil {
		t.Errorf("promtool test rules: %v\n%s\n%s", err, out, b.String())
	}
	if n < 9 {
		t.Errorf("only %d cases compared", n)
	}
}

func hasDuplicateBounds(bs []bucket) bool {
	seen := map[float64]bool{}
	for _, b := range bs {
		if seen[b.upper] {
			return true
		}
		seen[b.upper] = true
	}
	return false
}
