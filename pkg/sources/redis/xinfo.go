package redis

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// streamInfo is what a poll needs of XINFO STREAM.
type streamInfo struct {
	length int64
	// lastGenerated is the newest ID the stream ever issued (Redis >= 5):
	// a group at or past it has nothing left to read.
	lastGenerated string
	// firstEntry is the oldest entry's ID, "" when the stream is empty.
	firstEntry string
	// entriesAdded counts every entry ever added, deleted ones too: the
	// produced total for rates. Redis < 7 has no such field (addedKnown
	// false), and nothing else in Redis counts additions: XLEN falls with
	// XDEL and trimming, and the last ID's sequence restarts every
	// millisecond.
	entriesAdded int64
	addedKnown   bool
}

// parseStreamInfo reads a raw XINFO STREAM reply (a flat field-value array
// in RESP2, a map in RESP3). Unknown fields are ignored.
func parseStreamInfo(v any) (streamInfo, error) {
	f, err := fields(v)
	if err != nil {
		return streamInfo{}, err
	}
	var s streamInfo
	var okLen, okID bool
	s.length, okLen = f["length"].(int64)
	s.lastGenerated, okID = f["last-generated-id"].(string)
	if !okLen || !okID {
		return streamInfo{}, fmt.Errorf("stream without length or last-generated-id")
	}
	// first-entry is [id, [field, value, ...]], or nil when empty.
	if e, ok := f["first-entry"].([]any); ok && len(e) > 0 {
		if s.firstEntry, ok = e[0].(string); !ok {
			return streamInfo{}, fmt.Errorf("first-entry ID of type %T", e[0])
		}
	}
	s.entriesAdded, s.addedKnown = f["entries-added"].(int64)
	return s, nil
}

// activeIdle is how recently a consumer must have tried to read to count
// as one of the group's consumers. Redis keeps a consumer registered until
// XGROUP DELCONSUMER, so a group whose workers are pods collects one dead
// consumer per pod ever started; counted, they would divide the group's
// throughput among workers that do nothing and understate what one worker
// does. A live worker with a backlog reads again as soon as it finishes a
// batch, so its idle time stays far below this; one blocked in XREADGROUP
// BLOCK on an empty stream looks idle, but the rate per consumer is only
// learned while there is a backlog (see lagtime.Estimate.Step).
const activeIdle = time.Minute

// parseConsumers counts the consumers of a raw XINFO CONSUMERS reply whose
// idle time (milliseconds since their last read attempt) is below
// activeIdle. A consumer without an idle field counts.
func parseConsumers(v any) (int, error) {
	list, ok := v.([]any)
	if !ok {
		return 0, fmt.Errorf("unexpected reply %T", v)
	}
	n := 0
	for _, item := range list {
		f, err := fields(item)
		if err != nil {
			return 0, err
		}
		if idle, ok := f["idle"].(int64); !ok || idle < activeIdle.Milliseconds() {
			n++
		}
	}
	return n, nil
}

// streamID is a parsed stream entry ID, "<ms>-<seq>".
type streamID struct{ ms, seq uint64 }

// parseID reads an entry ID as Redis prints it; ok is false for anything
// else.
func parseID(s string) (id streamID, ok bool) {
	ms, seq, found := strings.Cut(s, "-")
	if !found {
		return streamID{}, false
	}
	var err1, err2 error
	id.ms, err1 = strconv.ParseUint(ms, 10, 64)
	id.seq, err2 = strconv.ParseUint(seq, 10, 64)
	return id, err1 == nil && err2 == nil
}

func (a streamID) less(b streamID) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq)
}

// ageOf is how long before now the entry with ID id was added, from the
// milliseconds Redis puts in IDs it generates (XADD *). An ID the producer
// chose (XADD with an explicit ID) holds whatever number it chose, and its
// age is then meaningless; nothing in the stream tells the two apart. An ID
// from the future (clocks apart) is 0 old.
func ageOf(id streamID, now time.Time) float64 {
	nowMs := now.UnixMilli()
	if nowMs < 0 || id.ms > uint64(nowMs) {
		return 0
	}
	return now.Sub(time.UnixMilli(int64(id.ms))).Seconds()
}
