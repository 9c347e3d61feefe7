package inference

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// The roles of prefill/decode disaggregated serving (key role), as llm-d
// names them in its llm-d.ai/role pod label.
const (
	rolePrefill = "prefill"
	roleDecode  = "decode"
)

// roleGoal is the goal each role is sized by, and the goal it must not
// have: a prefill pod emits one token per request (no time per output
// token to time), and a decode pod's time to first token is the KV
// transfer's, not the prompt work's.
var roleGoal = map[string]struct{ needs, forbids int }{
	rolePrefill: {goalTTFT, goalTPOT},
	roleDecode:  {goalTPOT, goalTTFT},
}

// member picks a role's or a variant's pods out of the pods a trigger
// scrapes: those with a series whose label carries value, or, without a
// label, those whose pod name is a pod of the Deployment named value
// (<value>-<replicaset hash>-<pod hash>). The zero member takes every pod.
type member struct {
	label, value string
	byPod        *regexp.Regexp
}

func (m member) on() bool { return m.value != "" }

// holds reports whether r is a pod of the member; known is false when that
// cannot be told (a failed scrape of a pod picked by its series).
func (m member) holds(r reading) (holds, known bool) {
	if !m.on() {
		return true, true
	}
	if m.byPod != nil {
		return m.byPod.MatchString(r.target.name), true
	}
	if r.err != nil {
		return false, false
	}
	for _, ss := range r.expo {
		for _, s := range ss {
			for _, l := range s.labels {
				if l.GetName() == m.label && l.GetValue() == m.value {
					return true, true
				}
			}
		}
	}
	return false, true
}

// pick is the readings of m's pods: a failed scrape whose pod cannot be
// told is kept (it holds scale-down for every member, as an unknown).
func (m member) pick(rs []reading) []reading {
	if !m.on() {
		return rs
	}
	out := make([]reading, 0, len(rs))
	for _, r := range rs {
		if ok, known := m.holds(r); ok || !known && !errors.Is(r.err, errNotReady) {
			out = append(out, r)
		}
	}
	return out
}

func (m member) key() string {
	if !m.on() {
		return ""
	}
	return fmt.Sprintf("|member=%q=%q", m.label, m.value)
}

// podsOf matches the pods of Deployment d: d-<replicaset hash>-<pod hash>.
func podsOf(d string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(d) + `-[a-z0-9]+-[a-z0-9]+$`)
}

// parseRole reads role and roleLabel into sig, after the goals are parsed.
func parseRole(md metadata.Metadata, sig *signalSpec) error {
	if md.Has("roleLabel") && !md.Has("role") {
		return metadata.Invalid("roleLabel", md["roleLabel"], "names the series label that carries each pod's role: set role")
	}
	if !md.Has("role") {
		return nil
	}
	role, err := md.Enum("role", "", rolePrefill, roleDecode)
	if err != nil {
		return err
	}
	rg := roleGoal[role]
	if k := goalKeys[rg.forbids].key; sig.slo.goals[rg.forbids].set() {
		return metadata.Invalid(k, md[k], "is the %s role's goal, not the %s role's: its pods are sized on %s alone",
			map[string]string{rolePrefill: roleDecode, roleDecode: rolePrefill}[role], role, goalKeys[rg.needs].key)
	}
	if need := goalKeys[rg.needs]; !sig.slo.goals[rg.needs].set() {
		return metadata.Invalid("role", role, "%s replicas are sized on the %s work per replica against a latency goal: set %s",
			role, need.work, need.key)
	}
	sig.role = role
	if md.Has("roleLabel") {
		l := md["roleLabel"]
		if !labelNameRE.MatchString(l) {
			return metadata.Invalid("roleLabel", l, "not a Prometheus label name")
		}
		sig.member = member{label: l, value: role}
	}
	return nil
}

// variantSpec is a model served by several Deployments on different
// hardware (key variants), and which of them a trigger sizes (variant).
type variantSpec struct {
	names  []string
	costs  []float64
	maxes  []int // 0: unbounded
	label  string
	chosen int
}

var variantNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$`)

// parseVariants reads variants ("a100=3:8,l4=1": name=cost[:maxReplicas]),
// variant and variantLabel.
func parseVariants(md metadata.Metadata, sig *signalSpec, static bool) (*variantSpec, error) {
	for _, k := range []string{"variant", "variantLabel"} {
		if md.Has(k) && !md.Has("variants") {
			return nil, metadata.Invalid(k, md[k], "belongs to a variants list: set variants")
		}
	}
	if !md.Has("variants") {
		return nil, nil
	}
	raw := md["variants"]
	switch {
	case !sig.slo.on():
		return nil, metadata.Invalid("variants", raw, "the split sizes on learned capacities: set targetTTFT or targetTPOT")
	case sig.role != "":
		return nil, metadata.Invalid("variants", raw, "cannot be combined with role")
	case len(sig.epp.targets) > 0:
		return nil, metadata.Invalid("variants", raw, "cannot be combined with eppTargets (the EPP's backlog is the pool's, not a variant's)")
	case static && !md.Has("variantLabel"):
		return nil, metadata.Invalid("variants", raw, "static targets have no pod names to tell the variants apart: set variantLabel")
	}
	v := &variantSpec{label: md.String("variantLabel", "")}
	if v.label != "" && !labelNameRE.MatchString(v.label) {
		return nil, metadata.Invalid("variantLabel", v.label, "not a Prometheus label name")
	}
	for _, item := range md.List("variants") {
		name, rest, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		costS, maxS, hasMax := strings.Cut(rest, ":")
		cost, err := strconv.ParseFloat(strings.TrimSpace(costS), 64)
		if !ok || !variantNameRE.MatchString(name) || err != nil || !(cost > 0) || cost > 1e9 {
			return nil, metadata.Invalid("variants", item, "want name=cost or name=cost:maxReplicas (a100=3:8), the name a Deployment's, the cost a positive number")
		}
		n := 0
		if hasMax {
			if n, err = strconv.Atoi(strings.TrimSpace(maxS)); err != nil || n < 1 || n > maxSplitCount {
				return nil, metadata.Invalid("variants", item, "maxReplicas must be a whole number from 1 to %d", maxSplitCount)
			}
		}
		for _, seen := range v.names {
			if seen == name {
				return nil, metadata.Invalid("variants", item, "variant %q appears twice", name)
			}
		}
		v.names, v.costs, v.maxes = append(v.names, name), append(v.costs, cost), append(v.maxes, n)
	}
	if len(v.names) < 2 || len(v.names) > maxVariants {
		return nil, metadata.Invalid("variants", raw, "list 2 to %d variants", maxVariants)
	}
	chosen, err := md.Required("variant")
	if err != nil {
		return nil, err
	}
	v.chosen = -1
	for i, n := range v.names {
		if n == chosen {
			v.chosen = i
		}
	}
	if v.chosen < 0 {
		return nil, metadata.Invalid("variant", chosen, "is not in variants (%s)", strings.Join(v.names, ", "))
	}
	return v, nil
}

// member is variant i's pods.
func (v *variantSpec) member(i int) member {
	if v.label != "" {
		return member{label: v.label, value: v.names[i]}
	}
	return member{value: v.names[i], byPod: podsOf(v.names[i])}
}

// key is the group's: every trigger of the list shares it.
func (v *variantSpec) key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "|variantLabel=%q|variants=", v.label)
	for i, n := range v.names {
		fmt.Fprintf(&b, "%s=%g:%d,", n, v.costs[i], v.maxes[i])
	}
	return b.String()
}
