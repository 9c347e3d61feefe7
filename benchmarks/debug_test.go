package benchmarks

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDebugOther(t *testing.T) {
	c := startLagCluster(t, "events", 30, 20)
	c.ControlKey(-1, func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		t.Logf("node %d key %s v%d", c.CurrentNode(), kmsg.NameForKey(req.Key()), req.GetVersion())
		return nil, nil, false
	})
	qs, gs := sharedQueries(t, parseTriggers(t, c, 10))
	t.Log("---- open")
	u := openUpstream(t, qs[0])
	checkResults(t, c, u.Poll(context.Background(), pollTime, qs), gs)
	t.Log("---- second")
	checkResults(t, c, u.Poll(context.Background(), pollTime, qs), gs)
	t.Log("---- third")
	checkResults(t, c, u.Poll(context.Background(), pollTime, qs), gs)
}
