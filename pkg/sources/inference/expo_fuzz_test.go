package inference

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const (
	ctText  = "text/plain; version=0.0.4; charset=utf-8"
	ctOM    = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	ctProto = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
)

// fuzzContentTypes are picked by the fuzzer's format byte; one more value
// takes its Content-Type string as it is.
var fuzzContentTypes = []string{ctText, ctOM, ctProto, ""}

// FuzzExposition: no scrape body panics the exposition parser, and every
// answer holds against references that do not share its code:
//   - a result keeps only wanted names and finite values, at most one
//     sample per line (text) or per 4 bytes (protobuf);
//   - text: whenever expfmt parses the whole body, the filtered parse agrees
//     with it sample for sample (filtering only drops what nobody reads);
//   - OpenMetrics: a result means the body ends in "# EOF";
//   - protobuf: a length prefix above the scrape limit or past the body's
//     end is an error, even when the bytes there decode, and whenever
//     expfmt's own decoder reads the body, the result agrees with it;
//   - memory is bounded by the body, never by what a prefix announces.
func FuzzExposition(f *testing.F) {
	st := podState{success: 42, waiting: 3, running: 7, kv: 0.25}
	var text, om bytes.Buffer
	writeVLLM(&text, st)
	st.openMetrics = true
	writeVLLM(&om, st)
	f.Add(uint8(0), "", text.Bytes())
	f.Add(uint8(1), "", om.Bytes())
	f.Add(uint8(2), "", protoOf(f, text.Bytes()))
	f.Add(uint8(3), "", []byte("vllm:num_requests_waiting{model_name=\"m\"} 3\n"))
	f.Add(uint8(0), "", []byte(" vllm:num_requests_waiting 3\n{\"vllm:num_requests_running\"} 2\nvllm:kv_cache_usage_perc NaN\n"+
		"vllm:num_requests_waiting{a=\"#\"} +Inf\n# TYPE tokens counter\ntokens 5\n\tqueue\t4\n"))
	f.Add(uint8(1), "", []byte("# TYPE tokens counter\ntokens_total{a=\"b\"} 1 # {trace_id=\"x\"} 0.5\n# EOF\n"))
	f.Add(uint8(2), "", []byte("\xff\xff\xff\xff\x0fjunk"))                        // 4 GiB announced
	f.Add(uint8(2), "", []byte("\xff\xff\xff\xff\xff\xff\xff\xff\x3fjunk"))        // 2^62 announced
	f.Add(uint8(2), "", append(binary.AppendUvarint(nil, maxScrapeBytes), "x"...)) // at the limit, bytes missing
	f.Add(uint8(2), "", append(binary.AppendUvarint(nil, maxScrapeBytes+1), "x"...))
	f.Add(uint8(4), "text/plain; version=1.0.0", []byte("x 1\n"))
	f.Add(uint8(4), "application/openmetrics-text", []byte("vllm:num_requests_waiting 1\n# EOF\n"))
	f.Add(uint8(1), "", []byte("vllm:num_requests_waiting 1\n# EOF tail\n")) // truncated: no final # EOF

	wanted := maps.Clone(vllmWanted)
	maps.Copy(wanted, wantedNames(&signalSpec{metrics: [numSignals]string{"tokens", "queue", "busy", "kv"}}))
	f.Fuzz(func(t *testing.T, format uint8, ct string, body []byte) {
		if int(format)%(len(fuzzContentTypes)+1) < len(fuzzContentTypes) {
			ct = fuzzContentTypes[int(format)%(len(fuzzContentTypes)+1)]
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e, err := parseExposition(body, ct, wanted)
		runtime.ReadMemStats(&after)
		if n, most := after.TotalAlloc-before.TotalAlloc, allocBound(len(body)); n > most {
			t.Errorf("a %d-byte body allocated %d bytes; want at most %d", len(body), n, most)
		}
		if err == nil {
			checkExposition(t, e, body, ct, wanted)
		}
		switch ct {
		case ctText, "":
			checkAgainstExpfmtText(t, e, err, body, wanted)
		case ctOM:
			if err == nil && !endsInEOF(body) {
				t.Errorf("OpenMetrics body without a final # EOF accepted")
			}
		case ctProto:
			checkProto(t, e, err, body, wanted)
		}
	})
}

// allocBound is what parsing a body may allocate: a constant for buffers
// and whatever runs alongside, and a multiple of the body for the samples
// it holds (expfmt builds a few small protobufs per sample).
func allocBound(n int) uint64 { return 4<<20 + 256*uint64(n) }

// checkExposition holds for every result of every format.
func checkExposition(t *testing.T, e exposition, body []byte, ct string, wanted map[string]bool) {
	t.Helper()
	n := 0
	for name, ss := range e {
		if !wanted[name] {
			t.Errorf("kept %q, which is not wanted", name)
		}
		for _, s := range ss {
			if math.IsNaN(s.value) || math.IsInf(s.value, 0) {
				t.Errorf("%s: value %v; a result holds finite values only", name, s.value)
			}
		}
		n += len(ss)
	}
	most := bytes.Count(body, []byte("\n")) + 1 // a sample is a line
	if ct == ctProto {
		most = len(body) / 4 // a family's metric field holding an empty gauge is 4 bytes
	}
	if n > most {
		t.Errorf("%d samples out of a %d-byte body; want at most %d", n, len(body), most)
	}
}

// checkAgainstExpfmtText compares the filtered text parse with expfmt
// parsing the whole body: when expfmt reads every line, dropping the lines
// nobody reads must not change the wanted samples.
func checkAgainstExpfmtText(t *testing.T, e exposition, err error, body []byte, wanted map[string]bool) {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, ferr := parser.TextToMetricFamilies(bytes.NewReader(body))
	if ferr != nil {
		return // a broken line anywhere: the filtered parse may still succeed
	}
	for name, mf := range fams {
		if typ := mf.GetType(); (typ == dto.MetricType_SUMMARY || typ == dto.MetricType_HISTOGRAM) &&
			(wanted[name] || wanted[name+"_sum"] || wanted[name+"_count"] || wanted[name+"_bucket"]) {
			return // its samples are lines the filtered parse reads untyped
		}
	}
	if err != nil {
		t.Fatalf("expfmt reads the whole body, the filtered parse fails: %v", err)
	}
	if got, want := canonical(e), expected(fams, wanted, false); !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("filtered parse %v; expfmt over the whole body %v", got, want)
	}
}

