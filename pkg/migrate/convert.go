package migrate

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Result is a KEDA trigger's metadata converted to Tide's.
type Result struct {
	// Metadata is Tide's trigger metadata: source, the keys the type
	// implies and the converted keys (not scalerAddress).
	Metadata map[string]string
	// Notes say what was dropped and what changes in meaning.
	Notes []string
	// Problems are what cannot be converted; a trigger with any is an
	// invalid trigger (exit code 3).
	Problems []string
}

// Convert turns the metadata of a KEDA trigger of type kedaType into Tide's.
// Keys KEDA does not read are dropped with a note (KEDA ignores them; Tide
// would refuse them); keys Tide cannot honour are problems, and left out.
func Convert(kedaType string, md map[string]string) Result {
	m, ok := Lookup(kedaType)
	if !ok {
		return Result{Problems: []string{fmt.Sprintf("trigger type %q: Tide converts %s", kedaType, strings.Join(Types(), ", "))}}
	}
	r := Result{Metadata: map[string]string{"source": m.Source}}
	maps.Copy(r.Metadata, m.Fixed)
	byName := map[string]Key{}
	for _, k := range m.Keys {
		byName[k.KEDA] = k
	}
	for _, name := range slices.Sorted(maps.Keys(md)) {
		v := md[name]
		k, known := byName[name]
		switch {
		case !known:
			r.Notes = append(r.Notes, fmt.Sprintf("key %q: KEDA's %s trigger does not read it; dropped", name, kedaType))
		case k.Fate == Dropped:
			r.Notes = append(r.Notes, fmt.Sprintf("key %q: dropped (%s)", name, k.Note))
		case k.Fate == Unsupported:
			r.Problems = append(r.Problems, fmt.Sprintf("key %q: not supported (%s)", name, k.Note))
		case k.Fate == Renamed && k.Tide == "queryParameters": // prometheus namespace
			r.Metadata["queryParameters"] = joinParam(r.Metadata["queryParameters"], name+"="+v)
			r.Notes = append(r.Notes, fmt.Sprintf("key %q: now queryParameters namespace=%s", name, v))
		case k.Fate == Renamed:
			r.Metadata[k.Tide] = v
			r.Notes = append(r.Notes, fmt.Sprintf("key %q: renamed %s", name, k.Tide))
		case name == "queryParameters":
			r.Metadata[name] = joinParam(v, r.Metadata[name])
		default:
			r.Metadata[name] = v
		}
	}
	r.Problems = append(r.Problems, valueProblems(kedaType, r.Metadata)...)
	return r
}

// valueProblems are values Tide refuses although the key is the same.
func valueProblems(kedaType string, md map[string]string) []string {
	var p []string
	if kedaType == "kafka" && strings.EqualFold(md["sasl"], "gssapi") {
		p = append(p, `key "sasl": gssapi is not supported (no Kerberos client)`)
		delete(md, "sasl")
	}
	if m := md["authModes"]; m != "" {
		for _, mode := range strings.Split(m, ",") {
			if mode = strings.TrimSpace(mode); mode == "oauth" || mode == "apiKey" {
				p = append(p, fmt.Sprintf("key \"authModes\": %s is not supported (bearer, basic, tls, custom)", mode))
			}
		}
	}
	return p
}

func joinParam(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "," + b
}

// Types are the KEDA trigger types Convert takes.
func Types() []string {
	var t []string
	for _, m := range Mappings {
		t = append(t, m.Type)
	}
	return t
}
