package inference

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// series is one sample of a scraped exposition.
type series struct {
	labels []*dto.LabelPair
	value  float64
}

// exposition holds the samples of the wanted metric names, by sample name
// ("vllm:request_success_total").
type exposition map[string][]series

// parseExposition decodes a scrape body by its Content-Type with
// prometheus/common/expfmt: the text format (0.0.4), OpenMetrics 1.0 and
// delimited protobuf. Only samples whose name is in wanted are kept.
//
// For the text formats, lines of other metrics are dropped before expfmt
// sees them: a vLLM pod exposes ~200 series, mostly histogram buckets, of
// which a trigger reads a handful, and expfmt builds a protobuf per sample
// it parses (see BenchmarkParse). The price is that a malformed line of a
// metric nobody reads goes unnoticed, which is also what a scaler should
// want. OpenMetrics exemplars, which expfmt's text parser does not know,
// are cut, and a missing "# EOF" is an error: the body was truncated.
func parseExposition(body []byte, contentType string, wanted map[string]bool) (exposition, error) {
	mediatype, params, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		mediatype, err = "text/plain", nil
	}
	if err != nil {
		return nil, fmt.Errorf("unreadable Content-Type %q", contentType)
	}
	switch mediatype {
	case "text/plain":
		if v, ok := params["version"]; ok && v != expfmt.TextVersion {
			return nil, fmt.Errorf("unsupported text exposition version %q", v)
		}
		return parseText(body, false, wanted)
	case "application/openmetrics-text":
		if v := params["version"]; v != "" && v != "1.0.0" && v != "0.0.1" {
			return nil, fmt.Errorf("unsupported OpenMetrics version %q", v)
		}
		return parseText(body, true, wanted)
	case expfmt.ProtoType:
		return parseProto(body, expfmt.ResponseFormat(http.Header{"Content-Type": {contentType}}), wanted)
	}
	return nil, fmt.Errorf("unsupported Content-Type %q (want Prometheus text or OpenMetrics)", contentType)
}

// parseText filters the body down to the wanted samples and parses them.
func parseText(body []byte, openMetrics bool, wanted map[string]bool) (exposition, error) {
	var out bytes.Buffer
	var lines []int // original line number of each kept line, for errors
	eof := false
	for n := 1; len(body) > 0; n++ {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte("\n"))
		// expfmt skips blanks before a line's first token; so must the filter.
		line = bytes.TrimLeft(bytes.TrimRight(line, "\r"), " \t")
		switch {
		case len(bytes.TrimSpace(line)) == 0:
			continue
		case eof:
			return nil, fmt.Errorf("line %d: content after # EOF", n)
		case line[0] == '#':
			eof = openMetrics && string(bytes.TrimSpace(line)) == "# EOF"
			continue
		case line[0] != '{' && !wanted[sampleName(line)]:
			continue
		}
		if openMetrics {
			line = cutExemplar(line)
		}
		out.Write(line)
		out.WriteByte('\n')
		lines = append(lines, n)
	}
	if openMetrics && !eof {
		return nil, errors.New("OpenMetrics exposition does not end in # EOF (truncated?)")
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(&out)
	if err != nil {
		var pe expfmt.ParseError
		if errors.As(err, &pe) && pe.Line >= 1 && pe.Line <= len(lines) {
			return nil, fmt.Errorf("line %d: %s", lines[pe.Line-1], pe.Msg)
		}
		return nil, err
	}
	return collect(fams, wanted), nil
}

// sampleName is the metric name a sample line starts with.
func sampleName(line []byte) string {
	end := bytes.IndexAny(line, "{ \t")
	if end < 0 {
		end = len(line)
	}
	return string(line[:end]) // the compiler does not allocate for a map lookup
}

// cutExemplar removes an OpenMetrics exemplar (" # {...} v [ts]") from a
// sample line, skipping '#' inside quoted label values.
func cutExemplar(line []byte) []byte {
	inQuote, escaped := false, false
	for i, c := range line {
		switch {
		case escaped:
			escaped = false
		case inQuote && c == '\\':
			escaped = true
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '#':
			return bytes.TrimRight(line[:i], " \t")
		}
	}
	return line
}

