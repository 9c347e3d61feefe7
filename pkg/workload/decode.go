package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tide-scaler/tide/pkg/scale"
)

// The file's shape. Scalars are decoded as `any` so that a value of the
// wrong type is reported by validate-style errors naming its full path
// rather than by encoding/json, which knows neither list indexes nor map
// keys.
type (
	fileConfig struct {
		Triggers []json.RawMessage `json:"triggers"`
	}
	fileEntry struct {
		Name           any             `json:"name"`
		Namespace      any             `json:"namespace"`
		MetricName     any             `json:"metricName"`
		ScaleTarget    json.RawMessage `json:"scaleTarget"` // decoded apart, to name its unknown keys
		MinReplicas    any             `json:"minReplicas"`
		MaxReplicas    any             `json:"maxReplicas"`
		CooldownPeriod any             `json:"cooldownPeriod"`
		NodeLeadTime   any             `json:"nodeLeadTime"`
		NodeHints      any             `json:"nodeHints"`
		Metadata       map[string]any  `json:"metadata"`
	}
	fileTarget struct {
		APIVersion any `json:"apiVersion"`
		Kind       any `json:"kind"`
		Name       any `json:"name"`
	}
)

// decode turns the file into typed structs and applies defaults; value
// checks are validate's.
func decode(data []byte) (*Config, error) {
	// Strict: a key given twice is an error, not a silent last-one-wins.
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var fc fileConfig
	if err := strictJSON(js, &fc); err != nil {
		return nil, jsonError("", err)
	}
	c := &Config{Workloads: make([]Workload, len(fc.Triggers))}
	var errs []error
	for i, raw := range fc.Triggers {
		path := fmt.Sprintf("triggers[%d]", i)
		var ft fileEntry
		if err := strictJSON(raw, &ft); err != nil {
			errs = append(errs, jsonError(path, err))
			continue
		}
		var st fileTarget
		if len(ft.ScaleTarget) > 0 {
			if err := strictJSON(ft.ScaleTarget, &st); err != nil {
				errs = append(errs, jsonError(path+".scaleTarget", err))
			}
		}
		d := decoder{path: path}
		t := &c.Workloads[i]
		t.Name = d.str("name", ft.Name)
		t.Namespace = d.str("namespace", ft.Namespace)
		t.MetricName = d.str("metricName", ft.MetricName)
		t.ScaleTarget = scale.Target{
			Namespace:  t.Namespace,
			APIVersion: d.str("scaleTarget.apiVersion", st.APIVersion),
			Kind:       d.str("scaleTarget.kind", st.Kind),
			Name:       d.str("scaleTarget.name", st.Name),
		}
		t.MinReplicas = d.int32("minReplicas", ft.MinReplicas, DefaultMinReplicas)
		t.MaxReplicas = d.int32("maxReplicas", ft.MaxReplicas, 0)
		t.CooldownPeriod = d.duration("cooldownPeriod", ft.CooldownPeriod, DefaultCooldownPeriod)
		// nodeHints: true turns headroom on with the default lead time;
		// a nodeLeadTime turns it on with its own.
		def := time.Duration(0)
		switch h := ft.NodeHints.(type) {
		case nil:
		case bool:
			if h {
				def = DefaultNodeLeadTime
			}
		default:
			d.fail("nodeHints", h, "want true or false")
		}
		t.NodeLeadTime = d.duration("nodeLeadTime", ft.NodeLeadTime, def)
		t.Metadata = d.metadata(ft.Metadata)
		errs = append(errs, d.errs...)
	}
	return c, errors.Join(errs...)
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // exact integers, and errors that show numbers as written
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// jsonError names the path of a structural error: an unknown key or a
// mapping where a list belongs.
func jsonError(path string, err error) error {
	join := func(field string) string {
		if path == "" {
			return field
		}
		return path + "." + field
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := map[string]string{"slice": "a list", "struct": "a mapping", "map": "a mapping"}[te.Type.Kind().String()]
		if want == "" {
			want = te.Type.String()
		}
		p := path
		if te.Field != "" {
			p = join(te.Field)
		}
		if p == "" {
			p = "config"
		}
		return &FieldError{Path: p, Reason: fmt.Sprintf("want %s, not %s", want, te.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &FieldError{Path: join(strings.Trim(name, `"`)), Reason: "unknown key"}
	}
	if path == "" {
		path = "config"
	}
	return &FieldError{Path: path, Reason: err.Error()}
}

// decoder converts one entry's scalars, collecting an error per bad key.
type decoder struct {
	path string
	errs []error
}

func (d *decoder) fail(key string, v any, reason string, args ...any) {
	d.errs = append(d.errs, &FieldError{Path: d.path + "." + key, Value: show(v), Reason: fmt.Sprintf(reason, args...)})
}

// show renders a value as written: strings quoted (so blanks are visible),
// numbers and booleans bare.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return strconv.Quote(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

func (d *decoder) str(key string, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	d.fail(key, v, "want a string%s", quoteHint(v))
	return ""
}

// quoteHint explains a scalar that YAML did not read as a string. YAML
// (1.1, as Kubernetes reads it) turns yes, no, on, off, y and n into
// booleans and 010 into 8, so a bare value may not even be the one written.
func quoteHint(v any) string {
	switch v.(type) {
	case bool:
		return "; quote it: YAML reads yes, no, on, off, y and n as booleans"
	case json.Number:
		return "; quote it"
	}
	return ""
}

func (d *decoder) int32(key string, v any, def int32) int32 {
	var n int64
	var err error
	switch v := v.(type) {
	case nil:
		return def
	case json.Number:
		n, err = strconv.ParseInt(v.String(), 10, 64)
	case string: // minReplicas: "3" is a common slip; the value is still clear
		n, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	default:
		err = errors.New("not a number")
	}
	switch {
	case err != nil:
		d.fail(key, v, "want an integer")
	case n > math.MaxInt32 || n < math.MinInt32:
		d.fail(key, v, "must be between %d and %d", math.MinInt32, math.MaxInt32)
	default:
		return int32(n)
	}
	return 0
}

// duration reads a Go duration ("5m", "90s") or, as KEDA's cooldownPeriod
// is, a number of seconds.
func (d *decoder) duration(key string, v any, def time.Duration) time.Duration {
	switch v := v.(type) {
	case nil:
		return def
	case string:
		if dur, err := time.ParseDuration(strings.TrimSpace(v)); err == nil {
			return dur
		}
	case json.Number:
		// Bounded before converting: a huge number must not wrap around.
		if f, err := v.Float64(); err == nil && math.Abs(f) < float64(math.MaxInt64)/float64(time.Second) {
			return time.Duration(f * float64(time.Second))
		}
	}
	d.fail(key, v, "want a duration such as 5m or 90s, or a number of seconds")
	return 0
}

// metadata keeps values as KEDA forwards them: strings. A bare number or
// boolean is rejected, as a ScaledObject's schema rejects it, rather than
// converted: YAML has already rewritten it (010 is 8, no is false), so its
// text could silently name another consumer group or topic.
func (d *decoder) metadata(m map[string]any) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			out[k] = ""
		case string:
			out[k] = v
		case map[string]any, []any:
			d.fail("metadata."+k, v, "want a string; write nested YAML (such as hpaBehavior) as a block string with |")
		default:
			d.fail("metadata."+k, v, "want a string%s, as in a ScaledObject (lagThreshold: \"10\")", quoteHint(v))
		}
	}
	return out
}
