// Package redis measures Redis queue depth for Tide, with
// github.com/redis/go-redis/v9 on the wire and without EVAL: many managed
// Redis services deny scripting through ACLs, and depth needs none.
//
// Parse turns a trigger's scalerMetadata (KEDA's redis and redis-streams
// scaler keys and defaults) into a *Trigger once. A trigger reads either
//
//   - keys (listName): the summed length of lists, sorted sets, sets and
//     hashes, by name, by comma list, or by glob pattern (SCAN MATCH,
//     refreshed every 30 s of poll time, never KEYS); or
//   - one stream (stream): its length (XLEN), a consumer group's pending
//     entries (XPENDING), or a group's lag (XINFO GROUPS, with an XRANGE
//     count when Redis cannot tell the lag).
//
// Every stream query with a consumer group also measures the group's Flow
// (sources.Flow), as Kafka queries do:
//
//   - LagSeconds, exact: the age of the oldest entry not yet delivered to
//     the group, from the milliseconds in its ID and the poll's now. It is
//     the first entry after the group's last-delivered-id; XINFO STREAM
//     answers it for a group that is caught up or behind the stream's first
//     entry, otherwise one XRANGE (id + COUNT 1 finds it (or the first page
//     of the lag count). IDs a producer chose (XADD with an explicit ID)
//     are read as milliseconds all the same, and their age is meaningless;
//     nothing in the stream tells.
//   - Produced and Consumed rates and the rate one consumer sustains, from
//     XINFO STREAM's entries-added and the group's entries-read between
//     polls (pkg/lagtime, one estimate per query, forgotten after 15 minutes
//     unread). Both counters are Redis 7's; Redis 6 gets LagSeconds and
//     Consumers, rates 0, and a note.
//   - Consumers: the group's consumers that tried to read within the last
//     minute (XINFO CONSUMERS). Redis keeps consumers registered until
//     XGROUP DELCONSUMER, so the group's own count includes every worker
//     that ever read, dead ones too.
//
// With metricMode: replicas, lagTarget (lag mode only) sizes the workload
// to keep up with production and drain the lag within the target, from
// those rates; lagCount decides until they are known.
//
// Every trigger that reads one Redis deployment (same mode, addresses,
// database, user, TLS and credentials) shares one client, and each poll
// reads every watched key of one node in pipelines of at most 1,000
// commands: TYPE is asked once per key and cached, so steady-state polls
// send no TYPE and one round trip per node and per 1,000 commands (go-redis
// splits a cluster pipeline by slot owner). A key whose type changed
// answers WRONGTYPE and is asked again. Outside cluster mode reads are
// paced (pace.go): idle keys (missing or empty) are checked 100 at a time
// with one EXISTS every poll, so activation is still seen by the next poll;
// keys whose depth moved within 10 s of poll time are read every poll; a
// key whose depth stood still for 10 s is read every 3rd poll, behind a
// PING, and its last depth served in between.
// Between polls the engine probes the triggers with no activity (probe.go,
// sources.Prober): their idle keys get one EXISTS per 100 keys (per key in
// cluster mode), a chunk that finds one is asked key by key, and only the
// triggers whose key appeared are polled at once, so activation reaches
// StreamIsActive within one probe interval (TestProbeWakesWatcherThroughEngine).
// A consumer group adds three XINFO commands to that pipeline, and a second
// round trip, shared by every group, only when a group has undelivered
// entries in the middle of its stream: the XRANGE needs the group's
// position, which arrives in the same pipeline, and reading "the entry
// after the group's position" in one step would take a script.
//
// Failures stay where they belong: a missing stream or consumer group fails
// only the triggers that read it (sources.ErrNotFound), an unreachable
// server or a rejected password fails every trigger of that deployment with
// an error naming its addresses, and no error ever holds a credential. A
// read that only feeds the Flow (XINFO STREAM or CONSUMERS, say, denied by
// an ACL) costs the Flow or part of it, with a note, never the depth.
package redis
