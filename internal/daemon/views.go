package daemon

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/upsell-io/upsell/hostapi"
)

// connGate bounds how many database connections one class of client
// request uses at once. The daemon has two, each with half of the pool left
// beside the service locks' session: page views (GET and HEAD with a client
// link: the host reads the service and the route's prefetches for them)
// and requests that change something (buys, checkouts, option changes).
// Without them, two hundred clients reloading their package list filled
// the pool's queue and every statement of a purchase waited behind theirs
// (measured: 195 ms per connection, a buy's p99 at 5 s); with one gate on
// views only, fifty buyers starved the views instead (a quote's p50 at
// 6 s). Each class now keeps its share whatever the other does. A nil
// gate admits everything (an unbounded pool).
//
// golang.org/x/sync/semaphore: a view takes one place per connection it
// reads on at once (the service read and each prefetch run side by side),
// and a weighted semaphore with context cancellation is what that needs.
type connGate struct {
	places int64
	sem    *semaphore.Weighted
}

// gateWait bounds a request's wait for a place; then it answers 503.
const gateWait = 10 * time.Second

// newConnGate sizes a gate for a pool of maxOpen connections (0:
// unbounded, no gate).
func newConnGate(maxOpen int) *connGate {
	if maxOpen <= 0 {
		return nil
	}
	places := int64(max(1, (maxOpen-1)/2))
	return &connGate{places: places, sem: semaphore.NewWeighted(places)}
}

// isView reports whether a request only reads.
func isView(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// enter waits for conns places (at most the gate's size); release gives
// them back and may be called more than once.
func (g *connGate) enter(ctx context.Context, conns int) (release func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	n := min(int64(max(conns, 1)), g.places)
	ctx, cancel := context.WithTimeout(ctx, gateWait)
	defer cancel()
	if err := g.sem.Acquire(ctx, n); err != nil {
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "busy: too many requests at once: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { g.sem.Release(n) }) }, nil
}
