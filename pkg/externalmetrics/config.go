package externalmetrics

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Defaults of the optional trigger keys.
const (
	// DefaultMinReplicas is the HPA's own default: scaling to zero is
	// opt-in (minReplicas: 0), so a missing key never idles a workload.
	DefaultMinReplicas    = 1
	DefaultCooldownPeriod = 5 * time.Minute
	// DefaultNodeLeadTime is the lead time of nodeHints: true: about what
	// a cloud node takes to join and become ready.
	DefaultNodeLeadTime = 3 * time.Minute
)

// Config is the standalone configuration: the triggers whose metrics the
// external metrics API serves. It is immutable once loaded; a reload makes
// a new one.
type Config struct {
	Triggers []Trigger
}

// Trigger is one workload's scaling rule. Metadata is exactly a KEDA
// trigger's metadata in gRPC mode and is parsed by the same parsers.
type Trigger struct {
	Name      string // unique; the `trigger` label; the default metric name
	Namespace string // the HPA's namespace
	// MetricName is the external metric name the HPA asks for; empty means
	// Name. (A `metricName` key in Metadata only renames the metric KEDA
	// sees over gRPC; it does not change this one.)
	MetricName  string
	ScaleTarget ScaleTarget
	MinReplicas int32 // 0: the scaler owns 0 <-> 1
	MaxReplicas int32
	// CooldownPeriod is how long demand must stay inactive before 1 -> 0.
	CooldownPeriod time.Duration
	// NodeLeadTime, when set, keeps node headroom for the demand expected
	// this far ahead (a CapacityBuffer or balloon pods; pkg/nodehints).
	NodeLeadTime time.Duration
	Metadata     map[string]string

	parsed *server.ParsedTrigger // set by validate
}

// ScaleTarget names the workload the trigger scales.
type ScaleTarget struct {
	APIVersion, Kind, Name string
}

// Metric is the external metric name the HPA asks for.
func (t *Trigger) Metric() string {
	if t.MetricName != "" {
		return t.MetricName
	}
	return t.Name
}

// Parsed is the trigger's metadata parsed as the gRPC path parses it; nil
// until the Config was validated.
func (t *Trigger) Parsed() *server.ParsedTrigger { return t.parsed }

// FieldError is one invalid value, named by its path in the file, e.g.
// `triggers[2].maxReplicas: -1: must be at least 1`.
type FieldError struct {
	Path   string
	Value  string // as written in the file; empty when there is none
	Reason string
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return e.Path + ": " + e.Reason
	}
	return e.Path + ": " + e.Value + ": " + e.Reason
}

// ParseConfig decodes YAML (or JSON) and validates it; the metadata of
// every trigger is parsed with parsers (nil: server.DefaultParsers()), so a
// trigger the gRPC path would reject fails here, at load time. The error
// lists the problems found, one per line: every wrongly typed or unknown
// key, or else every invalid value.
func ParseConfig(data []byte, parsers map[string]server.Parser) (*Config, error) {
	c, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := c.validate(parsers); err != nil {
		return nil, err
	}
	return c, nil
}

var metricNameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,198}[a-zA-Z0-9])?$`)

// validate checks every value and parses every trigger's metadata with
// parsers (nil: server.DefaultParsers()). It holds all the value rules, so
// a Config built in code is checked exactly as one read from a file. It is
// idempotent: a valid Config validates again.
func (c *Config) validate(parsers map[string]server.Parser) error {
	var errs []error
	fail := func(path, value, reason string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Value: value, Reason: fmt.Sprintf(reason, args...)})
	}
	if len(c.Triggers) == 0 {
		// An empty file is far more often a wrong mount than an intent.
		fail("triggers", "", "must list at least one trigger")
	}
	names := map[string]int{}
	for i := range c.Triggers {
		t := &c.Triggers[i]
		p := fmt.Sprintf("triggers[%d]", i)
		label := func(key, v string) {
			switch msgs := validation.IsDNS1123Label(v); {
			case v == "":
				fail(p+"."+key, "", "is required")
			case len(msgs) > 0:
				fail(p+"."+key, strconv.Quote(v), "%s", strings.Join(msgs, "; "))
			}
		}
		label("name", t.Name)
		if j, dup := names[t.Name]; dup && t.Name != "" {
			fail(p+".name", strconv.Quote(t.Name), "already used by triggers[%d]; names must be unique", j)
		} else {
			names[t.Name] = i
		}
		label("namespace", t.Namespace)
		if t.MetricName != "" && !metricNameRE.MatchString(t.MetricName) {
			fail(p+".metricName", strconv.Quote(t.MetricName),
				"want 1-200 characters of letters, digits, '.', '_' or '-', starting and ending with a letter or digit")
		}
		st := t.ScaleTarget
		if st.APIVersion == "" {
			fail(p+".scaleTarget.apiVersion", "", "is required")
		} else if _, err := schema.ParseGroupVersion(st.APIVersion); err != nil || strings.TrimSpace(st.APIVersion) != st.APIVersion {
			fail(p+".scaleTarget.apiVersion", strconv.Quote(st.APIVersion), "want group/version, such as apps/v1")
		}
		if st.Kind == "" {
			fail(p+".scaleTarget.kind", "", "is required")
		}
		if st.Name == "" {
			fail(p+".scaleTarget.name", "", "is required")
		} else if msgs := validation.IsDNS1123Subdomain(st.Name); len(msgs) > 0 {
			fail(p+".scaleTarget.name", strconv.Quote(st.Name), "%s", strings.Join(msgs, "; "))
		}
		if t.MaxReplicas < 1 {
			fail(p+".maxReplicas", strconv.Itoa(int(t.MaxReplicas)), "must be at least 1")
		}
		switch {
		case t.MinReplicas < 0:
			fail(p+".minReplicas", strconv.Itoa(int(t.MinReplicas)), "must not be negative")
		case t.MaxReplicas >= 1 && t.MinReplicas > t.MaxReplicas:
			fail(p+".minReplicas", strconv.Itoa(int(t.MinReplicas)), "must not exceed maxReplicas (%d)", t.MaxReplicas)
		}
		if t.NodeLeadTime < 0 || t.NodeLeadTime > time.Hour {
			fail(p+".nodeLeadTime", t.NodeLeadTime.String(), "must be between 0 and 1h")
		}
		if t.CooldownPeriod < 0 {
			fail(p+".cooldownPeriod", t.CooldownPeriod.String(), "must not be negative")
		}
		if err := t.parse(parsers); err != nil {
			var ce *sources.ConfigError
			if errors.As(err, &ce) {
				v := ""
				if ce.Value != "" {
					v = strconv.Quote(ce.Value)
				}
				fail(p+".metadata."+ce.Key, v, "%s", ce.Reason)
			} else {
				fail(p+".metadata", "", "%v", err)
			}
		}
	}
	return errors.Join(errs...)
}

// parse parses the metadata. A reload that leaves a trigger unchanged
// carries its parsed trigger over afterwards (see ConfigFile.Reload).
func (t *Trigger) parse(parsers map[string]server.Parser) error {
	p, err := server.ParseTrigger(parsers, t.Metadata)
	if err != nil {
		return err
	}
	t.parsed = p
	return nil
}
