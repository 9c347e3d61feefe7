package inference

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// duration reads key as a Go duration ("60s", "800ms") or a bare number of
// bareUnit (seconds for windows; milliseconds for KEDA's prometheus
// timeout), def when unset, and checks lo <= d <= hi.
func duration(md metadata.Metadata, key string, def, bareUnit, lo, hi time.Duration) (time.Duration, error) {
	return md.Duration(key, def, bareUnit, lo, hi)
}

// floatIn reads key as a number in [lo, hi] (lo exclusive when open), def
// when unset.
func floatIn(md metadata.Metadata, key string, def, lo, hi float64, open bool) (float64, error) {
	f, err := md.Float(key, def, false)
	if err != nil {
		// Metadata.Float rejects negatives itself; keep its message.
		return 0, err
	}
	if f > hi || f < lo || (open && f == lo) {
		bound := "at least"
		if open {
			bound = "greater than"
		}
		return 0, metadata.Invalid(key, md.String(key, ""), "must be %s %g and at most %g", bound, lo, hi)
	}
	return f, nil
}

// labelMatch is one exact label match of labelSelector.
type labelMatch struct{ name, value string }

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// parseSelector reads labelSelector ("k=v,k2=v2", exact matches) and adds
// model_name=<modelName> when modelName is set. The result is sorted by
// name: it is part of the query key.
func parseSelector(md metadata.Metadata) ([]labelMatch, error) {
	var out []labelMatch
	seen := map[string]string{}
	for _, item := range md.List("labelSelector") {
		name, value, ok := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.Trim(strings.TrimSpace(value), `"`)
		if !ok || !labelNameRE.MatchString(name) || strings.HasPrefix(value, "=") || strings.HasPrefix(value, "~") {
			return nil, metadata.Invalid("labelSelector", item, "want label=value pairs separated by commas (exact matches)")
		}
		if _, dup := seen[name]; dup {
			return nil, metadata.Invalid("labelSelector", item, "label %q appears twice", name)
		}
		seen[name] = value
		out = append(out, labelMatch{name, value})
	}
	if m := md.String("modelName", ""); m != "" {
		if v, ok := seen["model_name"]; ok && v != m {
			return nil, metadata.Invalid("modelName", m, "contradicts labelSelector model_name=%s", v)
		}
		if _, ok := seen["model_name"]; !ok {
			out = append(out, labelMatch{"model_name", m})
		}
	}
	slices.SortFunc(out, func(a, b labelMatch) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

func selectorString(sel []labelMatch) string {
	parts := make([]string, len(sel))
	for i, m := range sel {
		parts[i] = m.name + "=" + strconv.Quote(m.value)
	}
	return strings.Join(parts, ",")
}

// metricNameOK accepts Prometheus metric names, colons included (vLLM's
// "vllm:num_requests_waiting").
var metricNameOK = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:.]*$`)

// httpURL parses an absolute http(s) URL with a host.
func httpURL(key, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, metadata.Invalid(key, shown(raw), "want an absolute http:// or https:// URL without credentials")
	}
	return u, nil
}

// hostPort is u's host:port, the port defaulting to the scheme's.
func hostPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return net.JoinHostPort(u.Hostname(), p)
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// shown is a comma list of URLs as an error may quote it: each URL without
// its userinfo, which may hold a password, and an unparsable element that
// has an @ replaced whole.
func shown(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		switch {
		case err == nil && u.User != nil:
			u.User = nil
			parts[i] = u.String() + " (credentials removed)"
		case err != nil && strings.Contains(p, "@"):
			parts[i] = "(unparsable URL with credentials)"
		}
	}
	return strings.Join(parts, ",")
}

// dnsLabel matches Kubernetes namespace and Service names (RFC 1123 label).
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
