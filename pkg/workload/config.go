package workload

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/scale"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// Defaults of the optional keys.
const (
	// DefaultMinReplicas is the HPA's own default: scaling to zero is
	// opt-in (minReplicas: 0), so a missing key never idles a workload.
	DefaultMinReplicas    = 1
	DefaultCooldownPeriod = 5 * time.Minute
	// DefaultNodeLeadTime is the lead time of nodeHints: true: about what
	// a cloud node takes to join and become ready.
	DefaultNodeLeadTime = 3 * time.Minute
)

// Config is the standalone configuration: one entry per workload trigger
// (the file's `triggers:` list). It is immutable once loaded; a reload
// makes a new one.
type Config struct {
	Workloads []Workload
}

// Workload is one entry: a trigger, the workload it scales and how.
// Metadata is exactly a KEDA trigger's metadata in gRPC mode, parsed by
// the same trigger core.
type Workload struct {
	Name      string // unique; the `trigger` label; the default metric name
	Namespace string // the HPA's and the scale target's namespace
	// MetricName is the external metric name the HPA asks for; empty means
	// Name. (A `metricName` key in Metadata only renames the metric KEDA
	// sees over gRPC; it does not change this one.)
	MetricName string
	// ScaleTarget is the workload; its Namespace is the entry's.
	ScaleTarget scale.Target
	MinReplicas int32 // 0: the scaler owns 0 <-> 1
	MaxReplicas int32
	// CooldownPeriod is how long demand must stay inactive before 1 -> 0.
	CooldownPeriod time.Duration
	// NodeLeadTime, when set, keeps node headroom for the demand expected
	// this far ahead (a CapacityBuffer or balloon pods; pkg/nodehints).
	NodeLeadTime time.Duration
	Metadata     map[string]string

	trigger *trigger.Trigger // set by validate
}

// Metric is the external metric name the HPA asks for.
func (w *Workload) Metric() string {
	if w.MetricName != "" {
		return w.MetricName
	}
	return w.Name
}

// Trigger is the entry's parsed trigger: in a File's Config the instance
// the trigger cache shares with every face; in one from Parse, a parse of
// its own. Nil only in a Config built in code and never validated.
func (w *Workload) Trigger() *trigger.Trigger { return w.trigger }

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

// Parse decodes YAML (or JSON) and validates it, parsing the metadata of
// every entry with reg, so that a trigger the gRPC path would reject fails
// here, at load time. The error lists the problems found, one per line:
// every wrongly typed or unknown key, or else every invalid value.
func Parse(data []byte, reg *trigger.Registry) (*Config, error) {
	c, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := c.validate(reg.Parse); err != nil {
		return nil, err
	}
	return c, nil
}

var metricNameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,198}[a-zA-Z0-9])?$`)

// validate checks every value and parses every entry's metadata with
// parse. It holds all the value rules, so a Config built in code is checked
// exactly as one read from a file. It is idempotent: a valid Config
// validates again.
func (c *Config) validate(parse func(md map[string]string) (*trigger.Trigger, error)) error {
	var errs []error
	fail := func(path, value, reason string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Value: value, Reason: fmt.Sprintf(reason, args...)})
	}
	if len(c.Workloads) == 0 {
		// An empty file is far more often a wrong mount than an intent.
		fail("triggers", "", "must list at least one trigger")
	}
	names := map[string]int{}
	for i := range c.Workloads {
		w := &c.Workloads[i]
		p := fmt.Sprintf("triggers[%d]", i)
		label := func(key, v string) {
			switch msgs := validation.IsDNS1123Label(v); {
			case v == "":
				fail(p+"."+key, "", "is required")
			case len(msgs) > 0:
				fail(p+"."+key, strconv.Quote(v), "%s", strings.Join(msgs, "; "))
			}
		}
		label("name", w.Name)
		if j, dup := names[w.Name]; dup && w.Name != "" {
			fail(p+".name", strconv.Quote(w.Name), "already used by triggers[%d]; names must be unique", j)
		} else {
			names[w.Name] = i
		}
		label("namespace", w.Namespace)
		if w.MetricName != "" && !metricNameRE.MatchString(w.MetricName) {
			fail(p+".metricName", strconv.Quote(w.MetricName),
				"want 1-200 characters of letters, digits, '.', '_' or '-', starting and ending with a letter or digit")
		}
		w.ScaleTarget.Namespace = w.Namespace
		st := w.ScaleTarget
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
		if w.MaxReplicas < 1 {
			fail(p+".maxReplicas", strconv.Itoa(int(w.MaxReplicas)), "must be at least 1")
		}
		switch {
		case w.MinReplicas < 0:
			fail(p+".minReplicas", strconv.Itoa(int(w.MinReplicas)), "must not be negative")
		case w.MaxReplicas >= 1 && w.MinReplicas > w.MaxReplicas:
			fail(p+".minReplicas", strconv.Itoa(int(w.MinReplicas)), "must not exceed maxReplicas (%d)", w.MaxReplicas)
		}
		if w.NodeLeadTime < 0 || w.NodeLeadTime > time.Hour {
			fail(p+".nodeLeadTime", w.NodeLeadTime.String(), "must be between 0 and 1h")
		}
		if w.CooldownPeriod < 0 {
			fail(p+".cooldownPeriod", w.CooldownPeriod.String(), "must not be negative")
		}
		t, err := parse(w.Metadata)
		var ce *metadata.ConfigError
		switch {
		case errors.As(err, &ce):
			v := ""
			if ce.Value != "" {
				v = strconv.Quote(ce.Value)
			}
			fail(p+".metadata."+ce.Key, v, "%s", ce.Reason)
		case err != nil:
			fail(p+".metadata", "", "%v", err)
		default:
			w.trigger = t
		}
	}
	return errors.Join(errs...)
}
