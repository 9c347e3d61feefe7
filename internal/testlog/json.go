package testlog

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Records parses text as slog JSON lines, one record per line. It returns
// every record it could parse and an error naming the first line that is
// not a JSON object with time, level and msg (output in another format) or
// that repeats a top-level key (which readers resolve differently).
func Records(text string) ([]map[string]any, error) {
	if text == "" {
		return nil, nil
	}
	var out []map[string]any
	var first error
	bad := 0
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		r, err := record(line)
		if err != nil {
			if bad++; first == nil {
				first = fmt.Errorf("line %d %w", i+1, err)
			}
			continue
		}
		out = append(out, r)
	}
	if bad > 1 {
		first = fmt.Errorf("%w (and %d more bad lines)", first, bad-1)
	}
	return out, first
}

func record(line string) (map[string]any, error) {
	var r map[string]any
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return nil, fmt.Errorf("is not JSON: %q", line)
	}
	if k := duplicateKey(line); k != "" {
		return nil, fmt.Errorf("has the key %q twice: %q", k, line)
	}
	for _, k := range []string{"time", "level", "msg"} {
		if _, ok := r[k]; !ok {
			return nil, fmt.Errorf("has no %q: %q", k, line)
		}
	}
	return r, nil
}

// Find is the first record whose msg contains msg and whose other
// attributes equal attrs (compared as fmt.Sprint of the value), or nil.
func Find(records []map[string]any, msg string, attrs map[string]string) map[string]any {
next:
	for _, r := range records {
		if m, _ := r["msg"].(string); !strings.Contains(m, msg) {
			continue
		}
		for k, v := range attrs {
			if fmt.Sprint(r[k]) != v {
				continue next
			}
		}
		return r
	}
	return nil
}

// duplicateKey is a top-level key the JSON object line holds twice, or "".
func duplicateKey(line string) string {
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := tok.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return ""
		}
	}
	return ""
}
