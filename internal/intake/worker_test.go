package intake_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/testdb"
)

// paidJob records a paid invoice of module "microupsell" and returns its
// job's id.
func (f *fixture) paidJob(t *testing.T) uint64 {
	t.Helper()
	inv := f.paidInvoice(t, "microupsell")
	if _, err := f.inbox.RecordPaid(context.Background(), inv, intake.FromWebhook); err != nil {
		t.Fatal(err)
	}
	var id uint64
	if err := f.db.Get(&id, "SELECT id FROM upsell_jobs WHERE inbox_id = (SELECT id FROM upsell_inbox WHERE invoice_id = ?)", inv); err != nil {
		t.Fatal(err)
	}
	return id
}

type jobRow struct {
	State      string  `db:"state"`
	Attempts   int     `db:"attempts"`
	LeaseOwner *string `db:"lease_owner"`
	LastError  *string `db:"last_error"`
}

func (f *fixture) job(t *testing.T, id uint64) jobRow {
	t.Helper()
	var j jobRow
	if err := f.db.Get(&j, "SELECT state, attempts, lease_owner, last_error FROM upsell_jobs WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	return j
}

func (f *fixture) worker(owner string, m hostapi.Module) *intake.Worker {
	return &intake.Worker{DB: f.db.DB, Modules: oneModule{m}, Owner: owner, Logger: discard(),
		Backoff: func(int) time.Duration { return 0 }, Now: func() time.Time { return f.now }}
}

func TestEveryClaimHasItsOwnLease(t *testing.T) {
	f := setup(t)
	id := f.paidJob(t)
	var owners []string
	m := funcModule{handle: func(context.Context, hostapi.Event) error {
		owners = append(owners, *f.job(t, id).LeaseOwner)
		if len(owners) == 1 {
			return hostapi.Errorf(hostapi.CodeUnavailable, "adapter down")
		}
		return nil
	}}
	w := f.worker("replica-a/7/0", m)
	for range 2 {
		if did, err := w.RunOnce(context.Background()); !did || err != nil {
			t.Fatalf("RunOnce: %v %v", did, err)
		}
	}
	if len(owners) != 2 || owners[0] == owners[1] {
		t.Fatalf("lease owners %q, want two different ones", owners)
	}
	for _, o := range owners {
		if !strings.HasPrefix(o, "replica-a/7/0/") || len(o) <= len("replica-a/7/0/") {
			t.Errorf("lease owner %q lacks the worker's Owner prefix and a token", o)
		}
	}
	if j := f.job(t, id); j.State != "done" || j.LeaseOwner != nil {
		t.Fatalf("job %+v, want done and released", j)
	}
}

func TestLongOwnerStillFitsLease(t *testing.T) {
	f := setup(t)
	id := f.paidJob(t)
	var owner string
	m := funcModule{handle: func(context.Context, hostapi.Event) error {
		owner = *f.job(t, id).LeaseOwner
		return nil
	}}
	w := f.worker(strings.Repeat("h", 200), m)
	if did, err := w.RunOnce(context.Background()); !did || err != nil {
		t.Fatalf("RunOnce: %v %v", did, err)
	}
	if len(owner) > 128 || !strings.HasPrefix(owner, "hhh") {
		t.Fatalf("lease owner %q (%d bytes) does not fit lease_owner", owner, len(owner))
	}
	if j := f.job(t, id); j.State != "done" {
		t.Fatalf("job %+v, want done", j)
	}
}

// A claim leases the job for Lease from the claim, and the module's work is
// bounded by RunTimeout, not by the lease, which the heartbeat renews.
func TestClaimLeasesAndRunTimeoutBoundsTheModule(t *testing.T) {
	f := setup(t)
	id := f.paidJob(t)
	const lease, runTimeout = 20 * time.Second, 3 * time.Minute
	var remaining, leased time.Duration
	var hasDeadline bool
	m := funcModule{handle: func(ctx context.Context, _ hostapi.Event) error {
		var dl time.Time
		dl, hasDeadline = ctx.Deadline()
		remaining = time.Until(dl)
		var until time.Time
		if err := f.db.Get(&until, "SELECT lease_until FROM upsell_jobs WHERE id = ?", id); err != nil {
			return err
		}
		leased = until.Sub(f.now)
		return nil
	}}
	w := f.worker("test", m)
	w.Lease, w.RunTimeout = lease, runTimeout
	if did, err := w.RunOnce(context.Background()); !did || err != nil {
		t.Fatalf("RunOnce: %v %v", did, err)
	}
	if !hasDeadline || remaining <= lease || remaining > runTimeout {
		t.Fatalf("handler had %v left (deadline %v), want more than the %v lease and at most %v", remaining, hasDeadline, lease, runTimeout)
	}
	if d := leased - lease; d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("lease_until is %v after the claim, want %v", leased, lease)
	}
}

