package daemon

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/upsell-io/upsell/hostapi"
)

// viewGate bounds how many database connections page views (GET and HEAD
// with a client link) use at once to read the service and their
// prefetches: at most half of the pool left beside the service locks'
// session. Two hundred clients reloading their package list would
// otherwise fill the pool's queue, and every statement of a purchase, an
// option change or a paid-invoice job would wait behind theirs (measured:
// 195 ms per connection, a buy's p99 at 5 s). Requests that move money
// never wait here. A nil gate admits everything (an unbounded pool).
//
// golang.org/x/sync/semaphore: a view takes one place per connection it
// reads on at once (the service read and each prefetch run side by side),
// and a weighted semaphore with context cancellation is what that needs.
type viewGate struct {
	places int64
	sem    *semaphore.Weighted
}

// viewWait bounds a page view's wait for a place; then it answers 503.
const viewWait = 10 * time.Second

// newViewGate sizes the gate for a pool of maxOpen connections (0:
// unbounded, no gate).
func newViewGate(maxOpen int) *viewGate {
	if maxOpen <= 0 {
		return nil
	}
	places := int64(max(1, (maxOpen-1)/2))
	return &viewGate{places: places, sem: semaphore.NewWeighted(places)}
}

// enter waits for conns places (at most the gate's size) when method is a
// view's; release gives them back.
func (g *viewGate) enter(ctx context.Context, method string, conns int) (release func(), err error) {
	if g == nil || (method != http.MethodGet && method != http.MethodHead) {
		return func() {}, nil
	}
	n := min(int64(max(conns, 1)), g.places)
	ctx, cancel := context.WithTimeout(ctx, viewWait)
	defer cancel()
	if err := g.sem.Acquire(ctx, n); err != nil {
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "busy: too many page views at once: %w", err)
	}
	return func() { g.sem.Release(n) }, nil
}
