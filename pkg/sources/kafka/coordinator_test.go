package kafka

import (
	"fmt"
	"testing"
)

// TestCoordinatorsCached: each group's coordinator is looked up on its first
// poll only; later polls send one OffsetFetch per group and no
// FindCoordinator.
func TestCoordinatorsCached(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 3, "orders")
	c.produce(t, "orders", map[int32]int{0: 5, 1: 5, 2: 5})
	var trs []*Trigger
	for g := range 4 {
		group := fmt.Sprintf("g%d", g)
		c.commit(t, group, map[string]map[int32]int64{"orders": {0: 1, 1: 2, 2: 3}})
		trs = append(trs, mustParse(t, c, map[string]string{"consumerGroup": group, "topic": "orders"}))
	}
	u := open(t, trs[0])
	for poll := 1; poll <= 3; poll++ {
		for i, r := range pollAt(t, u, trs...) {
			if s := mustSample(t, r); s.Value != 9 {
				t.Fatalf("poll %d, group %d: lag %v, want 9", poll, i, s.Value)
			}
		}
		st := u.Stats()
		if st.FindCoordinatorRequests != 4 || st.OffsetFetchRequests != int64(4*poll) {
			t.Fatalf("after poll %d: %d FindCoordinator and %d OffsetFetch, want 4 and %d",
				poll, st.FindCoordinatorRequests, st.OffsetFetchRequests, 4*poll)
		}
	}
}
