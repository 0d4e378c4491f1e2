package intake_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/intake"
)

// fakeClock is a clock the test advances: Now and After for a Worker. A
// replica whose clock is never advanced never beats: to the database it is
// a replica that was killed mid-job.
type fakeClock struct {
	mu      sync.Mutex
	cond    *sync.Cond
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	c := &fakeClock{now: now}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	c.cond.Broadcast()
	return ch
}

// Advance moves the clock and fires the waiters that fall due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// awaitWaiter blocks until someone waits on the clock: the heartbeat has
// finished its previous beat and waits for the next.
func (c *fakeClock) awaitWaiter() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.waiters) == 0 {
		c.cond.Wait()
	}
}

// blockingModule enters, tells entered, and works until release is closed or
// its context ends; it keeps the context's cause.
type blockingModule struct {
	hostapi.Module
	entered chan struct{}
	release chan struct{}
	calls   atomic.Int64
	mu      sync.Mutex
	cause   error
}

func newBlockingModule() *blockingModule {
	return &blockingModule{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (m *blockingModule) HandleEvent(ctx context.Context, _ hostapi.Event) (hostapi.EventResult, error) {
	m.calls.Add(1)
	m.entered <- struct{}{}
	select {
	case <-m.release:
		return hostapi.EventResult{Handled: true}, nil
	case <-ctx.Done():
		m.mu.Lock()
		m.cause = context.Cause(ctx)
		m.mu.Unlock()
		return hostapi.EventResult{}, ctx.Err()
	}
}

func (m *blockingModule) stoppedBy() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cause
}

// leaseWorker is a worker on db driven by clock, with the default lease.
func (f *fixture) leaseWorker(owner string, db *sqlx.DB, m hostapi.Module, clock *fakeClock) *intake.Worker {
	w := f.worker(owner, m)
	w.DB, w.Now, w.After = db, clock.Now, clock.After
	return w
}

// sameMicrosecond compares a time read back from DATETIME(6), which keeps
// microseconds, with the time written.
func sameMicrosecond(read, written time.Time) bool {
	d := read.Sub(written)
	return d > -time.Microsecond && d < time.Microsecond
}

type leaseRow struct {
	State      string    `db:"state"`
	Attempts   int       `db:"attempts"`
	LeaseOwner *string   `db:"lease_owner"`
	LeaseUntil time.Time `db:"lease_until"`
}

func (f *fixture) lease(t *testing.T, id uint64) leaseRow {
	t.Helper()
	var r leaseRow
	if err := f.db.Get(&r, "SELECT state, attempts, lease_owner, lease_until FROM upsell_jobs WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	return r
}

// A replica killed mid-job stops renewing its lease; another replica takes
// the job over as soon as the short lease has run out, not before, and the
// killed replica's late outcome changes nothing.
func TestKilledReplicasJobResumesAfterTheLease(t *testing.T) {
	f := setup(t)
	id := f.paidJob(t)
	killedClock, aliveClock := newFakeClock(f.now), newFakeClock(f.now)
	killed := newBlockingModule()
	a := f.leaseWorker("replica-a", f.db.DB, killed, killedClock)
	var aResults results
	a.OnResult = aResults.add
	var wg sync.WaitGroup
	wg.Go(func() {
		if did, err := a.RunOnce(context.Background()); !did || err != nil {
			t.Errorf("killed replica's RunOnce: %v %v", did, err)
		}
	})
	<-killed.entered
	killedClock.awaitWaiter() // its heartbeat waits for a beat that never comes

	alive := &countingModule{}
	b := f.leaseWorker("replica-b", f.db.DB, alive, aliveClock)
	var bResults results
	b.OnResult = bResults.add
	aliveClock.Advance(intake.DefaultLease)
	if did, err := b.RunOnce(context.Background()); did || err != nil {
		t.Fatalf("at the end of the lease another worker took the job: %v %v", did, err)
	}
	aliveClock.Advance(time.Millisecond)
	if did, err := b.RunOnce(context.Background()); !did || err != nil {
		t.Fatalf("after the lease another worker did not take the job: %v %v", did, err)
	}
	if j := f.job(t, id); j.State != "done" || j.Attempts != 2 || alive.calls.Load() != 1 {
		t.Fatalf("job %+v after %d calls, want done by the second worker", j, alive.calls.Load())
	}

	// The killed replica's module returns after all: its outcome is lost.
	close(killed.release)
	wg.Wait()
	if j := f.job(t, id); j.State != "done" || j.Attempts != 2 || j.LeaseOwner != nil {
		t.Fatalf("job %+v after the killed replica's late outcome", j)
	}
	if got, want := slices.Concat(aResults.list(), bResults.list()), []string{"event:ok"}; !slices.Equal(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
}

// A job that runs for longer than several leases keeps its lease while its
// replica's heartbeat beats: no other worker takes it.
func TestLiveHeartbeatKeepsALongJob(t *testing.T) {
	f := setup(t)
	id := f.paidJob(t)
	clock := newFakeClock(f.now)
	long := newBlockingModule()
	a := f.leaseWorker("replica-a", f.db.DB, long, clock)
	var wg sync.WaitGroup
	wg.Go(func() {
		if did, err := a.RunOnce(context.Background()); !did || err != nil {
			t.Errorf("RunOnce: %v %v", did, err)
		}
	})
	<-long.entered
	owner := *f.lease(t, id).LeaseOwner

	other := &countingModule{}
	b := f.leaseWorker("replica-b", f.db.DB, other, clock)
	beat := intake.DefaultLease / 4
	for range 12 { // three leases
		clock.awaitWaiter()
		clock.Advance(beat)
		clock.awaitWaiter() // the beat's renewal is done
		l := f.lease(t, id)
		if l.State != "running" || l.LeaseOwner == nil || *l.LeaseOwner != owner || !sameMicrosecond(l.LeaseUntil, clock.Now().Add(intake.DefaultLease)) {
			t.Fatalf("at %v the lease is %+v, want %s's renewed to %v", clock.Now().Sub(f.now), l, owner, clock.Now().Add(intake.DefaultLease))
		}
		if did, err := b.RunOnce(context.Background()); did || err != nil {
			t.Fatalf("at %v another worker took the job: %v %v", clock.Now().Sub(f.now), did, err)
		}
	}
	close(long.release)
	wg.Wait()
	if j := f.job(t, id); j.State != "done" || j.Attempts != 1 || long.calls.Load() != 1 || other.calls.Load() != 0 {
		t.Fatalf("job %+v, calls %d and %d; want done once by its first worker", j, long.calls.Load(), other.calls.Load())
	}
}

// A worker whose lease was taken over notices at its next beat: it stops
// its module and does not renew the new holder's lease.
func TestHeartbeatStopsAJobWhoseLeaseWasTakenOver(t *testing.T) {
	f := setup(t)
	id := f.paidJob(t)
	staleClock, freshClock := newFakeClock(f.now), newFakeClock(f.now)
	stale, fresh := newBlockingModule(), newBlockingModule()
	a := f.leaseWorker("replica-a", f.db.DB, stale, staleClock)
	logger, logs := capture()
	a.Logger = logger
	b := f.leaseWorker("replica-b", f.db.DB, fresh, freshClock)
	var wg sync.WaitGroup
	staleDone := make(chan struct{})
	go func() {
		defer close(staleDone)
		if did, err := a.RunOnce(context.Background()); !did || err != nil {
			t.Errorf("stale RunOnce: %v %v", did, err)
		}
	}()
	<-stale.entered
	staleClock.awaitWaiter()

	// Replica a stalled past its lease; b takes the job over.
	freshClock.Advance(intake.DefaultLease + time.Millisecond)
	wg.Go(func() {
		if did, err := b.RunOnce(context.Background()); !did || err != nil {
			t.Errorf("new holder's RunOnce: %v %v", did, err)
		}
	})
	<-fresh.entered
	taken := f.lease(t, id)

	// a's next beat finds its token gone.
	staleClock.Advance(intake.DefaultLease / 4)
	<-staleDone
	if err := stale.stoppedBy(); !strings.Contains(err.Error(), "lease lost") {
		t.Fatalf("stale module stopped by %v, want the lost lease", err)
	}
	if l := f.lease(t, id); l.LeaseOwner == nil || *l.LeaseOwner != *taken.LeaseOwner || !l.LeaseUntil.Equal(taken.LeaseUntil) || l.Attempts != 2 {
		t.Fatalf("lease %+v after the stale beat, want the new holder's %+v untouched", l, taken)
	}
	if !strings.Contains(logs.String(), `"msg":"job lease lost; stopping the job"`) {
		t.Errorf("lost lease not logged:\n%s", logs)
	}
	close(fresh.release)
	wg.Wait()
	if j := f.job(t, id); j.State != "done" || j.Attempts != 2 {
		t.Fatalf("job %+v, want done by the new holder", j)
	}
}

// A worker that cannot renew its lease (the database is gone) stops its
// module at three quarters of the lease, before another replica may take the
// job over.
func TestHeartbeatStopsAJobItCannotRenew(t *testing.T) {
	f := setup(t)
	f.db.RequireMySQL(t)
	id := f.paidJob(t)
	cut, err := sqlx.Open("mysql", f.db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Close()
	clock := newFakeClock(f.now)
	m := newBlockingModule()
	a := f.leaseWorker("replica-a", cut, m, clock)
	runErr := make(chan error, 1)
	go func() { _, err := a.RunOnce(context.Background()); runErr <- err }()
	<-m.entered
	cut.Close() // every renewal fails from now on

	beat := intake.DefaultLease / 4
	for i := 1; i <= 2; i++ {
		clock.awaitWaiter()
		clock.Advance(beat)
		clock.awaitWaiter() // the failed renewal is behind it
		if err := m.stoppedBy(); err != nil {
			t.Fatalf("module stopped after %d failed beats: %v", i, err)
		}
	}
	clock.Advance(beat)
	if err := <-runErr; err == nil {
		t.Fatal("RunOnce recorded an outcome on a closed database")
	}
	if err := m.stoppedBy(); err == nil || !strings.Contains(err.Error(), "not renewed") {
		t.Fatalf("module stopped by %v, want the unrenewed lease", err)
	}
	if l := f.lease(t, id); l.State != "running" || !sameMicrosecond(l.LeaseUntil, f.now.Add(intake.DefaultLease)) {
		t.Fatalf("lease %+v, want the claim's, unrenewed", l)
	}
}
