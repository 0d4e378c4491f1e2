package host

import (
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
)

// ServiceLocks is the one lock per service: shared by goroutines (a local
// lock per service id) and by replicas on one database (a MySQL named lock).
//
// No holder keeps a pool connection while it holds or waits (the pool
// rule): every named lock of this replica is held by one database session,
// taken once from the pool and kept, and taken with GET_LOCK(name, 0), which
// never waits; a lock another replica holds is tried again after a short
// pause. A waiter in this replica waits on the local lock. When the session
// breaks (the database restarted) the server has dropped its locks: the
// session's generation moves on, and a holder that checks (Apply does,
// before it changes a server) finds its lock lost.
type ServiceLocks struct {
	db *sqlx.DB

	mu    sync.Mutex
	local map[uint64]*serviceLock

	sessMu sync.Mutex
	sess   *sqlx.Conn // nil until first used, and after it broke
	gen    uint64     // moves on each time the session is replaced
}

// serviceLock is held by whoever put the token into ch; refs counts the
// holder and the waiters, so the entry goes when nobody needs it.
type serviceLock struct {
	ch   chan struct{}
	refs int
}

// NewServiceLocks returns locks on db (local locks only when db is nil).
func NewServiceLocks(db *sqlx.DB) *ServiceLocks {
	return &ServiceLocks{db: db, local: map[uint64]*serviceLock{}}
}

// lockWait bounds a wait for a lock when ctx has no deadline.
const lockWait = 60 * time.Second

// heldLock is a lock taken by Lock.
type heldLock struct {
	l         *ServiceLocks
	serviceID uint64
	gen       uint64 // the session's generation when taken (0: local only)
	once      sync.Once
	unlock    func()
}

func (h *heldLock) release() { h.once.Do(h.unlock) }

// Lock takes the service's lock, waiting up to ctx's deadline (60 s when it
// has none). A wait cut short fails with CodeUnavailable, wrapping ctx's
// error. The returned unlock may be called more than once.
func (l *ServiceLocks) Lock(ctx context.Context, serviceID uint64) (func(), error) {
	h, err := l.lock(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	return h.release, nil
}

func (l *ServiceLocks) lock(ctx context.Context, serviceID uint64) (*heldLock, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lockWait)
		defer cancel()
	}
	unlockLocal, err := l.lockLocal(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	if l.db == nil {
		return &heldLock{l: l, serviceID: serviceID, unlock: unlockLocal}, nil
	}
	name := lockName(serviceID)
	pause := 2 * time.Millisecond
	for {
		gen, got, err := l.tryNamed(ctx, name)
		if err != nil {
			unlockLocal()
			return nil, hostapi.Errorf(hostapi.CodeUnavailable, "service %d lock: %w", serviceID, err)
		}
		if got {
			return &heldLock{l: l, serviceID: serviceID, gen: gen, unlock: func() {
				l.releaseNamed(name, gen)
				unlockLocal()
			}}, nil
		}
		// Another replica holds it.
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			unlockLocal()
			return nil, hostapi.Errorf(hostapi.CodeUnavailable, "service %d lock: held elsewhere: %w", serviceID, ctx.Err())
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

func lockName(serviceID uint64) string { return fmt.Sprintf("upsell_service_%d", serviceID) }

// sessionTimeout bounds one statement on the lock session. Session
// statements never run on a caller's context: the driver closes a
// connection whose query is cancelled, and with it every lock of the
// replica.
const sessionTimeout = 5 * time.Second

func sessionCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), sessionTimeout)
}

// session returns the lock session and its generation, opening one when
// there is none. The connection is taken from the pool without holding
// sessMu, so unlocks and checks never wait behind it.
func (l *ServiceLocks) session(ctx context.Context) (*sqlx.Conn, uint64, error) {
	l.sessMu.Lock()
	if l.sess != nil {
		defer l.sessMu.Unlock()
		return l.sess, l.gen, nil
	}
	l.sessMu.Unlock()
	conn, err := l.db.Connx(ctx)
	if err != nil {
		return nil, 0, err
	}
	l.sessMu.Lock()
	defer l.sessMu.Unlock()
	if l.sess != nil {
		// Another caller opened one meanwhile.
		conn.Close()
		return l.sess, l.gen, nil
	}
	l.sess = conn
	l.gen++
	return conn, l.gen, nil
}

