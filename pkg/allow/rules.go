package allow

import (
	"fmt"
	"slices"
	"strings"
)

// Rules are the lists per source name; "*" applies to every source.
// Sources without a rule (and no "*") are open.
type Rules map[string]*List

// ParseRules reads "source=pattern,pattern" specs; source is one of
// sources or "*". Repeating a source adds to its list.
func ParseRules(specs []string, sources []string) (Rules, error) {
	patterns := map[string][]string{}
	for _, s := range specs {
		src, list, ok := strings.Cut(s, "=")
		src = strings.TrimSpace(src)
		if !ok || strings.TrimSpace(list) == "" {
			return nil, fmt.Errorf("upstream rule %q: want source=pattern[,pattern...]", s)
		}
		if src != "*" && !slices.Contains(sources, src) {
			return nil, fmt.Errorf("upstream rule %q: unknown source %q (want %s or *)", s, src, strings.Join(sources, ", "))
		}
		patterns[src] = append(patterns[src], strings.Split(list, ",")...)
	}
	r := Rules{}
	for src, ps := range patterns {
		l, err := Parse(ps)
		if err != nil {
			return nil, err
		}
		r[src] = l
	}
	return r, nil
}

// For returns the list that applies to source: its own patterns and the
// "*" ones; nil (open) when neither exists.
func (r Rules) For(source string) *List {
	own, all := r[source], r["*"]
	switch {
	case own == nil:
		return all
	case all == nil:
		return own
	}
	return &List{
		names: slices.Concat(own.names, all.names),
		nets:  slices.Concat(own.nets, all.nets),
		spec:  slices.Concat(own.spec, all.spec),
	}
}
