package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// mdTable writes a markdown table.
func mdTable(b *strings.Builder, header []string, rows [][]string) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	b.WriteString("\n")
}

// mdCell makes s safe for a table cell: one line, at most n runes, `|`
// escaped.
func mdCell(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// mdNum formats a figure with about 3 significant digits; whole numbers
// from 1000 up are printed in full with thousands separators. NaN → "–".
func mdNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.IsInf(v, 0):
		return "∞"
	case math.Abs(v) >= 1000:
		s := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		if v < 0 {
			s = "-" + s
		}
		return s
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// mdRatioVal formats a ratio to 3 significant digits, keeping trailing
// zeros ("21.0×").
func mdRatioVal(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "–"
	case math.IsInf(v, 0):
		return "∞"
	case a >= 100:
		return fmt.Sprintf("%.0f×", v)
	case a >= 10:
		return fmt.Sprintf("%.1f×", v)
	case a >= 1:
		return fmt.Sprintf("%.2f×", v)
	}
	return fmt.Sprintf("%.3f×", v)
}

// mdRatio formats a ratio spread as "23.4× [21.0–25.1]".
func mdRatio(s spread) string {
	if !s.ok() {
		return "–"
	}
	return fmt.Sprintf("%s [%s–%s]", mdRatioVal(s.Median),
		strings.TrimSuffix(mdRatioVal(s.Min), "×"), strings.TrimSuffix(mdRatioVal(s.Max), "×"))
}

func mdInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
