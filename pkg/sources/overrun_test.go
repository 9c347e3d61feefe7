package sources

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestPollOverrunsCounted: a poll that takes the poll interval or longer
// counts one tide_poll_overruns_total for its upstream; quicker polls count
// none.
func TestPollOverrunsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMem("slow")
		f := newFixture(t, Options{PollInterval: time.Second, PollTimeout: 10 * time.Second, FirstSampleTimeout: 10 * time.Second})
		q := memQuery{up, "q"}
		if _, err := f.e.Read(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		overruns := f.m.PollOverruns.WithLabelValues("mem://slow")
		time.Sleep(3500 * time.Millisecond) // three quick background polls
		synctest.Wait()
		if n := testutil.ToFloat64(overruns); n != 0 {
			t.Errorf("quick polls: %v overruns; want 0", n)
		}
		up.mu.Lock()
		up.hang = 1500 * time.Millisecond
		up.mu.Unlock()
		time.Sleep(time.Second) // the next poll starts at 4 s and ends at 5.5 s
		synctest.Wait()
		if n := testutil.ToFloat64(overruns); n != 0 {
			t.Errorf("during the slow poll: %v overruns; want 0", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := testutil.ToFloat64(overruns); n != 1 {
			t.Errorf("after a 1.5 s poll at a 1 s interval: %v overruns; want 1", n)
		}
	})
}
