package kafka

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// span is an inclusive range of partition ids.
type span struct{ lo, hi int32 }

// partitionSet is the parsed partitionLimitation: sorted, non-overlapping,
// non-adjacent spans. nil means every partition.
type partitionSet []span

// parsePartitions parses "1,2,10-20". Items may repeat or overlap; the set is
// normalized so that equal selections produce equal query keys.
func parsePartitions(key, raw string) (partitionSet, error) {
	var set partitionSet
	for _, item := range strings.Split(raw, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		s, ok := parseSpan(item)
		if !ok {
			return nil, metadata.Invalid(key, raw,
				"item %q: want a partition id or a range lo-hi of non-negative ids with lo <= hi", item)
		}
		set = append(set, s)
	}
	if len(set) == 0 {
		return nil, metadata.Invalid(key, raw, "lists no partition")
	}
	sort.Slice(set, func(i, j int) bool { return set[i].lo < set[j].lo })
	out := set[:1]
	for _, s := range set[1:] {
		last := &out[len(out)-1]
		// int64 so that hi = MaxInt32 cannot wrap when checking adjacency.
		if int64(s.lo) <= int64(last.hi)+1 {
			last.hi = max(last.hi, s.hi)
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSpan(item string) (span, bool) {
	lo, hi, isRange := strings.Cut(item, "-")
	a, ok := parseID(lo)
	if !ok {
		return span{}, false
	}
	if !isRange {
		return span{a, a}, true
	}
	b, ok := parseID(hi)
	if !ok || a > b {
		return span{}, false
	}
	return span{a, b}, true
}

// parseID accepts only plain decimal digits: "+1" or " 1" in a range would
// be legal for strconv but are almost certainly typos.
func parseID(s string) (int32, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n > math.MaxInt32 {
		return 0, false
	}
	return int32(n), true
}

// contains reports whether p is selected; a nil set selects everything.
func (ps partitionSet) contains(p int32) bool {
	if ps == nil {
		return true
	}
	i := sort.Search(len(ps), func(i int) bool { return ps[i].hi >= p })
	return i < len(ps) && ps[i].lo <= p
}

// String is the canonical form used in query keys, e.g. "1-2,10-20".
func (ps partitionSet) String() string {
	var b strings.Builder
	for i, s := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(s.lo)))
		if s.hi != s.lo {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(s.hi)))
		}
	}
	return b.String()
}
