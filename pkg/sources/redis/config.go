package redis

import (
	"slices"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Defaults from KEDA's redis and redis-streams scalers.
const (
	defaultListLength          = 5
	defaultStreamLength        = 5
	defaultPendingEntriesCount = 5
	defaultActivation          = 0
)

// readKind is what a query measures.
type readKind int

const (
	readKeys    readKind = iota // listName: summed length of lists, sets, sorted sets, hashes
	readLength                  // stream without consumerGroup: XLEN
	readPending                 // stream with consumerGroup: XPENDING count
	readLag                     // stream with consumerGroup and lagCount: the group's lag
)

func (k readKind) String() string {
	return [...]string{"keys", "length", "pending", "lag"}[k]
}

// Trigger is one parsed redis trigger: what to read (its Query) and how to
// turn the reading into a metric value.
type Trigger struct {
	query      *query
	target     float64
	activation float64
	metricName string
	// lagTarget > 0 decides replicas from rates (lag mode, metricMode
	// replicas). It shapes no reading: every query with a group measures
	// its Flow anyway, so it is not part of the query key.
	lagTarget time.Duration
}

// Parse validates a trigger's scalerMetadata and builds its Trigger. Keys and
// defaults follow KEDA's redis (lists) and redis-streams scalers; redisType
// picks standalone (default), cluster or sentinel, which KEDA spells as
// separate trigger types. Every error is a *metadata.ConfigError naming the
// key and, unless it is a credential, the bad value.
//
// Stricter than KEDA where silence would measure the wrong thing: exactly
// one of listName and stream; list keys with stream and stream keys with
// listName are errors; lagCount and pendingEntriesCount need consumerGroup;
// several addresses need redisType cluster or sentinel; TLS material needs
// enableTLS. Thresholds of another stream mode (streamLength with
// consumerGroup, pendingEntriesCount with lagCount) are validated and
// ignored, as in KEDA, whose documented example sets them all.
func Parse(md metadata.Metadata, pol sources.Policy) (*Trigger, error) {
	r, err := parseRead(md)
	if err != nil {
		return nil, err
	}
	dep, err := parseDeployment(md, pol)
	if err != nil {
		return nil, err
	}
	q := newQuery(dep, r.kind, r.names, r.stream, r.group)
	return &Trigger{query: q, target: r.target, activation: r.activation, metricName: metricName(q),
		lagTarget: r.lagTarget}, nil
}

// read is the parsed "what to measure" part of the metadata.
type read struct {
	kind       readKind
	names      []string // readKeys: sorted, unique key names and patterns
	stream     string
	group      string
	target     float64
	activation float64
	lagTarget  time.Duration
}

// listOnly and streamOnly are the keys of one trigger kind; setting them on
// the other is an error, since it means the user expects a measurement
// they would not get.
var (
	listOnly   = []string{"listLength", "activationListLength"}
	streamOnly = []string{"consumerGroup", "streamLength", "pendingEntriesCount", "lagCount", "activationLagCount", keyLagTarget}
)

func parseRead(md metadata.Metadata) (read, error) {
	list, stream := md.String("listName", ""), md.String("stream", "")
	switch {
	case list != "" && stream != "":
		return read{}, metadata.Invalid("listName", list, "stream is also set: set exactly one of listName and stream")
	case list == "" && stream == "":
		return read{}, &metadata.ConfigError{Key: "listName",
			Reason: "is required: set exactly one of listName (lists, sets, sorted sets, hashes) and stream"}
	case list != "":
		return parseKeys(md, list)
	}
	return parseStream(md, stream)
}

func parseKeys(md metadata.Metadata, list string) (read, error) {
	if err := forbid(md, streamOnly, "is for stream triggers, not listName"); err != nil {
		return read{}, err
	}
	r := read{kind: readKeys, names: md.List("listName")}
	if len(r.names) == 0 {
		return read{}, metadata.Invalid("listName", list, "names no key")
	}
	slices.Sort(r.names)
	r.names = slices.Compact(r.names)
	var err error
	if r.target, err = md.Float("listLength", defaultListLength, true); err != nil {
		return read{}, err
	}
	if r.activation, err = md.Float("activationListLength", defaultActivation, false); err != nil {
		return read{}, err
	}
	return r, nil
}

// parseStream picks the mode as KEDA does: consumerGroup and lagCount read
// the lag, consumerGroup alone the pending entries, neither the length.
func parseStream(md metadata.Metadata, stream string) (read, error) {
	if err := forbid(md, listOnly, "is for listName triggers, not stream"); err != nil {
		return read{}, err
	}
	r := read{stream: stream, group: md.String("consumerGroup", "")}
	// Parse every threshold that is set, so a typo fails even where the
	// mode ignores it.
	length, err := md.Float("streamLength", defaultStreamLength, true)
	if err != nil {
		return read{}, err
	}
	pending, err := md.Float("pendingEntriesCount", defaultPendingEntriesCount, true)
	if err != nil {
		return read{}, err
	}
	lag, err := md.Float("lagCount", 0, true)
	if err != nil {
		return read{}, err
	}
	if r.activation, err = md.Float("activationLagCount", defaultActivation, false); err != nil {
		return read{}, err
	}
	switch {
	case r.group == "":
		if err := forbid(md, []string{"lagCount", "pendingEntriesCount"}, "requires consumerGroup"); err != nil {
			return read{}, err
		}
		r.kind, r.target = readLength, length
	case md.Has("lagCount"):
		r.kind, r.target = readLag, lag
	default:
		r.kind, r.target = readPending, pending
	}
	if r.lagTarget, err = parseLagTarget(md, r.kind); err != nil {
		return read{}, err
	}
	return r, nil
}

// lagTarget bounds, as Kafka's: below a second is below the poll interval;
// above a day is a typo.
const (
	keyLagTarget = "lagTarget"
	minLagTarget = time.Second
	maxLagTarget = 24 * time.Hour
)

// parseLagTarget reads lagTarget, which asks for the fewest replicas that
// keep up with production and drain the group's lag within the target. It
// decides a replica count, so it needs metricMode: replicas (the trigger
// core checks it: NeedsReplicasMode), and it drains the lag, so it needs
// lag mode: consumerGroup and lagCount. In
// pending mode the value is the entries delivered and not acknowledged,
// which are being worked on rather than waiting; draining those would keep
// pace with production but never catch up with a backlog. lagCount's
// threshold decides until the rates are known, or on Redis < 7, which
// counts neither entries added nor entries read.
func parseLagTarget(md metadata.Metadata, kind readKind) (time.Duration, error) {
	if !md.Has(keyLagTarget) {
		return 0, nil
	}
	v := md.String(keyLagTarget, "")
	d, err := md.Duration(keyLagTarget, 0, time.Second, minLagTarget, maxLagTarget)
	if err != nil {
		return 0, err
	}
	if kind != readLag {
		return 0, metadata.Invalid(keyLagTarget, v,
			"requires consumerGroup and lagCount (lag mode): it drains the group's lag, which %s mode does not measure, and lagCount decides until rates are known", kind)
	}
	return d, nil
}

// forbid fails on the first of keys that is set.
func forbid(md metadata.Metadata, keys []string, reason string) error {
	for _, k := range keys {
		if md.Has(k) {
			return metadata.Invalid(k, strings.TrimSpace(md[k]), "%s", reason)
		}
	}
	return nil
}