// checkProto walks the length prefixes itself and holds the result to them
// and to expfmt's decoder.
func checkProto(t *testing.T, e exposition, err error, body []byte, wanted map[string]bool) {
	t.Helper()
	frames, ferr := frameSizes(body)
	if ferr != nil {
		if err == nil {
			t.Fatalf("framing %v, yet the body parsed", ferr)
		}
		return
	}
	if err != nil {
		return // well framed, but a message does not decode
	}
	over := append(binary.AppendUvarint(nil, maxScrapeBytes+1), body...)
	if _, err := parseExposition(over, ctProto, wanted); err == nil {
		t.Errorf("a length prefix of %d bytes, over the %d-byte limit, accepted", maxScrapeBytes+1, maxScrapeBytes)
	}
	if len(frames) > 0 {
		// The last message again, announced one byte longer than it is:
		// what is there decodes, but the body was cut.
		last := frames[len(frames)-1]
		cut := append(binary.AppendUvarint(slices.Clone(body), uint64(len(last)+1)), last...)
		if _, err := parseExposition(cut, ctProto, wanted); err == nil {
			t.Errorf("a message announced %d bytes long with %d left accepted: a truncated body must be an error", len(last)+1, len(last))
		}
	}
	// Every prefix fits the body, so expfmt's unbounded reader is safe here.
	fams := map[string]*dto.MetricFamily{}
	dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.NewFormat(expfmt.TypeProtoDelim))
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return // expfmt validates names; the scaler need not
		}
		if fams[mf.GetName()] != nil {
			return // a repeated family: neither merging nor replacing is promised
		}
		fams[mf.GetName()] = mf
	}
	if got, want := canonical(e), expected(fams, wanted, true); !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("parsed %v; expfmt's decoder %v", got, want)
	}
}

// frameSizes is each message's bytes by its length prefix, or an error
// when a prefix is malformed, over the scrape limit or past the body's end.
func frameSizes(body []byte) ([][]byte, error) {
	var frames [][]byte
	for len(body) > 0 {
		size, n := binary.Uvarint(body)
		if n <= 0 {
			return nil, errors.New("malformed length prefix")
		}
		body = body[n:]
		if size > maxScrapeBytes || size > uint64(len(body)) {
			return nil, fmt.Errorf("prefix of %d bytes with %d left", size, len(body))
		}
		frames, body = append(frames, body[:size]), body[size:]
	}
	return frames, nil
}

// expected is the wanted samples of fams by the exposition formats' rules:
// counter, gauge and untyped samples with finite values; with renames, a
// counter family named without _total (OpenMetrics style, as protobuf
// carries it) answers for name_total.
func expected(fams map[string]*dto.MetricFamily, wanted map[string]bool, renames bool) map[string][]string {
	out := map[string][]string{}
	for name, mf := range fams {
		if renames && mf.GetType() == dto.MetricType_COUNTER && !wanted[name] {
			name += "_total"
		}
		if !wanted[name] {
			continue
		}
		for _, m := range mf.GetMetric() {
			var v *float64
			switch {
			case m.GetGauge() != nil:
				v = m.GetGauge().Value
			case m.GetCounter() != nil:
				v = m.GetCounter().Value
			case m.GetUntyped() != nil:
				v = m.GetUntyped().Value
			default:
				continue
			}
			x := 0.0
			if v != nil {
				x = *v
			}
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				out[name] = append(out[name], sampleKey(m.GetLabel(), x))
			}
		}
	}
	for _, ss := range out {
		slices.Sort(ss)
	}
	return out
}

// canonical is e in expected's form.
func canonical(e exposition) map[string][]string {
	out := map[string][]string{}
	for name, ss := range e {
		for _, s := range ss {
			out[name] = append(out[name], sampleKey(s.labels, s.value))
		}
		slices.Sort(out[name])
	}
	return out
}

func sampleKey(labels []*dto.LabelPair, v float64) string {
	parts := make([]string, 0, len(labels))
	for _, l := range labels {
		parts = append(parts, fmt.Sprintf("%q=%q", l.GetName(), l.GetValue()))
	}
	slices.Sort(parts)
	return fmt.Sprintf("{%s} %v", strings.Join(parts, ","), v)
}

// endsInEOF reports whether the body's last line with content is "# EOF".
func endsInEOF(body []byte) bool {
	lines := strings.Split(string(body), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l == "# EOF"
		}
	}
	return false
}

// protoOf re-encodes a text exposition as delimited protobuf.
func protoOf(tb testing.TB, text []byte) []byte {
	tb.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for _, name := range slices.Sorted(maps.Keys(fams)) {
		if err := enc.Encode(fams[name]); err != nil {
			tb.Fatal(err)
		}
	}
	return b.Bytes()
}
