package observability

import (
	"fmt"
	"regexp"
	"strings"
)

// selector is one vector selector of a PromQL expression: the metric it
// names and the label names its matchers use.
type selector struct {
	metric string
	labels []string
}

// keywords are PromQL's binary operators and modifiers; the ones that take
// a parenthesised label list are true.
var keywords = map[string]bool{
	"and": false, "or": false, "unless": false, "atan2": false, "bool": false, "offset": false,
	"inf": false, "nan": false, "start": false, "end": false,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// aggregators may be followed by a by/without clause before their
// parenthesis, so they are not known as calls by the next character alone.
var aggregators = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// selectors lexes a PromQL expression and returns its vector selectors.
// It follows the parser where it matters here: strings, comments and
// range/subquery brackets hold no names; an identifier before "(" is a
// function; a parenthesis right after by/without/on/ignoring/group_left/
// group_right is a label list; any other identifier is a metric name,
// optionally followed by {matchers}.
func selectors(expr string) ([]selector, error) {
	var out []selector
	s := expr
	i := 0
	skipSpace := func() {
		for i < len(s) && strings.ContainsRune(" \t\r\n", rune(s[i])) {
			i++
		}
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j, err := skipString(s, i)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unclosed [ at %d", i)
			}
			i += j + 1
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			// A number or a duration; 1e-3's sign belongs to it, 0x1e-3's not.
			start := i
			for i < len(s) && (isIdent(s[i]) || s[i] == '.' || ((s[i] == '+' || s[i] == '-') &&
				(s[i-1] == 'e' || s[i-1] == 'E') && !strings.HasPrefix(strings.ToLower(s[start:]), "0x"))) {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			i = j
			skipSpace()
			lower := strings.ToLower(word)
			if list, ok := keywords[lower]; ok {
				if list && i < len(s) && s[i] == '(' {
					k := strings.IndexByte(s[i:], ')')
					if k < 0 {
						return nil, fmt.Errorf("unclosed label list after %s", word)
					}
					i += k + 1
				}
				continue
			}
			if aggregators[lower] || (i < len(s) && s[i] == '(') {
				continue // a call; its arguments are lexed as they come
			}
			sel := selector{metric: word}
			if i < len(s) && s[i] == '{' {
				labels, j, err := matchers(s, i)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", word, err)
				}
				sel.labels, i = labels, j
			}
			out = append(out, sel)
		case c == '{':
			return nil, fmt.Errorf("selector without a metric name at %d: %q", i, s[i:])
		default:
			i++
		}
	}
	return out, nil
}

// matchers reads {label op "value", ...} starting at s[i] == '{' and
// returns the label names and the index after '}'.
func matchers(s string, i int) ([]string, int, error) {
	var labels []string
	i++
	for {
		for i < len(s) && strings.ContainsRune(" \t\r\n,", rune(s[i])) {
			i++
		}
		if i >= len(s) {
			return nil, i, fmt.Errorf("unclosed {")
		}
		if s[i] == '}' {
			return labels, i + 1, nil
		}
		j := i
		for j < len(s) && isIdent(s[j]) {
			j++
		}
		if j == i {
			return nil, i, fmt.Errorf("label name expected at %q", s[i:])
		}
		labels = append(labels, s[i:j])
		i = j
		for i < len(s) && !strings.ContainsRune("\"'`", rune(s[i])) {
			i++ // the operator: = != =~ !~
		}
		if i >= len(s) {
			return nil, i, fmt.Errorf("value of %s expected", labels[len(labels)-1])
		}
		var err error
		if i, err = skipString(s, i); err != nil {
			return nil, i, err
		}
	}
}

// skipString returns the index after the string literal at s[i].
func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unclosed string at %d", i)
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdent(c byte) bool      { return isIdentStart(c) || isDigit(c) }

// grafanaVars are Grafana's interval variables, which stand for durations;
// every other $variable is a dashboard variable, used inside regex matchers.
var (
	grafanaVars   = regexp.MustCompile(`\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}`)
	dashboardVars = regexp.MustCompile(`\$\{?[A-Za-z_]\w*\}?`)
	labelValues   = regexp.MustCompile(`(?s)^\s*label_values\((.+),\s*([A-Za-z_]\w*)\s*\)\s*$`)
)

// substitute makes a Grafana query plain PromQL: interval variables
// become 5m, dashboard variables the regex .* (they may only stand inside
// a string; anywhere else promtool refuses the result).
func substitute(q string) string {
	return dashboardVars.ReplaceAllString(grafanaVars.ReplaceAllString(q, "5m"), ".*")
}
