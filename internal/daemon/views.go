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
// request uses at once. The daemon has two, sharing the pool left beside
// the service locks' session (newConnGates): page views (GET and HEAD with
// a client link: the host reads the service and the route's prefetches for
// them) and requests that change something (buys, checkouts, option
// changes). A request holds its places until it is answered.
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

// newConnGates sizes the gates of views and changes for a pool of maxOpen
// connections (0: unbounded, no gates). Of the pool beside the lock
// session, views get two fifths and changes the rest: a view holds its
// places for a few milliseconds and is cheap, a purchase holds one for its
// whole request and costs some 16 ms of CPU across the daemon's processes,
// so on a small machine the purchases need the room. Measured with 200
// quote clients and 50 buyers on a pool of 10 (2 cores): half each, 58
// buys/s with a p99 of 1.26 s; a third for views, 72 buys/s (p99 1.07 s)
// but quotes down to 330/s (p99 1.27 s); two fifths, 64 buys/s (p99 1.0 s)
// and 739 quotes/s (p99 0.57 s).
func newConnGates(maxOpen int) (views, changes *connGate) {
	if maxOpen <= 0 {
		return nil, nil
	}
	rest := maxOpen - 1
	v := max(1, (rest+1)*2/5)
	return newConnGate(v), newConnGate(max(1, rest-v))
}

func newConnGate(places int) *connGate {
	return &connGate{places: int64(places), sem: semaphore.NewWeighted(int64(places))}
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
