package redis

import (
	"fmt"
)

// groupInfo is one consumer group as XINFO GROUPS describes it.
type groupInfo struct {
	name          string
	lastDelivered string
	pending       int64
	lag           int64
	// lagKnown is false when Redis answered a nil lag (it cannot tell
	// after XDEL or trimming of undelivered entries) or no lag field at
	// all (Redis < 7). Neither may be read as 0.
	lagKnown bool
	// entriesRead counts the entries delivered to the group (Redis >= 7).
	// readKnown is false when Redis answered nil (a group created or moved
	// by SETID that has not read since) or has no such field (Redis < 7).
	entriesRead int64
	readKnown   bool
	// consumers counts every registered consumer, idle ones included.
	consumers int64
}

// parseGroups reads a raw XINFO GROUPS reply: an array of groups, each a
// map (RESP3) or a flat field-value array (RESP2), with string, integer and
// nil values. Unknown fields are ignored, so newer servers parse too.
func parseGroups(v any) ([]groupInfo, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("unexpected reply %T", v)
	}
	out := make([]groupInfo, 0, len(list))
	for _, item := range list {
		f, err := fields(item)
		if err != nil {
			return nil, err
		}
		var g groupInfo
		var okName, okID bool
		g.name, okName = f["name"].(string)
		g.lastDelivered, okID = f["last-delivered-id"].(string)
		if !okName || !okID {
			return nil, fmt.Errorf("group without name or last-delivered-id")
		}
		g.pending, _ = f["pending"].(int64)
		g.lag, g.lagKnown = f["lag"].(int64)
		if g.lag < 0 {
			g.lagKnown = false
		}
		g.entriesRead, g.readKnown = f["entries-read"].(int64)
		if g.entriesRead < 0 {
			g.readKnown = false
		}
		g.consumers, _ = f["consumers"].(int64)
		out = append(out, g)
	}
	return out, nil
}

// fields turns one group's description into a map from field name.
func fields(item any) (map[string]any, error) {
	switch x := item.(type) {
	case map[any]any:
		f := make(map[string]any, len(x))
		for k, v := range x {
			name, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("field name of type %T", k)
			}
			f[name] = v
		}
		return f, nil
	case []any:
		if len(x)%2 != 0 {
			return nil, fmt.Errorf("odd field list of %d items", len(x))
		}
		f := make(map[string]any, len(x)/2)
		for j := 0; j < len(x); j += 2 {
			name, ok := x[j].(string)
			if !ok {
				return nil, fmt.Errorf("field name of type %T", x[j])
			}
			f[name] = x[j+1]
		}
		return f, nil
	}
	return nil, fmt.Errorf("group of type %T", item)
}

func findGroup(groups []groupInfo, name string) (groupInfo, bool) {
	for _, g := range groups {
		if g.name == name {
			return g, true
		}
	}
	return groupInfo{}, false
}
