package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The kafka-big suite's part of the report: the Kafka suite's tables on a
// broker that also holds Settings.FillerTopics empty topics, the
// attributable RSS per ScaledObject next to the small cluster's, and the
// big-cluster memory goal.

const bigTitle = "Kafka, big cluster"

func bigSuite(res *Results, g runGroups) reportSuite {
	s := res.Settings
	intro := "The Kafka suite's measured topic, groups and schedule, on a broker that also holds empty filler topics, " +
		"as a shared production cluster does."
	if s.FillerTopics > 0 {
		intro = fmt.Sprintf("The Kafka suite's measured topic, groups and schedule, on a broker that also holds %s empty topics "+
			"of %s partitions each (%s partitions in the cluster besides the measured topic's %d), as a shared production cluster does.",
			mdNum(float64(s.FillerTopics)), mdNum(float64(s.FillerPartitions)),
			mdNum(float64(s.FillerTopics*s.FillerPartitions)), s.Partitions)
	}
	intro += " KEDA's `kafka` scaler builds one sarama client per ScaledObject (KEDA v2.21.0 `pkg/scalers/kafka_scaler.go`, " +
		"`getKafkaClients`), and its `fullMetadata` setting, true by default, keeps sarama's `Metadata.Full = true`: " +
		"every client fetches and holds the metadata of every topic of the cluster. KEDA's `apache-kafka` scaler sends a " +
		"Metadata request without topics (all of them) on every observation (`getTopicPartitions`). " +
		"A driver whose RSS passes the run's `-max-rss-mib` is stopped at once; such a run is listed as could not run."
	return reportSuite{statsSuiteKafkaBig, bigTitle, "broker requests", "ScaledObjects",
		g.scales(statsSuiteKafkaBig, s.BigScales), reportKafkaImpls, intro}
}

// bigSettings are the settings table's rows for the kafka-big suite, none
// when it did not run.
func bigSettings(s Settings) [][]string {
	if len(s.BigScales) == 0 && s.FillerTopics == 0 {
		return nil
	}
	return [][]string{
		{"big cluster: filler topics × partitions", fmt.Sprintf("%d × %d", s.FillerTopics, s.FillerPartitions)},
		{"big-cluster scales (ScaledObjects)", mdInts(s.BigScales)},
	}
}

// writeBigSuite writes the kafka-big section: the suite's tables, then the
// attributable RSS per ScaledObject against the small cluster's at the same
// scale.
func writeBigSuite(b *strings.Builder, res *Results, g runGroups) {
	s := bigSuite(res, g)
	writeSuite(b, res, g, s)
	impls := g.impls(s.suite, s.order)
	rss := metricRSSMiB(res.Idle)
	var rows [][]string
	for _, sc := range s.scales {
		for _, impl := range impls {
			if !g.has(s.suite, impl, sc) {
				continue
			}
			big := g.med(s.suite, impl, sc, rss)
			small := g.med(statsSuiteKafka, impl, sc, rss)
			row := []string{strconv.Itoa(sc), impl, mdNum(big), mdNum(big * 1024 / float64(sc))}
			if math.IsNaN(small) {
				row = append(row, "–", "–")
			} else {
				ratio := "–"
				if small > 0 {
					ratio = mdRatioVal(big / small)
				}
				row = append(row, mdNum(small*1024/float64(sc)), ratio)
			}
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("### Attributable RSS per ScaledObject\n\n")
	b.WriteString("Median attributable RSS divided by the number of ScaledObjects (Tide's fixed cost included), " +
		"next to the Kafka suite's at the same scale, where it was measured.\n\n")
	mdTable(b, []string{"S", "impl", "attributable RSS MiB", "KiB per ScaledObject",
		"small cluster: KiB per ScaledObject", "big ÷ small"}, rows)
}

// bigGoal is the memory goal on the big cluster at its largest scale: at
// least 10× less attributable RSS than each KEDA Kafka scaler, with Tide on
// its default poll. A peer that could not run there is named with why.
func bigGoal(res *Results, g runGroups) goalRow {
	s := bigSuite(res, g)
	goal := "(b, big cluster) ≥10× less attributable RSS than each KEDA Kafka scaler on the big cluster"
	if res.Settings.FillerTopics > 0 {
		goal += fmt.Sprintf(" (%d topics × %d partitions)", res.Settings.FillerTopics, res.Settings.FillerPartitions)
	}
	if len(s.scales) == 0 {
		return goalRow{goal + " at its largest scale", goalNotMeasured, "the kafka-big suite did not run"}
	}
	sc := slices.Max(s.scales)
	return ratioGoalIn(res, statsSuiteKafkaBig, sc, metricRSSMiB(res.Idle), fmt.Sprintf("%s at S = %d", goal, sc),
		func(peer string) string {
			for _, f := range res.Failures {
				if f.Suite == statsSuiteKafkaBig && f.Impl == peer && f.Scale == sc {
					return peer + ": not measured, could not run (" + mdCell(f.Error, 160) + ")"
				}
			}
			return peer + ": not measured"
		})
}
