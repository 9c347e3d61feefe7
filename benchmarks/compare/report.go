package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Orders in which implementations appear in tables and plots.
var (
	reportKafkaImpls      = []string{ImplTide, ImplTideSlow, ImplKEDAKafka, ImplKEDAApache, ImplFloor}
	reportRedisImpls      = []string{ImplTide, ImplTideSlow, ImplKEDARedis, ImplFloor}
	reportActivationOrder = []string{ActTidePush, ActKEDA1s, ActKEDA30s, ActTideRedis, ActKEDARedis1s, ActKEDARedis30s}
)

// reportSuite describes how one suite (Kafka or Redis) is reported.
type reportSuite struct {
	suite, title string
	unit         string // what the upstream counts: "broker requests", "commands"
	scaleUnit    string // what a scale counts: "ScaledObjects", "lists"
	scales       []int
	order        []string
	intro        string // printed under the heading; may be empty
}

func kafkaSuite(res *Results, g runGroups) reportSuite {
	return reportSuite{statsSuiteKafka, "Kafka", "broker requests", "ScaledObjects",
		g.scales(statsSuiteKafka, res.Settings.KafkaScales), reportKafkaImpls, ""}
}

func redisSuite(res *Results, g runGroups) reportSuite {
	return reportSuite{statsSuiteRedis, "Redis", "commands", "lists",
		g.scales(statsSuiteRedis, res.Settings.RedisScales), reportRedisImpls, ""}
}

// writeReport writes dir/README.md and the plots it shows into dir.
func writeReport(dir string, res *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	plots, err := writePlots(dir, res)
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	md := renderReport(res, plots)
	return os.WriteFile(filepath.Join(dir, "README.md"), []byte(md), 0o644)
}

// renderReport renders the markdown; plots are the images to embed.
func renderReport(res *Results, plots []plotFile) string {
	var b strings.Builder
	g := groupRuns(res.Runs)
	writeHeader(&b, res)
	writeSuite(&b, res, g, kafkaSuite(res, g))
	writeBigSuite(&b, res, g)
	writeSuite(&b, res, g, redisSuite(res, g))
	writeCorrectness(&b, res.Correctness)
	writeActivation(&b, res.Activation, res.ActivationCost)
	writeGoals(&b, res, g)
	if len(plots) > 0 {
		b.WriteString("## Plots\n\n")
		for _, p := range plots {
			fmt.Fprintf(&b, "![%s](%s)\n\n", p.Title, p.File)
		}
	}
	return b.String()
}

func writeHeader(b *strings.Builder, res *Results) {
	b.WriteString("# Tide vs KEDA's built-in Kafka and Redis scalers\n\n")
	when := "unknown"
	if !res.Started.IsZero() {
		when = res.Started.UTC().Format("2006-01-02 15:04:05 UTC")
		if res.Finished.After(res.Started) {
			when += fmt.Sprintf(" (took %s)", res.Finished.Sub(res.Started).Round(time.Second))
		}
	}
	fmt.Fprintf(b, "Measured %s with:\n\n```sh\n%s\n```\n\n", when, res.Command)

	m := res.Machine
	b.WriteString("### Machine\n\n")
	mdTable(b, []string{"", ""}, [][]string{
		{"CPU", m.CPU}, {"cores", strconv.Itoa(m.Cores)}, {"memory", m.Memory},
		{"kernel", m.Kernel}, {"OS", m.OS}, {"Go", m.Go},
	})

	b.WriteString("### Versions\n\n")
	keys := make([]string, 0, len(res.Versions))
	for k := range res.Versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var rows [][]string
	for _, k := range keys {
		rows = append(rows, []string{k, res.Versions[k]})
	}
	mdTable(b, []string{"component", "version"}, rows)

	s := res.Settings
	b.WriteString("### Settings\n\n")
	mdTable(b, []string{"setting", "value"}, append([][]string{
		{"partitions per topic", strconv.Itoa(s.Partitions)},
		{"consumer groups", strconv.Itoa(s.Groups)},
		{"brokers", strconv.Itoa(s.Brokers)},
		{"window per run", s.Window.String()},
		{"settle before a Redis window", s.RedisSettle.String()},
		{"repeats", strconv.Itoa(s.Repeats)},
		{"KEDA polling interval", s.PollingInterval.String()},
		{"HPA sync", s.HPASync.String()},
		{"Tide poll interval", s.TidePoll.String()},
		{"Kafka scales (ScaledObjects)", mdInts(s.KafkaScales)},
		{"Redis scales (lists)", mdInts(s.RedisScales)},
		{"lag threshold", strconv.Itoa(s.LagThreshold)},
		{"list length", strconv.Itoa(s.ListLength)},
		{"idle driver (subtracted)", fmt.Sprintf("%s MiB RSS, %d goroutines",
			mdNum(float64(res.Idle.RSS)/(1<<20)), res.Idle.Goroutines)},
	}, bigSettings(s)...))
}

