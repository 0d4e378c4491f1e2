package pterodactyl

import (
	"context"
	"sync"
)

// serverLocks serializes applies per server. Without it, two applies built
// from the same GET would each PATCH a full replace and the second would
// silently undo the first (the panel has no version or If-Match).
//
// A server found by its external id is only known after the GET that finds
// it, so that GET runs before the lock is taken. writes counts the PATCHes
// sent per endpoint: if it moved between that GET and taking the lock,
// another apply of this process may have changed the server, and the caller
// reads it again under the lock. In the common case it did not move, and the
// lookup doubles as the read, keeping an apply at two requests.
type serverLocks struct {
	mu     sync.Mutex
	held   map[string]*serverLock
	writes map[string]uint64
}

type serverLock struct {
	sem  chan struct{}
	refs int // holders plus waiters; the entry is dropped at zero
}

func newServerLocks() *serverLocks {
	return &serverLocks{held: map[string]*serverLock{}, writes: map[string]uint64{}}
}

// lock takes the lock of key, or gives up when ctx is done.
func (l *serverLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	e, ok := l.held[key]
	if !ok {
		e = &serverLock{sem: make(chan struct{}, 1)}
		l.held[key] = e
	}
	e.refs++
	l.mu.Unlock()

	release := func() {
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.held, key)
		}
		l.mu.Unlock()
	}
	select {
	case e.sem <- struct{}{}:
		return func() { <-e.sem; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// wrote records that a PATCH was sent to endpoint.
func (l *serverLocks) wrote(endpoint string) {
	l.mu.Lock()
	l.writes[endpoint]++
	l.mu.Unlock()
}

// writeCount returns how many PATCHes were sent to endpoint so far.
func (l *serverLocks) writeCount(endpoint string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes[endpoint]
}
