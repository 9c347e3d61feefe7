package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const bigFailure = "drive: exit status 3: compare: RSS 8200 MiB passed the 8192 MiB limit (-max-rss-mib): stopped"

// withBigCluster adds the kafka-big suite to syntheticResults: two repeats
// at S = 300 and 1000 on a 500 × 24 broker. Tide's attributable RSS is
// 20 MiB (25 − 20 idle + 15 server); keda-kafka's is 2 MiB per ScaledObject
// in repeat 0 and 1.8 MiB in repeat 1 (at S = 1000: 100× and 90× Tide's);
// keda-apache-kafka ran at 300 only and could not run at 1000.
func withBigCluster(res *Results) *Results {
	res.Settings.BigScales = []int{300, 1000}
	res.Settings.FillerTopics, res.Settings.FillerPartitions = 500, 24
	for rep := range 2 {
		for _, sc := range res.Settings.BigScales {
			for _, impl := range reportKafkaImpls {
				r := Run{Suite: statsSuiteKafkaBig, Impl: impl, Scale: sc, Repeat: rep, Window: 60,
					Observations: sc * 3, P50: 100, P99: 400, Allocs: 50, PerMinute: 100, PerObs: 0.01, Conns: 3,
					Requests: map[string]int{"Metadata": 10, "ListOffsets": 20},
					Driver:   Footprint{RSS: 25 * testMiB, Goroutines: 14}}
				switch impl {
				case ImplTide, ImplTideSlow:
					r.Server = Footprint{RSS: 15 * testMiB, Goroutines: 30}
				case ImplKEDAKafka:
					perSO := []float64{2, 1.8}[rep]
					r.Driver.RSS = 20*testMiB + int64(perSO*float64(sc))*testMiB
				case ImplKEDAApache:
					if sc == 1000 {
						continue
					}
					r.Driver.RSS = 20*testMiB + 25*int64(sc)*testMiB
				}
				res.Runs = append(res.Runs, r)
			}
		}
	}
	res.Failures = append(res.Failures, Failure{Suite: statsSuiteKafkaBig, Impl: ImplKEDAApache, Scale: 1000, Error: bigFailure})
	return res
}

func renderTo(t *testing.T, res *Results) string {
	t.Helper()
	dir := t.TempDir()
	if err := writeReport(dir, res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kafka-big-memory.png")); err != nil && strings.Contains(string(b), "kafka-big-memory.png") {
		t.Errorf("report embeds kafka-big-memory.png, which was not written: %v", err)
	}
	return string(b)
}

// goalLine is the goals table's row that starts with prefix.
func goalLine(t *testing.T, md, prefix string) string {
	t.Helper()
	for line := range strings.SplitSeq(md, "\n") {
		if strings.HasPrefix(line, "| "+prefix) {
			return line
		}
	}
	t.Fatalf("no goal row %q in:\n%s", prefix, md[strings.Index(md, "## Goals"):])
	return ""
}

