package sources

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestPeekIsReadOnly: Peek answers what Read would (the last good sample,
// or the error Read returns) without registering a query, starting a
// sample or keeping an idle query alive.
func TestPeekIsReadOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMem("a")
		up.set("q", 5)
		f := newFixture(t, Options{PollInterval: time.Second, IdleTTL: 10 * time.Second})
		q := memQuery{up, "q"}
		if _, ok := f.e.Peek(q); ok {
			t.Fatal("Peek of an unknown query: ok")
		}
		synctest.Wait()
		if polls, _ := up.stats(); polls != 0 || f.e.Stats().Queries != 0 {
			t.Fatalf("Peek of an unknown query polled %d times, engine holds %+v; want nothing", polls, f.e.Stats())
		}

		start := time.Now()
		if _, err := f.e.Read(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		p, ok := f.e.Peek(q)
		if !ok || p.Err != nil || p.Last.Value != 5 || !p.Last.Time.Equal(start) {
			t.Fatalf("Peek = %+v, %v; want value 5 stamped %s, no error", p, ok, start)
		}

		boom := errors.New("connection refused")
		up.mu.Lock()
		up.errs["q"] = boom
		up.mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		p, ok = f.e.Peek(q)
		if _, rerr := f.e.Read(t.Context(), q); !ok || !errors.Is(p.Err, boom) || rerr.Error() != p.Err.Error() || p.Last.Value != 5 {
			t.Fatalf("after a failed poll Peek = %+v, %v; want Read's error %v and the last good value 5", p, ok, rerr)
		}

		// Peeking every second does not keep the query from going idle.
		for range 15 {
			time.Sleep(time.Second)
			synctest.Wait()
			f.e.Peek(q)
		}
		if got := f.e.Stats(); got.Queries != 0 {
			t.Errorf("after 15 s of peeks only (idle TTL 10 s) the engine holds %+v; want the query dropped", got)
		}
	})
}