// A worker whose lease expired while its module was working must not record
// an outcome over the replica that took the job over, even one with the same
// Owner (a misconfigured or restarted replica), whether that replica is
// still running the job or has finished it.
func TestStaleWorkerCannotRecordOverNewLease(t *testing.T) {
	tests := []struct {
		name     string
		staleErr error
	}{
		{"stale success", nil},
		{"stale failure would retry", hostapi.Errorf(hostapi.CodeUnavailable, "adapter down")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			id := f.paidJob(t)
			// The two workers' steps are ordered by channels: the
			// embedded engine does not isolate concurrent writers.
			expired, freshRunning, staleDone, checked := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})

			stale := f.worker("same", funcModule{handle: func(context.Context, hostapi.Event) error {
				// The lease runs out while the module works, and another
				// replica takes the job over.
				if _, err := f.db.Exec("UPDATE upsell_jobs SET lease_until = ? WHERE id = ?", f.now.Add(-time.Second), id); err != nil {
					return err
				}
				close(expired)
				<-freshRunning
				return tc.staleErr
			}})
			logger, logs := capture()
			stale.Logger = logger
			var staleResults, freshResults results
			stale.OnResult = staleResults.add

			var freshCalls atomic.Int64
			fresh := f.worker("same", funcModule{handle: func(context.Context, hostapi.Event) error {
				freshCalls.Add(1)
				close(freshRunning)
				<-checked
				return nil
			}})
			fresh.OnResult = freshResults.add

			var wg sync.WaitGroup
			wg.Go(func() {
				if did, err := stale.RunOnce(context.Background()); !did || err != nil {
					t.Errorf("stale RunOnce: %v %v", did, err)
				}
				close(staleDone)
			})
			<-expired
			var freshLease string
			wg.Go(func() {
				if did, err := fresh.RunOnce(context.Background()); !did || err != nil {
					t.Errorf("fresh RunOnce: %v %v", did, err)
				}
			})
			<-staleDone
			// The stale worker is done; the fresh one still runs the job.
			j := f.job(t, id)
			if j.State != "running" || j.Attempts != 2 || j.LeaseOwner == nil || !strings.HasPrefix(*j.LeaseOwner, "same/") {
				t.Errorf("while the new holder runs it, job is %+v; want still running under its lease", j)
			} else {
				freshLease = *j.LeaseOwner
			}
			close(checked)
			wg.Wait()

			if j := f.job(t, id); j.State != "done" || j.LeaseOwner != nil {
				t.Fatalf("job %+v, want done by the new holder", j)
			}
			if got := staleResults.list(); len(got) != 0 {
				t.Errorf("stale worker reported %v for a job it no longer held", got)
			}
			if got := freshResults.list(); !slices.Equal(got, []string{"event:ok"}) {
				t.Errorf("new holder reported %v", got)
			}
			if !strings.Contains(logs.String(), `"level":"WARN","msg":"job lease lost`) {
				t.Errorf("lost lease not logged:\n%s", logs)
			}
			if freshLease != "" && strings.Contains(logs.String(), freshLease) {
				t.Errorf("stale worker logged the new holder's lease %q as its own", freshLease)
			}
			if did, _ := fresh.RunOnce(context.Background()); did || freshCalls.Load() != 1 {
				t.Fatalf("job ran again (%d calls)", freshCalls.Load())
			}
		})
	}
}

// A job whose lease expired after its last attempt (the host crashed while
// running it, each time) is parked, not run forever.
func TestExpiredLeaseWithoutAttemptsLeftIsParked(t *testing.T) {
	f := setup(t)
	id := f.paidJob(t)
	if _, err := f.db.Exec("UPDATE upsell_jobs SET state = 'running', lease_owner = 'dead-replica/x', lease_until = ?, attempts = max_attempts WHERE id = ?", f.now.Add(-time.Second), id); err != nil {
		t.Fatal(err)
	}
	m := &countingModule{}
	w := f.worker("alive", m)
	var got results
	w.OnResult = got.add
	if did, err := w.RunOnce(context.Background()); !did || err != nil {
		t.Fatalf("RunOnce: %v %v", did, err)
	}
	j := f.job(t, id)
	if j.State != "dead" || j.LeaseOwner != nil || j.LastError == nil || *j.LastError != "lease expired after 3 attempts" {
		t.Fatalf("job %+v, want dead after 3 attempts", j)
	}
	if m.calls.Load() != 0 {
		t.Fatal("job past its attempts was run")
	}
	if !slices.Equal(got.list(), []string{"event:dead"}) {
		t.Fatalf("reported %v", got.list())
	}
	if did, _ := w.RunOnce(context.Background()); did {
		t.Fatal("parked job claimed again")
	}
}