// broken drops session generation gen after an error: the server has
// dropped, or will drop, every lock it held. The physical connection is
// discarded, not given back to the pool, where it would keep its locks.
// The caller holds sessMu.
func (l *ServiceLocks) broken(gen uint64) {
	if l.sess == nil || l.gen != gen {
		return
	}
	_ = l.sess.Raw(func(any) error { return driver.ErrBadConn })
	l.sess.Close()
	l.sess = nil
}

// tryNamed tries the named lock once, without waiting, on the session; a
// broken session is replaced once.
func (l *ServiceLocks) tryNamed(ctx context.Context, name string) (gen uint64, got bool, err error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return 0, false, err
		}
		conn, gen, err := l.session(ctx)
		if err != nil {
			return 0, false, err
		}
		var res *int64
		l.sessMu.Lock()
		if l.gen != gen {
			l.sessMu.Unlock()
			continue // replaced meanwhile
		}
		sctx, cancel := sessionCtx()
		err = conn.QueryRowxContext(sctx, "SELECT GET_LOCK(?, 0)", name).Scan(&res)
		cancel()
		if err != nil {
			l.broken(gen)
		}
		l.sessMu.Unlock()
		if err == nil {
			if res == nil {
				return 0, false, fmt.Errorf("GET_LOCK(%s) answered NULL", name)
			}
			return gen, *res == 1, nil
		}
		if attempt == 1 {
			return 0, false, err
		}
	}
}

// releaseNamed releases a named lock taken in session generation gen; one
// taken in an earlier session went with it.
func (l *ServiceLocks) releaseNamed(name string, gen uint64) {
	l.sessMu.Lock()
	defer l.sessMu.Unlock()
	if l.sess == nil || l.gen != gen {
		return
	}
	ctx, cancel := sessionCtx()
	defer cancel()
	if _, err := l.sess.ExecContext(ctx, "SELECT RELEASE_LOCK(?)", name); err != nil {
		l.broken(gen)
	}
}

// check reports whether h is still held: its session is the live one and
// answers. (A session that broke took its locks with it.)
func (l *ServiceLocks) check(h *heldLock) error {
	if h.gen == 0 {
		return nil
	}
	l.sessMu.Lock()
	defer l.sessMu.Unlock()
	if l.sess == nil || l.gen != h.gen {
		return hostapi.Errorf(hostapi.CodeUnavailable, "service %d lock was lost with its database session: retry", h.serviceID)
	}
	ctx, cancel := sessionCtx()
	defer cancel()
	var one int
	if err := l.sess.QueryRowxContext(ctx, "SELECT 1").Scan(&one); err != nil {
		l.broken(h.gen)
		return hostapi.Errorf(hostapi.CodeUnavailable, "service %d lock was lost with its database session: %w", h.serviceID, err)
	}
	return nil
}

// Close ends the lock session, and with it the replica's locks.
func (l *ServiceLocks) Close() {
	l.sessMu.Lock()
	defer l.sessMu.Unlock()
	l.broken(l.gen)
}

// lockLocal takes the in-process lock of one service, giving up when ctx
// ends. Services never wait for each other.
func (l *ServiceLocks) lockLocal(ctx context.Context, serviceID uint64) (func(), error) {
	l.mu.Lock()
	if l.local == nil {
		l.local = map[uint64]*serviceLock{}
	}
	sl := l.local[serviceID]
	if sl == nil {
		sl = &serviceLock{ch: make(chan struct{}, 1)}
		l.local[serviceID] = sl
	}
	sl.refs++
	l.mu.Unlock()

	drop := func() {
		l.mu.Lock()
		sl.refs--
		if sl.refs == 0 {
			delete(l.local, serviceID)
		}
		l.mu.Unlock()
	}
	fail := func(err error) (func(), error) {
		drop()
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "service %d lock: %w", serviceID, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	select {
	case sl.ch <- struct{}{}:
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-sl.ch
			drop()
		})
	}, nil
}

// maxLockHold bounds how long a plugin may hold a service lock it took
// with LockService; then the host releases it.
const maxLockHold = 10 * time.Minute

