package redis

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tide-scaler/tide/pkg/sources"
)

// query is one measurement of one deployment. It holds everything that
// shapes the Sample and nothing else (no thresholds).
type query struct {
	dep    *deployment
	kind   readKind
	names  []string // readKeys: sorted, unique key names and glob patterns
	stream string
	group  string
	key    string
	// static holds the members of a readKeys query without patterns,
	// built once: such a query needs no expansion per poll.
	static []member
}

var _ sources.Query = (*query)(nil)

func newQuery(d *deployment, kind readKind, names []string, stream, group string) *query {
	q := &query{dep: d, kind: kind, names: names, stream: stream, group: group}
	// Quoted: key names are free text and may hold the separators.
	parts := []string{d.endpoint.Key, "read=" + kind.String()}
	if kind == readKeys {
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = strconv.Quote(n)
		}
		parts = append(parts, "names="+strings.Join(quoted, ","))
	} else {
		parts = append(parts, "stream="+strconv.Quote(stream), "group="+strconv.Quote(group))
	}
	q.key = strings.Join(parts, "|")
	if kind == readKeys && !slices.ContainsFunc(names, isGlob) {
		q.static = make([]member, len(names))
		for i, n := range names {
			q.static[i] = member{key: n}
		}
	}
	return q
}

// Key identifies the reading: the deployment plus what is read.
func (q *query) Key() string { return q.key }

// Upstream names the deployment; its key holds a credential fingerprint,
// never a credential.
func (q *query) Upstream() sources.Endpoint { return q.dep.endpoint }

// Open builds the deployment's shared client. It does no I/O: go-redis
// connects on first use, so a deployment that is down fails the poll, where
// the error is reported per query, instead of the trigger's registration.
func (q *query) Open() (sources.Upstream, error) {
	return newUpstream(q.dep), nil
}

// isGlob reports whether a listName item is a pattern for SCAN MATCH rather
// than a key name. A key whose name holds *, ? or [ can still be named
// exactly by escaping them with a backslash, which MATCH honours.
func isGlob(name string) bool { return strings.ContainsAny(name, "*?[") }