func parseProto(body []byte, f expfmt.Format, wanted map[string]bool) (exposition, error) {
	if f.FormatType() != expfmt.TypeProtoDelim {
		return nil, fmt.Errorf("unsupported protobuf exposition %q", f)
	}
	// Decoded here rather than with expfmt's decoder, which reads with no
	// size limit: a 14-byte body announcing a 2^62-byte message would
	// allocate that much, or panic in makeslice. Each message is unmarshalled
	// in place, so a prefix can cost no more than the body holds.
	fams := map[string]*dto.MetricFamily{}
	for len(body) > 0 {
		size, n := binary.Uvarint(body)
		if n <= 0 {
			return nil, errors.New("malformed protobuf exposition: unreadable length prefix")
		}
		body = body[n:]
		if size > maxScrapeBytes || size > uint64(len(body)) {
			return nil, fmt.Errorf("malformed protobuf exposition: a message of %d bytes with %d left (limit %d)", size, len(body), maxScrapeBytes)
		}
		mf := &dto.MetricFamily{}
		if err := proto.Unmarshal(body[:size], mf); err != nil {
			return nil, fmt.Errorf("malformed protobuf exposition: %w", err)
		}
		fams[mf.GetName()] = mf
		body = body[size:]
	}
	return collect(fams, wanted), nil
}

// collect keeps the counter, gauge and untyped samples of wanted names.
// OpenMetrics names a counter family without its _total suffix, so a
// counter family also yields its samples under name + "_total".
func collect(fams map[string]*dto.MetricFamily, wanted map[string]bool) exposition {
	e := exposition{}
	for name, mf := range fams {
		if !wanted[name] && mf.GetType() == dto.MetricType_COUNTER && wanted[name+"_total"] {
			name += "_total"
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM && wanted[name+"_bucket"] {
			e[name+"_bucket"] = append(e[name+"_bucket"], histogramBuckets(mf.GetMetric())...)
			continue
		}
		if !wanted[name] {
			continue
		}
		for _, m := range mf.GetMetric() {
			var v float64
			switch {
			case m.Gauge != nil:
				v = m.GetGauge().GetValue()
			case m.Counter != nil:
				v = m.GetCounter().GetValue()
			case m.Untyped != nil:
				v = m.GetUntyped().GetValue()
			default:
				continue // histograms and summaries carry no single value
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue // no reading, which is not a zero
			}
			e[name] = append(e[name], series{labels: m.GetLabel(), value: v})
		}
	}
	return e
}

// histogramBuckets turns protobuf histograms into the <name>_bucket{le}
// samples the text formats carry, the +Inf bucket being the sample count.
func histogramBuckets(ms []*dto.Metric) []series {
	var out []series
	for _, m := range ms {
		h := m.GetHistogram()
		if h == nil {
			continue
		}
		add := func(le string, v float64) {
			labels := append(slices.Clone(m.GetLabel()), &dto.LabelPair{Name: proto.String("le"), Value: proto.String(le)})
			out = append(out, series{labels: labels, value: v})
		}
		sawInf := false
		for _, b := range h.GetBucket() {
			ub := b.GetUpperBound()
			sawInf = sawInf || math.IsInf(ub, 1)
			add(strconv.FormatFloat(ub, 'g', -1, 64), float64(b.GetCumulativeCount()))
		}
		if !sawInf {
			add("+Inf", float64(h.GetSampleCount()))
		}
	}
	return out
}

// matches reports whether a sample carries every selected label value; an
// absent label has the empty value, as in PromQL.
func matches(labels []*dto.LabelPair, sel []labelMatch) bool {
	for _, m := range sel {
		v := ""
		for _, l := range labels {
			if l.GetName() == m.name {
				v = l.GetValue()
				break
			}
		}
		if v != m.value {
			return false
		}
	}
	return true
}

// wantedNames is the set of sample names a set of signal specs reads.
func wantedNames(specs ...*signalSpec) map[string]bool {
	w := map[string]bool{}
	for _, s := range specs {
		for i, m := range s.metrics {
			w[m] = true
			if i == sigRate && !strings.HasSuffix(m, "_total") {
				w[m+"_total"] = true
			}
		}
		s.observed.addWanted(w)
	}
	return w
}