// pluginLocks are the service locks one plugin took with LockService, by
// token, so the host releases them when the plugin exits.
type pluginLocks struct {
	locks *ServiceLocks
	ops   *Operations
	hold  time.Duration // maxLockHold; tests shorten it

	mu     sync.Mutex
	closed bool
	held   map[string]*pluginLock
}

type pluginLock struct {
	*heldLock
	token string
	op    string // the operation that took it ("" outside any)
	timer *time.Timer
}

func newPluginLocks(locks *ServiceLocks, ops *Operations) *pluginLocks {
	return &pluginLocks{locks: locks, ops: ops, hold: maxLockHold, held: map[string]*pluginLock{}}
}

// take is LockService.
func (p *pluginLocks) take(ctx context.Context, serviceID uint64) (hostapi.ServiceLock, error) {
	if serviceID == 0 {
		return hostapi.ServiceLock{}, hostapi.Invalid("service_id", "required")
	}
	if p.locks == nil {
		return hostapi.ServiceLock{}, hostapi.Errorf(hostapi.CodeUnavailable, "service locks are not configured")
	}
	if err := p.ops.check(ctx, "Provision.LockService"); err != nil {
		return hostapi.ServiceLock{}, err
	}
	if p.heldBy(ctx, serviceID) != nil {
		// Waiting for it again would wait for itself.
		return hostapi.ServiceLock{}, hostapi.Errorf(hostapi.CodePrecondition, "this operation holds service %d's lock already", serviceID)
	}
	h, err := p.locks.lock(ctx, serviceID)
	if err != nil {
		return hostapi.ServiceLock{}, err
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	pl := &pluginLock{heldLock: h, token: hex.EncodeToString(raw[:])}
	if op, ok := hostapi.OperationOf(ctx); ok {
		pl.op = op.ID
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		h.release()
		return hostapi.ServiceLock{}, errStoreClosed()
	}
	p.held[pl.token] = pl
	pl.timer = time.AfterFunc(p.hold, func() { p.drop(pl.token) })
	p.mu.Unlock()
	if err := ctx.Err(); err != nil {
		// The caller gave up as the lock came: it will never have the
		// token to give it back.
		p.drop(pl.token)
		return hostapi.ServiceLock{}, hostapi.Errorf(hostapi.CodeUnavailable, "service %d lock: %w", serviceID, err)
	}
	return hostapi.ServiceLock{ServiceID: serviceID, Token: pl.token}, nil
}

// give is UnlockService.
func (p *pluginLocks) give(lock hostapi.ServiceLock) error {
	p.mu.Lock()
	pl, ok := p.held[lock.Token]
	p.mu.Unlock()
	if !ok || pl.serviceID != lock.ServiceID {
		return hostapi.Errorf(hostapi.CodeNotFound, "no lock %q held on service %d (released, expired, or never taken)", lock.Token, lock.ServiceID)
	}
	p.drop(lock.Token)
	return nil
}

func (p *pluginLocks) drop(token string) {
	p.mu.Lock()
	pl, ok := p.held[token]
	delete(p.held, token)
	p.mu.Unlock()
	if ok {
		pl.timer.Stop()
		pl.release()
	}
}

// heldBy returns the lock on serviceID that the operation in ctx holds.
func (p *pluginLocks) heldBy(ctx context.Context, serviceID uint64) *pluginLock {
	op, ok := hostapi.OperationOf(ctx)
	if !ok {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pl := range p.held {
		if pl.serviceID == serviceID && pl.op == op.ID {
			return pl
		}
	}
	return nil
}

// forApply serializes an Apply: under the lock its operation already holds
// (checked to be still held), or under one of its own.
func (p *pluginLocks) forApply(ctx context.Context, serviceID uint64) (func(), error) {
	if pl := p.heldBy(ctx, serviceID); pl != nil {
		if err := p.locks.check(pl.heldLock); err != nil {
			return nil, err
		}
		return func() {}, nil
	}
	h, err := p.locks.lock(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	return h.release, nil
}

// close releases every lock of an exited plugin.
func (p *pluginLocks) close() {
	p.mu.Lock()
	p.closed = true
	held := p.held
	p.held = map[string]*pluginLock{}
	p.mu.Unlock()
	for _, pl := range held {
		pl.timer.Stop()
		pl.release()
	}
}
