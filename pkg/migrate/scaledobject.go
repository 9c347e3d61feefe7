package migrate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Document is one ScaledObject of a multi-document YAML file.
type Document struct {
	Name, Namespace string
	// Object is the whole document, as decoded.
	Object map[string]any
}

// ScaledObjects reads every document of a multi-document YAML stream and
// returns its ScaledObjects (kind ScaledObject), skipping every other
// document (Secrets, Deployments, ...). others counts the skipped ones.
func ScaledObjects(b []byte) (docs []Document, others int, err error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for i := 0; ; i++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, others, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("document %d: %w", i+1, err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(raw, &obj); err != nil {
			return nil, 0, fmt.Errorf("document %d: %w", i+1, err)
		}
		if obj == nil {
			continue // an empty document
		}
		if obj["kind"] != "ScaledObject" {
			others++
			continue
		}
		d := Document{Object: obj}
		if md, ok := obj["metadata"].(map[string]any); ok {
			d.Name, _ = md["name"].(string)
			d.Namespace, _ = md["namespace"].(string)
		}
		docs = append(docs, d)
	}
}

// ErrPick wraps Pick's errors: no ScaledObject, none of that name, or
// several and no name.
var ErrPick = errors.New("pick a ScaledObject")

// Pick is the ScaledObject named name, or the only one when name is "".
func Pick(docs []Document, name string) (Document, error) {
	var names []string
	for _, d := range docs {
		if name != "" && d.Name == name {
			return d, nil
		}
		names = append(names, strconv.Quote(d.Name))
	}
	switch {
	case len(docs) == 0:
		return Document{}, fmt.Errorf("%w: there is none", ErrPick)
	case name != "":
		return Document{}, fmt.Errorf("%w: none is named %q (there are %v)", ErrPick, name, names)
	case len(docs) > 1:
		return Document{}, fmt.Errorf("%w: there are %d (%v); name one", ErrPick, len(docs), names)
	}
	return docs[0], nil
}

// Triggers are a ScaledObject's spec.triggers.
func (d Document) Triggers() []map[string]any {
	spec, _ := d.Object["spec"].(map[string]any)
	list, _ := spec["triggers"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, t := range list {
		if m, ok := t.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// Stringify turns a trigger's YAML metadata into the strings KEDA sends
// (YAML reads lagThreshold: 10 as a number).
func Stringify(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case nil:
			out[k] = ""
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// Target is where converted triggers point.
type Target struct {
	ScalerAddress string
	// Push makes converted triggers external-push (activation streamed),
	// else external.
	Push bool
	// AuthRef, when set, is the authenticationRef of the connection to
	// Tide (the CA of its TLS), e.g. {name: tide-ca, kind:
	// ClusterTriggerAuthentication}.
	AuthRef map[string]any
}

// Report is what Rewrite did to one ScaledObject.
type Report struct {
	Converted int
	Notes     []string
	Problems  []string
}

// Rewrite converts d's built-in kafka, redis, redis-streams and prometheus
// triggers in place to Tide triggers at t; external triggers and other
// types stay as they are.
func (d Document) Rewrite(t Target) Report {
	var rep Report
	for i, tr := range d.Triggers() {
		typ, _ := tr["type"].(string)
		where := fmt.Sprintf("ScaledObject %s trigger %d (%s)", d.Name, i, typ)
		if typ == "external" || typ == "external-push" {
			continue
		}
		if _, ok := Lookup(typ); !ok {
			rep.Notes = append(rep.Notes, where+": not a type Tide converts; left as is")
			continue
		}
		res := Convert(typ, Stringify(tr["metadata"]))
		for _, n := range res.Notes {
			rep.Notes = append(rep.Notes, where+": "+n)
		}
		for _, p := range res.Problems {
			rep.Problems = append(rep.Problems, where+": "+p)
		}
		if ref, ok := tr["authenticationRef"].(map[string]any); ok {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: authenticationRef %v: KEDA does not forward TriggerAuthentication "+
				"parameters to external scalers; give each as <key>FromEnv or <key>File in the metadata", where, ref["name"]))
		}
		md := map[string]any{"scalerAddress": t.ScalerAddress}
		for _, k := range slices.Sorted(maps.Keys(res.Metadata)) {
			md[k] = res.Metadata[k]
		}
		tr["metadata"] = md
		tr["type"] = "external"
		if t.Push {
			tr["type"] = "external-push"
		}
		delete(tr, "authenticationRef")
		if t.AuthRef != nil {
			tr["authenticationRef"] = maps.Clone(t.AuthRef)
		}
		rep.Converted++
	}
	return rep
}

// YAML is the document as YAML.
func (d Document) YAML() ([]byte, error) { return yaml.Marshal(d.Object) }