// Due pending jobs are taken before expired leases, and both are found.
func TestClaimTakesDueJobsThenExpiredLeases(t *testing.T) {
	f := setup(t)
	expired, due := f.paidJob(t), f.paidJob(t)
	if _, err := f.db.Exec("UPDATE upsell_jobs SET state = 'running', lease_owner = 'dead-replica/x', lease_until = ?, attempts = 1 WHERE id = ?", f.now.Add(-time.Second), expired); err != nil {
		t.Fatal(err)
	}
	var order []uint64
	w := f.worker("alive", funcModule{handle: func(_ context.Context, ev hostapi.Event) error {
		order = append(order, ev.ID)
		return nil
	}})
	for {
		did, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !did {
			break
		}
	}
	if !slices.Equal(order, []uint64{due, expired}) {
		t.Fatalf("ran %v, want %v", order, []uint64{due, expired})
	}
}

// On shutdown the job being run is finished and recorded, and no other job
// is taken.
func TestShutdownFinishesRunningJob(t *testing.T) {
	f := setup(t)
	first, second := f.paidJob(t), f.paidJob(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var handlerErr error
	var calls atomic.Int64
	m := funcModule{handle: func(ctx context.Context, _ hostapi.Event) error {
		calls.Add(1)
		close(entered)
		<-release
		// Mid-provision: the work goes on after the shutdown began.
		handlerErr = ctx.Err()
		return handlerErr
	}}
	w := f.worker("test", m)
	var got results
	w.OnResult = got.add

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx, 10*time.Millisecond) })
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("job never started")
	}
	cancel()
	close(release)
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}

	if handlerErr != nil {
		t.Fatalf("the running job's context ended with the shutdown: %v", handlerErr)
	}
	if j := f.job(t, first); j.State != "done" || j.LeaseOwner != nil {
		t.Fatalf("running job left %+v, want done", j)
	}
	if j := f.job(t, second); j.State != "pending" || j.Attempts != 0 {
		t.Fatalf("job claimed after shutdown: %+v", j)
	}
	if calls.Load() != 1 || !slices.Equal(got.list(), []string{"event:ok"}) {
		t.Fatalf("%d calls, reported %v", calls.Load(), got.list())
	}
	if did, err := w.RunOnce(ctx); did || !errors.Is(err, context.Canceled) {
		t.Fatalf("RunOnce after shutdown: %v %v", did, err)
	}
}

// Several replicas working the same queue deliver each job once.
func TestConcurrentWorkersDeliverEachJobOnce(t *testing.T) {
	f := setup(t)
	f.db.RequireMySQL(t)
	const jobs, workers = 12, 4
	for range jobs {
		f.paidJob(t)
	}
	var mu sync.Mutex
	delivered := map[uint64]int{}
	m := funcModule{handle: func(_ context.Context, ev hostapi.Event) error {
		mu.Lock()
		defer mu.Unlock()
		delivered[ev.ID]++
		return nil
	}}
	var wg sync.WaitGroup
	for i := range workers {
		w := f.worker("replica-"+string(rune('a'+i)), m)
		wg.Go(func() {
			for {
				did, err := w.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if !did {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(delivered) != jobs {
		t.Fatalf("delivered %d of %d jobs", len(delivered), jobs)
	}
	for id, n := range delivered {
		if n != 1 {
			t.Errorf("job %d delivered %d times", id, n)
		}
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_jobs WHERE state = 'done'"); n != jobs {
		t.Fatalf("%d jobs done, want %d", n, jobs)
	}
}

// A database that restarts while a job's handler runs does not leave the
// job 'running' for the rest of its lease: the worker records the outcome
// once the database is back.
func TestOutcomeRecordedAfterDatabaseRestart(t *testing.T) {
	srv := testdb.StartServer(t)
	f := setupOn(t, testdb.NewOn(t, srv.DSN()))
	id := f.paidJob(t)
	restarted := make(chan struct{})
	m := funcModule{handle: func(context.Context, hostapi.Event) error {
		// The work is done (the panel's server changed); the database goes
		// away before the outcome is written and comes back a moment later.
		srv.Stop()
		go func() { defer close(restarted); srv.Start() }()
		return nil
	}}
	w := f.worker("test", m)
	w.Lease = time.Hour
	var got results
	w.OnResult = got.add
	did, err := w.RunOnce(context.Background())
	<-restarted
	if !did || err != nil {
		t.Fatalf("RunOnce: %v %v, want the job run and its outcome recorded", did, err)
	}
	if j := f.job(t, id); j.State != "done" || j.Attempts != 1 || j.LeaseOwner != nil {
		t.Fatalf("job after the restart: %+v, want done after 1 attempt", j)
	}
	if !slices.Equal(got.list(), []string{"event:ok"}) {
		t.Fatalf("reported %v", got.list())
	}
}
