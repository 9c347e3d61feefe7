package nodehints

import (
	"context"
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// TestNoWriteOnceTheContextEnds: the caller's term ends right after the
// writer's first read (the fakes, like a slow client, ignore contexts):
// nothing is created, updated or deleted, in either mode, and Sync says so.
func TestNoWriteOnceTheContextEnds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		withCRD  bool
		before   []int32 // headroom synced before the term ends
		headroom int32
		delete   bool
	}{
		{name: "balloon create", headroom: 3},
		{name: "balloon update", before: []int32{3}, headroom: 4},
		{name: "balloon delete by headroom 0", before: []int32{3}, headroom: 0},
		{name: "balloon Delete", before: []int32{3}, delete: true},
		{name: "buffer create", withCRD: true, headroom: 3},
		{name: "buffer update", withCRD: true, before: []int32{3}, headroom: 4},
		{name: "buffer delete by headroom 0", withCRD: true, before: []int32{3}, headroom: 0},
		{name: "buffer Delete", withCRD: true, before: []int32{3}, delete: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newWriterRig(t, mapper(tc.withCRD), worker("1Gi"))
			mode := ModeBalloon
			if tc.withCRD {
				mode = ModeCapacityBuffer
			}
			for _, h := range tc.before {
				r.sync(t, orders, h, mode)
			}
			before := r.writes()
			ctx, cancel := context.WithCancel(t.Context())
			lose := func(k8stesting.Action) (bool, runtime.Object, error) { cancel(); return false, nil, nil }
			r.kc.PrependReactor("get", "*", lose)
			r.dc.PrependReactor("get", "*", lose)
			var err error
			if tc.delete {
				err = r.w.Delete(ctx, orders)
			} else {
				_, err = r.w.Sync(ctx, orders, tc.headroom)
			}
			if !errors.Is(err, context.Canceled) || r.writes() != before {
				t.Errorf("after the term ended: %v, %d writes; want context.Canceled and none", err, r.writes()-before)
			}
		})
	}
}
