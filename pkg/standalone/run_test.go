package standalone

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/externalmetrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

func TestTargets(t *testing.T) {
	cfg := &externalmetrics.Config{Triggers: []externalmetrics.Trigger{
		{Name: "a", Namespace: "ns", MinReplicas: 0, CooldownPeriod: time.Minute,
			ScaleTarget: externalmetrics.ScaleTarget{APIVersion: "apps/v1", Kind: "Deployment", Name: "a"}, Metadata: map[string]string{"source": "x"}},
		{Name: "b", Namespace: "ns", MinReplicas: 1},
	}}
	got := targets(cfg)
	if len(got) != 1 || got[0].Name != "a" || got[0].Kind != "Deployment" || got[0].Cooldown != time.Minute || got[0].Triggers[0]["source"] != "x" {
		t.Errorf("targets = %+v, want only the minReplicas 0 trigger", got)
	}
	if targets(nil) != nil {
		t.Error("targets(nil) not empty")
	}
}

type fixedReader struct {
	s   sources.Sample
	err error
}

func (r fixedReader) Read(context.Context, sources.Query) (sources.Sample, error) { return r.s, r.err }
func (r fixedReader) Watch(sources.Query) (<-chan struct{}, func(), error) {
	return nil, func() {}, errors.New("no watch")
}

func TestActivity(t *testing.T) {
	md := map[string]string{"source": "kafka", "bootstrapServers": "b:9092", "consumerGroup": "g", "topic": "t", "activationLagThreshold": "5"}
	for _, tc := range []struct {
		name   string
		r      fixedReader
		active bool
		why    string
		err    bool
	}{
		{"above the threshold", fixedReader{s: sources.Sample{Time: time.Unix(1, 0), Value: 7, Activity: 7}}, true, "7 > activation 5", false},
		{"at the threshold", fixedReader{s: sources.Sample{Time: time.Unix(1, 0), Value: 5, Activity: 5}}, false, "5 <= activation 5", false},
		{"upstream error is an error, never inactive", fixedReader{err: errors.New("broker down")}, false, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &activity{reader: tc.r}
			active, why, err := a.Explain(t.Context(), md)
			if (err != nil) != tc.err || active != tc.active || !strings.Contains(why, tc.why) {
				t.Errorf("Explain = %v %q %v; want %v %q err=%v", active, why, err, tc.active, tc.why, tc.err)
			}
		})
	}
	if _, err := (&activity{reader: fixedReader{}}).Active(t.Context(), map[string]string{"source": "kafka"}); err == nil {
		t.Error("invalid metadata accepted")
	}
}
