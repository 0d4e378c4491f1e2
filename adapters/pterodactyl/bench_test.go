package pterodactyl

import (
	"context"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/pterosim"
)

// BenchmarkApply measures one apply that changes memory, GET plus PATCH,
// against the simulator over loopback HTTP with rate limiting off on both
// sides. requests/op must stay at 2.
func BenchmarkApply(b *testing.B) {
	for _, f := range flavors {
		b.Run(f.String(), func(b *testing.B) {
			p := newPanel(b, f)
			a := New(WithRateLimit(0))
			ref := p.ref()
			ctx := context.Background()
			// Alternate so that every apply is a real change.
			targets := []hostapi.Target{{hostapi.MemoryMiB: 4096}, {hostapi.MemoryMiB: 2048}}
			p.sim.ResetStats()
			applies := 0
			for b.Loop() {
				got, err := a.Apply(ctx, ref, targets[applies%2])
				if err != nil || !got.Changed {
					b.Fatalf("apply: %+v %v", got, err)
				}
				applies++
			}
			b.ReportMetric(float64(p.totalRequests())/float64(applies), "requests/op")
			if p.sim.Requests(pterosim.RouteUpdateBuild) != applies {
				b.Fatalf("%d PATCHes for %d applies", p.sim.Requests(pterosim.RouteUpdateBuild), applies)
			}
		})
	}
}
