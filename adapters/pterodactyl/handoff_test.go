package pterodactyl

import (
	"context"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/pterosim"
)

// The host reads the current limits, computes an absolute target and applies
// it: with the handoff that is 2 panel requests, as the request budget wants;
// any write in between, or a disabled handoff, falls back to a fresh GET.
func TestReadThenApplyCostsTwoRequests(t *testing.T) {
	tests := []struct {
		name         string
		opts         []Option
		byService    bool
		writeBetween bool
		want         int
	}{
		{"by service id", nil, true, false, 2},
		{"by server id", nil, false, false, 2},
		{"another apply went through in between", nil, true, true, 3},
		{"handoff disabled", []Option{WithReadHandoff(0)}, true, false, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPanel(t, pterosim.Pterodactyl)
			a := New(fastOptions(tc.opts...)...)
			ref := p.ref()
			if tc.byService {
				ref = p.refByService()
			}
			ctx := context.Background()
			p.sim.ResetStats()
			cur, err := a.Read(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			target := hostapi.Target{hostapi.MemoryMiB: cur[hostapi.MemoryMiB] + 1024}
			between := 0
			if tc.writeBetween {
				// Another order applied through this adapter after the Read:
				// the handed-off document is stale and must not be used.
				before := p.totalRequests()
				if _, err := a.Apply(ctx, ref, hostapi.Target{hostapi.DiskMiB: cur[hostapi.DiskMiB] + 1}); err != nil {
					t.Fatal(err)
				}
				between = p.totalRequests() - before
			}
			got, err := a.Apply(ctx, ref, target)
			if err != nil {
				t.Fatal(err)
			}
			if n := p.totalRequests() - between; n != tc.want {
				t.Fatalf("%d requests for read + apply, want %d", n, tc.want)
			}
			if got.After[hostapi.MemoryMiB] != cur[hostapi.MemoryMiB]+1024 || !p.limits(t).Satisfies(target) {
				t.Fatalf("applied %+v, panel holds %+v", got.After, p.limits(t))
			}
		})
	}
}

func TestHandoffIsUsedOnceAndExpires(t *testing.T) {
	h := newReadHandoff()
	now := time.Now()
	h.put("k", server{id: 7}, now, 3)
	if _, ok := h.take("k", now.Add(time.Second), 2*time.Second, 3); !ok {
		t.Fatal("fresh document not handed off")
	}
	if _, ok := h.take("k", now.Add(time.Second), 2*time.Second, 3); ok {
		t.Fatal("document handed off twice")
	}
	h.put("k", server{id: 7}, now, 3)
	if _, ok := h.take("k", now.Add(3*time.Second), 2*time.Second, 3); ok {
		t.Fatal("stale document handed off")
	}
	h.put("k", server{id: 7}, now, 3)
	if _, ok := h.take("k", now, 2*time.Second, 4); ok {
		t.Fatal("document handed off after a write")
	}
}
