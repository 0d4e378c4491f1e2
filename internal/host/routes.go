package host

import (
	"context"
	"sync"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

// operationRoutes remembers the route of a service for the operation that
// resolved it: a buy asks Provision to Read and then to CheckCapacity, and
// an apply to Read and then to Apply, each of which would read the
// service's product, server and credentials again. Only the same
// operation reuses a route, so a change to the panel's server binding
// reaches the next request; entries go after routeMemoTTL.
type operationRoutes struct {
	mu        sync.Mutex
	entries   map[routeKey]routeEntry
	nextSweep time.Time
}

type routeKey struct {
	op        string
	serviceID uint64
}

type routeEntry struct {
	route Route
	at    time.Time
}

// routeMemoTTL covers an operation's provisioning calls, which follow each
// other within milliseconds (a miss only reads the route again). Expired
// entries are swept once per TTL, so the map holds at most two TTLs of
// operations.
const routeMemoTTL = 10 * time.Second

func (m *operationRoutes) get(ctx context.Context, serviceID uint64, now time.Time) (Route, bool) {
	op, ok := hostapi.OperationOf(ctx)
	if !ok {
		return Route{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[routeKey{op.ID, serviceID}]
	if !ok || now.Sub(e.at) > routeMemoTTL {
		return Route{}, false
	}
	return e.route, true
}

func (m *operationRoutes) put(ctx context.Context, serviceID uint64, r Route, now time.Time) {
	op, ok := hostapi.OperationOf(ctx)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = map[routeKey]routeEntry{}
	}
	if now.After(m.nextSweep) {
		for k, e := range m.entries {
			if now.Sub(e.at) > routeMemoTTL {
				delete(m.entries, k)
			}
		}
		m.nextSweep = now.Add(routeMemoTTL)
	}
	m.entries[routeKey{op.ID, serviceID}] = routeEntry{route: r, at: now}
}
