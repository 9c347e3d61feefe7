package kafka

import (
	"net"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/tide-scaler/tide/pkg/allow"
	"github.com/tide-scaler/tide/pkg/sources"
)

// cluster is how to reach one Kafka cluster: brokers and security. Every
// query parsed with the same brokers and credentials has an equal endpoint
// and therefore shares one Upstream.
type cluster struct {
	brokers  []string // sorted, unique
	sec      security
	allow    *allow.List // nil: any broker the cluster announces
	endpoint sources.Endpoint
}

func newCluster(brokers []string, sec security, upstreams *allow.List) *cluster {
	list := strings.Join(brokers, ",")
	return &cluster{
		brokers: brokers,
		sec:     sec,
		allow:   upstreams,
		endpoint: sources.Endpoint{
			Key:  "kafka|" + list + "|" + sec.describe(),
			Name: "kafka://" + list,
		},
	}
}

// lagOptions are the query options that change how offsets become lag.
type lagOptions struct {
	earliest                   bool // offsetResetPolicy: earliest
	scaleToZeroOnInvalidOffset bool
	excludePersistentLag       bool
	limitToPartitionsWithLag   bool
	// persistentPolls > 0 enables stuck detection (persistentLagPolls);
	// persistentTimeout is persistentLagTimeout.
	persistentPolls   int
	persistentTimeout time.Duration
}

// query is one consumer group's lag on some topics of one cluster. It holds
// everything that shapes the Sample and nothing else (no thresholds).
type query struct {
	cluster    *cluster
	group      string
	topics     []string // sorted, unique; empty: the group's committed topics
	opt        lagOptions
	partitions partitionSet // nil: every partition
	// consumers: count the group's members (lagTarget and drainGoal need
	// the per-consumer rate each poll, the cap needs the count now and then).
	consumers memberCount
	key       string
}

// memberCount is how often a query needs its group's members counted.
type memberCount uint8

const (
	noMembers       memberCount = iota
	membersForCap               // the raw mode's cap: a count at most rawMembersMaxAge old
	membersEachPoll             // lagTarget, drainGoal: the per-consumer rate
)

// rawMembersMaxAge bounds how old a member count the raw mode's cap may
// use: a DescribeGroups per group at most this often, not every poll.
const rawMembersMaxAge = 30 * time.Second

// emptyMembersMaxAge is rawMembersMaxAge for a group that had no members:
// an idle group (scaled to zero) is described every 2 min, not with every
// full poll; consumers that join show in its lag first, which the poll and
// the activation probe read anyway, and the cap (unstick) only matters once
// consumers have been at work for a while.
const emptyMembersMaxAge = 2 * time.Minute

func (m memberCount) String() string {
	switch m {
	case membersForCap:
		return "cap"
	case membersEachPoll:
		return "each-poll"
	}
	return "false"
}

func membersOf(replicasMode, capped bool) memberCount {
	switch {
	case replicasMode:
		return membersEachPoll
	case capped:
		return membersForCap
	}
	return noMembers
}

var _ sources.Query = (*query)(nil)

func newQuery(c *cluster, group string, topics []string, opt lagOptions, parts partitionSet, consumers memberCount) *query {
	q := &query{cluster: c, group: group, topics: topics, opt: opt, partitions: parts, consumers: consumers}
	policy := "latest"
	if opt.earliest {
		policy = "earliest"
	}
	// Quoted where a name may hold the separator: group ids are free text.
	q.key = strings.Join([]string{
		c.endpoint.Key,
		"group=" + strconv.Quote(group),
		"topics=" + strings.Join(topics, ","),
		"offsetResetPolicy=" + policy,
		"scaleToZeroOnInvalidOffset=" + strconv.FormatBool(opt.scaleToZeroOnInvalidOffset),
		"excludePersistentLag=" + strconv.FormatBool(opt.excludePersistentLag),
		"limitToPartitionsWithLag=" + strconv.FormatBool(opt.limitToPartitionsWithLag),
		"partitionLimitation=" + parts.String(),
		"persistentLagPolls=" + strconv.Itoa(opt.persistentPolls),
		"persistentLagTimeout=" + opt.persistentTimeout.String(),
		"consumers=" + consumers.String(),
	}, "|")
	return q
}

// Key identifies the reading: the upstream plus every option that changes
// the Sample.
func (q *query) Key() string { return q.key }

// Upstream names the cluster; its key holds a credential fingerprint, never
// a credential.
func (q *query) Upstream() sources.Endpoint { return q.cluster.endpoint }

// Open builds the cluster's shared client: a kafka-go Client on a Transport
// that carries TLS and SASL.
func (q *query) Open() (sources.Upstream, error) {
	c := q.cluster
	tr := &kafkago.Transport{
		ClientID: clientID,
		TLS:      c.sec.tls,
		SASL:     c.sec.mechanism,
		// The transport's own metadata loop only needs the broker list to
		// route requests by broker id: an empty, non-nil topic list asks
		// for brokers and no topics, so it stays cheap on big clusters.
		// Topic metadata is read by the poll, for watched topics only.
		MetadataTopics: []string{},
		MetadataTTL:    10 * time.Second,
		// Longer than any sane poll interval, so polls reuse connections
		// instead of paying TCP, TLS and SASL handshakes each time.
		IdleTimeout: 5 * time.Minute,
	}
	if c.allow != nil {
		// Every broker the cluster announces is checked, not only the
		// bootstrap servers the trigger names.
		tr.Dial = c.allow.DialContext(&net.Dialer{Timeout: 3 * time.Second})
	}
	return newUpstream(c, tr), nil
}

// clientID is sent to brokers so that operators can tell our requests apart.
const clientID = "tide-scaler"
