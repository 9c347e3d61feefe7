package explain

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/migrate"
)

// Migration is a migration dry run: what KEDA's built-in scaler would send
// for the reading Tide took, recomputed, beside what Tide sends.
type Migration struct {
	KEDA     migrate.KEDAReading
	KEDAErr  error // KEDA would fail on this reading (or its metadata)
	KEDAHPA  hpa.Decision
	TideName string // Tide's metric name with KEDA's sN- prefix
	TideHPA  hpa.Decision
}

// DryRun recomputes KEDA's side from e's reading and runs the HPA model one
// sync forward on both sides.
func DryRun(now time.Time, in Input, e Explanation, cfg hpa.Config) Migration {
	k := in.KEDA
	s := e.Reading.Sample
	o := migrate.Observed{Value: s.Value, Unknown: s.Unknown}
	for _, p := range s.Parts {
		o.Parts = append(o.Parts, p.Value)
	}
	m := Migration{TideName: fmt.Sprintf("s%d-%s", k.Index, e.MetricName), TideHPA: Predict(now, in, e, cfg)}
	m.KEDA, m.KEDAErr = migrate.Recompute(k.Type, k.Metadata, k.Index, o)
	if m.KEDAErr == nil {
		ke := e
		ke.Target, ke.Reading.Value = m.KEDA.Target, m.KEDA.Value
		m.KEDAHPA = Predict(now, in, ke, cfg)
	}
	return m
}

// PrintMigration writes the dry run side by side.
func PrintMigration(w io.Writer, now time.Time, in Input, e Explanation, cfg hpa.Config) {
	m := DryRun(now, in, e, cfg)
	k := in.KEDA
	fmt.Fprintf(w, "\nmigration   dry run: KEDA's %s trigger (spec.triggers[%d]) as Tide source %s, on the same reading\n", k.Type, k.Index, e.Source)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  \tKEDA %s arithmetic, recomputed\tTide\n", migrate.KEDAVersion)
	if m.KEDAErr != nil {
		fmt.Fprintf(tw, "  value sent\terror: %v\t%s\n", m.KEDAErr, num(e.Reading.Value))
	} else {
		fmt.Fprintf(tw, "  metric name\t%s\t%s\n", m.KEDA.MetricName, m.TideName)
		fmt.Fprintf(tw, "  target (%s)\t%s\t%s\n", in.Target, num(m.KEDA.Target), num(e.Target))
		fmt.Fprintf(tw, "  value sent\t%s\t%s\n", num(m.KEDA.Value), num(e.Reading.Value))
		fmt.Fprintf(tw, "  active\t%t\t%t\n", m.KEDA.Active, e.Reading.Active)
		fmt.Fprintf(tw, "  HPA model\t%d -> %d replicas\t%d -> %d replicas\n", in.Current, m.KEDAHPA.Replicas, in.Current, m.TideHPA.Replicas)
	}
	_ = tw.Flush()
	for _, n := range m.KEDA.Notes {
		fmt.Fprintf(w, "%-12s%s\n", "  KEDA", n)
	}
	for _, n := range k.Notes {
		fmt.Fprintf(w, "%-12s%s\n", "  converted", n)
	}
	if m.KEDAErr == nil && m.KEDA.MetricName != m.TideName {
		fmt.Fprintf(w, "%-12sthe HPA's metric is renamed %s -> %s: dashboards and alerts on the old name need the new one\n", "  note", m.KEDA.MetricName, m.TideName)
	}
}