func TestWriteReportBigCluster(t *testing.T) {
	md := renderTo(t, withBigCluster(syntheticResults()))
	section := md[strings.Index(md, "## "+bigTitle):strings.Index(md, "## Redis")]
	last := -1
	for _, h := range []string{"## Kafka\n", "## " + bigTitle, "500 empty topics of 24 partitions each (12,000 partitions",
		"### S = 300 ScaledObjects", "### S = 1000 ScaledObjects", "**keda-apache-kafka could not run at this scale on this machine**",
		"### " + bigTitle + ": KEDA ÷ Tide", "### Attributable RSS per ScaledObject", "## Redis", "## Goals"} {
		i := strings.Index(md[max(last, 0):], h)
		if i < 0 {
			t.Fatalf("report lacks %q after offset %d:\n%s", h, last, md)
		}
		i += max(last, 0)
		last = i
	}
	for _, want := range []string{
		// keda-kafka ÷ tide attributable RSS at S = 1000: 2000/20 and 1800/20.
		"| 1000 | keda-kafka | tide | 1.00× [1.00–1.00] | 1.00× [1.00–1.00] | 95.0× [90.0–100] |",
		// Per ScaledObject: median 1,900 MiB over 1000 ScaledObjects, against
		// the Kafka suite's 470 MiB (500 and 440) at the same scale.
		"| 1000 | keda-kafka | 1,900 | 1,946 | 481 | 4.04× |",
		// Tide: 20 MiB over 1000 ScaledObjects, and the same on the small cluster.
		"| 1000 | tide | 20 | 20.5 | 20.5 | 1.00× |",
		// No small-cluster run at 300.
		"| 300 | keda-apache-kafka | 7,500 | 25,600 | – | – |",
		"| big cluster: filler topics × partitions | 500 × 24 |",
		"| big-cluster scales (ScaledObjects) | 300, 1000 |",
		"![Kafka, big cluster: attributable RSS](kafka-big-memory.png)",
	} {
		if !strings.Contains(section, want) && !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, section)
		}
	}
	row := goalLine(t, md, "(b, big cluster)")
	for _, want := range []string{"(500 topics × 24 partitions) at S = 1000", goalPartly,
		"keda-kafka 95.0× [90.0–100]", "keda-apache-kafka: not measured, could not run (drive: exit status 3"} {
		if !strings.Contains(row, want) {
			t.Errorf("big-cluster goal row lacks %q: %s", want, row)
		}
	}
	// The small cluster's goal (b) is left as it was.
	if row := goalLine(t, md, "(b) ≥10× less attributable RSS"); !strings.Contains(row, "at S = 3000 | "+goalMet) {
		t.Errorf("goal (b) changed: %s", row)
	}
}

func TestBigGoalVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name        string
		res         func() *Results
		verdict     string
		measuredHas string
	}{
		{"met", func() *Results {
			res := withBigCluster(syntheticResults())
			res.Failures = nil
			for _, r := range slices.Clone(res.Runs) { // keda-apache-kafka also ran at 1000
				if r.Suite == statsSuiteKafkaBig && r.Impl == ImplKEDAApache && r.Scale == 300 {
					r.Scale = 1000
					res.Runs = append(res.Runs, r)
				}
			}
			return res
		}, goalMet, "keda-apache-kafka 375× [375–375]"},
		{"not met", func() *Results {
			res := withBigCluster(syntheticResults())
			for i, r := range res.Runs { // Tide holds 480 MiB at 1000
				if r.Suite == statsSuiteKafkaBig && r.Impl == ImplTide && r.Scale == 1000 {
					res.Runs[i].Server.RSS = 475 * testMiB
				}
			}
			return res
		}, goalNotMet, "keda-kafka 3.96× [3.75–4.17]"},
		{"suite did not run", syntheticResults, goalNotMeasured, "the kafka-big suite did not run"},
		{"only tide ran", func() *Results {
			res := withBigCluster(syntheticResults())
			var keep []Run
			for _, r := range res.Runs {
				if r.Suite != statsSuiteKafkaBig || isTideImpl(r.Impl) {
					keep = append(keep, r)
				}
			}
			res.Runs = keep
			return res
		}, goalNotMeasured, "keda-kafka: not measured; keda-apache-kafka: not measured, could not run"},
		{"scales from runs alone", func() *Results {
			res := withBigCluster(syntheticResults())
			res.Settings.BigScales, res.Settings.FillerTopics = nil, 0
			return res
		}, goalPartly, "on the big cluster at S = 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.res()
			row := bigGoal(res, groupRuns(res.Runs))
			if row.Verdict != tc.verdict {
				t.Errorf("verdict %q, want %q: %+v", row.Verdict, tc.verdict, row)
			}
			if !strings.Contains(row.Goal+" "+row.Measured, tc.measuredHas) {
				t.Errorf("row lacks %q: %+v", tc.measuredHas, row)
			}
			md := renderTo(t, res)
			if !strings.Contains(md, "| "+row.Goal+" | "+row.Verdict+" |") {
				t.Errorf("report's goals table lacks the row %+v", row)
			}
		})
	}
}