func writeSuite(b *strings.Builder, res *Results, g runGroups, s reportSuite) {
	fmt.Fprintf(b, "## %s\n\n", s.title)
	if s.intro != "" {
		b.WriteString(s.intro + "\n\n")
	}
	impls := g.impls(s.suite, s.order)
	if len(impls) == 0 {
		b.WriteString("Not measured.\n\n")
		return
	}
	fmt.Fprintf(b, "Every cell is a median over repeats, except errors (summed). "+
		"Allocations are per observation, in KEDA's process + Tide's scaler. "+
		"Attributable RSS and goroutines are KEDA's process minus the idle driver, plus Tide's scaler process for Tide.\n\n")
	rss, gor := metricRSSMiB(res.Idle), metricGoroutines(res.Idle)
	for _, sc := range s.scales {
		var rows [][]string
		var firstErrs []string
		for _, impl := range impls {
			rs := g[runKey{s.suite, impl, sc}]
			if len(rs) == 0 {
				continue
			}
			errs := 0
			for _, r := range rs {
				errs += r.Errors
				if r.FirstError != "" && len(firstErrs) < 10 {
					firstErrs = append(firstErrs, fmt.Sprintf("%s (repeat %d): %s", impl, r.Repeat, mdCell(r.FirstError, 200)))
				}
			}
			allocs := mdNum(medianRuns(rs, metricDriverAllocs))
			if isTideImpl(impl) {
				allocs += " + " + mdNum(medianRuns(rs, metricServerAllocs))
			}
			rows = append(rows, []string{impl, mdNum(medianRuns(rs, metricObservations)), strconv.Itoa(errs),
				mdNum(medianRuns(rs, metricP50)), mdNum(medianRuns(rs, metricP99)), allocs,
				mdNum(medianRuns(rs, metricPerObs)), mdNum(medianRuns(rs, metricPerMinute)),
				mdNum(medianRuns(rs, rss)), mdNum(medianRuns(rs, gor)), mdNum(medianRuns(rs, metricConns)),
				mdNum(medianRuns(rs, func(r Run) float64 { return float64(r.Driver.FDs) }))})
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(b, "### S = %d %s\n\n", sc, s.scaleUnit)
		mdTable(b, []string{"impl", "observations", "errors", "p50 µs", "p99 µs", "allocs/obs",
			s.unit + "/obs", s.unit + "/min", "attributable RSS MiB", "attributable goroutines", "upstream conns",
			"fds in KEDA's process"}, rows)
		for _, f := range res.Failures {
			if f.Suite == s.suite && f.Scale == sc {
				fmt.Fprintf(b, "- **%s could not run at this scale on this machine**: %s\n", f.Impl, mdCell(f.Error, 300))
			}
		}
		for _, e := range firstErrs {
			fmt.Fprintf(b, "- first error: %s\n", e)
		}
		if len(firstErrs) > 0 {
			b.WriteString("\n")
		}
	}
	writeRatios(b, res, g, s, impls)
	writeKinds(b, res, g, s, impls)
}

// writeRatios writes peer/Tide ratios of every lower-is-better figure.
func writeRatios(b *strings.Builder, res *Results, g runGroups, s reportSuite, impls []string) {
	metrics := []struct {
		name string
		f    func(Run) float64
	}{
		{s.unit + "/min", metricPerMinute}, {s.unit + "/obs", metricPerObs},
		{"attributable RSS", metricRSSMiB(res.Idle)}, {"goroutines", metricGoroutines(res.Idle)},
		{"p99", metricP99}, {"allocs/obs", metricAllocs},
	}
	header := []string{"S", "peer", "vs"}
	for _, m := range metrics {
		header = append(header, m.name)
	}
	var rows [][]string
	for _, sc := range s.scales {
		for _, peer := range impls {
			if !isPeer(peer) || !g.has(s.suite, peer, sc) {
				continue
			}
			for _, ours := range []string{ImplTide, ImplTideSlow} {
				if !g.has(s.suite, ours, sc) {
					continue
				}
				row := []string{strconv.Itoa(sc), peer, ours}
				for _, m := range metrics {
					row = append(row, mdRatio(pairedRatio(res.Runs, s.suite, sc, peer, ours, m.f)))
				}
				rows = append(rows, row)
			}
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "### %s: KEDA ÷ Tide\n\n", s.title)
	b.WriteString("Each cell is the KEDA scaler's figure divided by Tide's, per repeat (paired by repeat), " +
		"shown as median [min–max]; every figure here is lower-is-better, so a ratio above 1× means Tide uses that many times less.\n\n")
	mdTable(b, header, rows)
}

// writeKinds breaks the upstream load at the largest scale down by kind.
func writeKinds(b *strings.Builder, res *Results, g runGroups, s reportSuite, impls []string) {
	sc, ok := 0, false
	for _, x := range s.scales {
		for _, impl := range impls {
			if g.has(s.suite, impl, x) {
				sc, ok = x, true
			}
		}
	}
	if !ok {
		return
	}
	kindSet := map[string]bool{}
	var present []string
	for _, impl := range impls {
		if g.has(s.suite, impl, sc) {
			present = append(present, impl)
			for _, r := range g[runKey{s.suite, impl, sc}] {
				for k := range r.Requests {
					kindSet[k] = true
				}
			}
		}
	}
	if len(kindSet) == 0 {
		return
	}
	kinds := make([]string, 0, len(kindSet))
	for k := range kindSet {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	window := time.Duration(res.Settings.Window).Seconds()
	var rows [][]string
	for _, k := range kinds {
		row := []string{mdCell(k, 80)}
		for _, impl := range present {
			row = append(row, mdNum(g.med(s.suite, impl, sc, metricKindPerMinute(k, window))))
		}
		rows = append(rows, row)
	}
	fmt.Fprintf(b, "### %s by kind at S = %d (per minute, median over repeats)\n\n", s.unit, sc)
	mdTable(b, append([]string{"kind"}, present...), rows)
}

func writeCorrectness(b *strings.Builder, cs []CaseResult) {
	b.WriteString("## Correctness\n\n")
	if len(cs) == 0 {
		b.WriteString("Not measured.\n\n")
		return
	}
	var cases []string
	byCase := map[string]map[string]CaseResult{}
	implSet := map[string]bool{}
	for _, c := range cs {
		if byCase[c.Case] == nil {
			cases = append(cases, c.Case)
			byCase[c.Case] = map[string]CaseResult{}
		}
		byCase[c.Case][c.Impl] = c
		implSet[c.Impl] = true
	}
	impls := orderedKeys(implSet, append(append([]string{}, reportKafkaImpls...), ImplKEDARedis))
	header := []string{"case", "description", "want"}
	for _, i := range impls {
		header = append(header, i+" (lag / replicas / error)")
	}
	var rows [][]string
	var whys []string
	for _, name := range cases {
		m := byCase[name]
		first := m[impls[0]]
		for _, i := range impls {
			if c, ok := m[i]; ok {
				first = c
				break
			}
		}
		want := mdNum(first.WantLag) + " / " + strconv.Itoa(first.WantRepl)
		if first.WantError {
			want = "error"
		}
		row := []string{mdCell(name, 80), mdCell(first.Description, 120), want}
		why, whyImpl := "", ""
		for _, i := range impls {
			c, ok := m[i]
			if !ok {
				row = append(row, "–")
				continue
			}
			mark := "✔"
			if !c.Correct {
				mark = "✘"
				if whyImpl == "" {
					why, whyImpl = c.Why, i
				}
			}
			cell := mark + " " + mdNum(c.Lag) + " / " + strconv.Itoa(c.Replicas)
			if c.Error != "" {
				cell += " / " + mdCell(c.Error, 80)
			}
			row = append(row, cell)
		}
		if whyImpl == "" {
			if c, ok := m[ImplTide]; ok {
				why, whyImpl = c.Why, ImplTide
			}
		}
		if why != "" {
			whys = append(whys, fmt.Sprintf("- **%s** (%s): %s", mdCell(name, 80), whyImpl, mdCell(why, 400)))
		}
		rows = append(rows, row)
	}
	mdTable(b, header, rows)
	if len(whys) > 0 {
		b.WriteString("Why:\n\n" + strings.Join(whys, "\n") + "\n\n")
	}
}

func writeGoals(b *strings.Builder, res *Results, g runGroups) {
	b.WriteString("## Goals\n\n")
	var rows [][]string
	for _, r := range evalGoals(res, g) {
		rows = append(rows, []string{r.Goal, r.Verdict, r.Measured})
	}
	mdTable(b, []string{"goal", "met", "measured"}, rows)
}
