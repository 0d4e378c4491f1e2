package host

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/testdb"
)

// TestServiceLocksHoldNoPoolConnection: with a pool of 3, fifty services
// locked at once leave a connection for everything else (the lock session
// takes one; the locks take none), and a second replica's session still
// excludes this one's.
func TestServiceLocksHoldNoPoolConnection(t *testing.T) {
	db := testdb.New(t)
	if db.Embedded {
		t.Skip("named locks across sessions need MariaDB")
	}
	db.SetMaxOpenConns(3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := NewServiceLocks(db.DB)
	defer a.Close()
	var unlocks []func()
	for id := uint64(1); id <= 50; id++ {
		u, err := a.Lock(ctx, id)
		if err != nil {
			t.Fatalf("lock %d: %v", id, err)
		}
		unlocks = append(unlocks, u)
	}
	// Two connections left of three: a query and another replica's session.
	var one int
	if err := db.GetContext(ctx, &one, "SELECT 1"); err != nil {
		t.Fatalf("a query while 50 locks are held: %v", err)
	}
	b := otherReplica(t, db)
	short, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := b.Lock(short, 7)
	stop()
	if !errors.Is(err, hostapi.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the other replica took a held lock: %v", err)
	}
	if u, err := b.Lock(ctx, 51); err != nil {
		t.Fatalf("the other replica, another service: %v", err)
	} else {
		u()
	}
	for _, u := range unlocks {
		u()
	}
	u, err := b.Lock(ctx, 7)
	if err != nil {
		t.Fatalf("the other replica after release: %v", err)
	}
	u()
}

// TestServiceLockLostWithItsSession: when the database drops the lock
// session (a restart, a killed connection), a holder's check says its lock
// is gone, and the next lock opens a new session.
func TestServiceLockLostWithItsSession(t *testing.T) {
	db := testdb.New(t)
	if db.Embedded {
		t.Skip("KILL needs MariaDB")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l := NewServiceLocks(db.DB)
	defer l.Close()
	h, err := l.lock(ctx, 9)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.check(h); err != nil {
		t.Fatalf("a held lock: %v", err)
	}
	var id int64
	l.sessMu.Lock()
	err = l.sess.QueryRowxContext(ctx, "SELECT CONNECTION_ID()").Scan(&id)
	l.sessMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "KILL CONNECTION ?", id); err != nil {
		t.Fatal(err)
	}
	if err := l.check(h); !errors.Is(err, hostapi.ErrUnavailable) {
		t.Fatalf("check after the session died: %v, want unavailable", err)
	}
	h.release()
	h2, err := l.lock(ctx, 9)
	if err != nil {
		t.Fatalf("lock on a new session: %v", err)
	}
	if err := l.check(h2); err != nil {
		t.Fatalf("the new lock: %v", err)
	}
	h2.release()
}

// TestPluginLocks: a plugin's locks are released when it exits or when
// they expire, an unknown token is refused, and Apply by the operation
// holding the lock does not wait for it.
func TestPluginLocks(t *testing.T) {
	db := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	locks := NewServiceLocks(db.DB)
	defer locks.Close()
	p := newPluginLocks(locks, NewOperations(nil))
	op := opCtx("event:1")
	held, err := p.take(op, 3)
	if err != nil {
		t.Fatal(err)
	}
	// The holder's Apply goes ahead; another operation's waits.
	unlock, err := p.forApply(op, 3)
	if err != nil {
		t.Fatalf("the holder's apply: %v", err)
	}
	unlock()
	short, stop := context.WithTimeout(opCtx("event:2"), 200*time.Millisecond)
	_, err = p.forApply(short, 3)
	stop()
	if !errors.Is(err, hostapi.ErrUnavailable) {
		t.Fatalf("another operation's apply: %v, want it to wait", err)
	}
	if err := p.give(hostapi.ServiceLock{ServiceID: 3, Token: "forged"}); !errors.Is(err, hostapi.ErrNotFound) {
		t.Fatalf("a forged token: %v", err)
	}
	if err := p.give(hostapi.ServiceLock{ServiceID: 4, Token: held.Token}); !errors.Is(err, hostapi.ErrNotFound) {
		t.Fatalf("the token on another service: %v", err)
	}
	// The plugin exits holding it.
	p.close()
	if u, err := locks.Lock(ctx, 3); err != nil {
		t.Fatalf("after the plugin exited: %v", err)
	} else {
		u()
	}
	// A lock held past its time is released.
	q := newPluginLocks(locks, NewOperations(nil))
	q.hold = 50 * time.Millisecond
	if _, err := q.take(op, 5); err != nil {
		t.Fatal(err)
	}
	if u, err := locks.Lock(ctx, 5); err != nil {
		t.Fatalf("after the hold expired: %v", err)
	} else {
		u()
	}
	// An operation holding a transaction may not wait for a lock.
	ops := NewOperations(nil)
	ops.Strict = true
	s := NewStore(db.DB, "ext_t_")
	s.ops = ops
	defer s.Close()
	tx, err := s.Begin(op)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(op)
	r := newPluginLocks(locks, ops)
	if _, err := r.take(op, 6); !errors.Is(err, hostapi.ErrInternal) {
		t.Fatalf("a lock taken while holding a transaction: %v, want refused", err)
	}
}

// TestBrokenSessionIsDiscarded: a session dropped after an error is closed,
// not given back to the pool, where it would keep the replica's locks and
// shut other replicas out.
func TestBrokenSessionIsDiscarded(t *testing.T) {
	db := testdb.New(t)
	if db.Embedded {
		t.Skip("named locks across sessions need MariaDB")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := NewServiceLocks(db.DB)
	defer a.Close()
	if _, err := a.Lock(ctx, 1); err != nil {
		t.Fatal(err)
	}
	a.sessMu.Lock()
	a.broken(a.gen)
	a.sessMu.Unlock()
	b := otherReplica(t, db)
	short, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	u, err := b.Lock(short, 1)
	if err != nil {
		t.Fatalf("another replica after the session was dropped: %v", err)
	}
	u()
}

// TestOperationRoutes: a route is reused by the operation that resolved it
// and by no other, and not after routeMemoTTL.
func TestOperationRoutes(t *testing.T) {
	var m operationRoutes
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	a, b := opCtx("request:a"), opCtx("request:b")
	r := Route{Adapter: "pterodactyl"}
	m.put(a, 7, r, now)
	tests := []struct {
		name    string
		ctx     context.Context
		service uint64
		at      time.Time
		want    bool
	}{
		{"the same operation and service", a, 7, now.Add(time.Second), true},
		{"another service", a, 8, now, false},
		{"another operation", b, 7, now, false},
		{"outside any operation", context.Background(), 7, now, false},
		{"after the TTL", a, 7, now.Add(routeMemoTTL + time.Nanosecond), false},
	}
	for _, tc := range tests {
		if _, ok := m.get(tc.ctx, tc.service, tc.at); ok != tc.want {
			t.Errorf("%s: reused %v, want %v", tc.name, ok, tc.want)
		}
	}
	// A put after the TTL sweeps what expired.
	m.put(b, 9, r, now.Add(2*routeMemoTTL))
	if len(m.entries) != 1 {
		t.Errorf("%d entries after the sweep, want 1", len(m.entries))
	}
}

// otherReplica is another daemon's locks on db: its own pool, its own
// session.
func otherReplica(t *testing.T, db *testdb.DB) *ServiceLocks {
	t.Helper()
	other, err := sqlx.Open("mysql", db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	l := NewServiceLocks(other)
	t.Cleanup(func() {
		l.Close()
		other.Close()
	})
	return l
}
