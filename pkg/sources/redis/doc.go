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
// Every trigger that reads one Redis deployment (same mode, addresses,
// database, user, TLS and credentials) shares one client, and each poll
// reads every watched key of one node in one pipeline: TYPE is asked once
// per key and cached, so steady-state polls send one depth command per key
// and one round trip per node (go-redis splits a cluster pipeline by slot
// owner). A key whose type changed answers WRONGTYPE and is asked again.
//
// Failures stay where they belong: a missing stream or consumer group fails
// only the triggers that read it (sources.ErrNotFound), an unreachable
// server or a rejected password fails every trigger of that deployment with
// an error naming its addresses, and no error ever holds a credential.
package redis
