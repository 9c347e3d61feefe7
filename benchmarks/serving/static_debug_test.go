package serving

import "testing"

func TestDebugSeries(t *testing.T) {
	trs, _ := Load("traces")
	for _, p := range Policies() {
		o, _ := Run(trs[0], p)
		t.Logf("%s %v", p.Name, o.Series)
	}
}
