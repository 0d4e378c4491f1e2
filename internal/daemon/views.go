package daemon

import (
	"context"
	"net/http"

	"github.com/upsell-io/upsell/hostapi"
)

// viewGate bounds how many page views (GET and HEAD with a client link)
// read the service and their prefetches from the database at once: at most
// half the pool. Two hundred clients reloading their package list would
// otherwise fill the pool's queue, and every statement of a purchase, an
// option change or a paid-invoice job would wait behind theirs (measured:
// 195 ms per connection, a buy's p99 at 5 s). Requests that move money
// never wait here. A nil gate admits everything (an unbounded pool).
type viewGate chan struct{}

// newViewGate sizes the gate for a pool of maxOpen connections (0:
// unbounded, no gate).
func newViewGate(maxOpen int) viewGate {
	if maxOpen <= 0 {
		return nil
	}
	return make(viewGate, max(1, maxOpen/2))
}

// enter waits for a place when method is a view's; release gives it back.
func (g viewGate) enter(ctx context.Context, method string) (release func(), err error) {
	if g == nil || (method != http.MethodGet && method != http.MethodHead) {
		return func() {}, nil
	}
	select {
	case g <- struct{}{}:
		return func() { <-g }, nil
	case <-ctx.Done():
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "busy: %w", ctx.Err())
	}
}
