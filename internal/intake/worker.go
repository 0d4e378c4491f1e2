package intake

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/sqlerr"
)

// Modules gives the live module by name (the supervisor).
type Modules interface {
	Module(name string) (hostapi.Module, error)
}

// Worker runs jobs: it claims one with a lease, delivers it to its module and
// records the outcome.
//
// Every claim writes a fresh lease token into lease_owner, and the outcome is
// recorded only where that token is still in place. A worker whose lease ran
// out and was taken over by another replica therefore cannot overwrite the
// newer holder's bookkeeping; it logs the lost lease instead.
//
// While the module works, a heartbeat renews the lease every Heartbeat, again
// only where the claim's token is still in place. The lease can therefore be
// short, so a crashed replica's job is taken over soon, while a long job on a
// live replica keeps it. The module's context is cancelled when a renewal
// finds the token gone (another replica took the job) or when no renewal has
// succeeded for three quarters of the lease (the database is unreachable),
// so the module stops before another replica may take the job over.
type Worker struct {
	DB      *sqlx.DB
	Modules Modules
	// Owner identifies this replica in leases; lease_owner holds
	// Owner + "/" + a random token per claim.
	Owner string
	// Lease is how long a claim holds a job without a renewal: how long a
	// crashed replica's job waits before another replica takes it over.
	// Default DefaultLease.
	Lease time.Duration
	// Heartbeat is how often a running job's lease is renewed; default a
	// quarter of Lease.
	Heartbeat time.Duration
	// RunTimeout bounds the module's work on one job, however often its
	// lease is renewed; default DefaultRunTimeout.
	RunTimeout time.Duration
	// Invoices reads the panel's invoice states (the panel binding). When
	// set, a paid-invoice job that fails, or that its module does not
	// handle, while the panel does not call the invoice paid is forgotten
	// with its inbox row instead of being retried: the poller and the next
	// webhook record the invoice again once it is paid.
	Invoices StatusReader
	Logger   *slog.Logger
	// Backoff is the delay before retry n (1-based).
	Backoff func(attempt int) time.Duration
	Now     func() time.Time
	// After is time.After; with Now it lets tests drive the heartbeat with
	// a clock they advance.
	After func(d time.Duration) <-chan time.Time
	// OnResult is told every job's outcome (metrics) once it is recorded.
	OnResult func(kind, result string)
}

// Lease figures. A replica killed mid-job holds it for at most DefaultLease
// after its last renewal; a live one renews every DefaultLease/4, so two
// renewals in a row may fail (a slow database, a pause) before its module is
// stopped at three quarters of the lease, which leaves a quarter (5 s) for the
// module to stop and for clock differences between replicas.
const (
	DefaultLease      = 20 * time.Second
	DefaultRunTimeout = 2 * time.Minute
)

// Why a job's context was cancelled by the worker rather than by the module.
var (
	errLeaseLost     = errors.New("job lease lost: another worker took the job over")
	errLeaseExpiring = errors.New("job lease not renewed for three quarters of its length")
	errRunTimeout    = errors.New("job ran past the worker's run timeout")
)

// Job is a claimed job.
type Job struct {
	ID          uint64        `db:"id"`
	Kind        string        `db:"kind"`
	Module      string        `db:"module"`
	InboxID     sql.NullInt64 `db:"inbox_id"`
	Payload     string        `db:"payload"`
	Attempts    int           `db:"attempts"`
	MaxAttempts int           `db:"max_attempts"`

	// leaseOwner is the lease_owner this claim wrote.
	leaseOwner string
	// leasedAt is the time lease_until was last computed from (Now).
	leasedAt time.Time
	// leaseEnd is when the lease ends by this replica's wall clock (moved
	// on by each renewal); an outcome is retried until then.
	leaseEnd time.Time
}

// Claim queries, one per index: (state, run_after) serves due pending jobs,
// (state, lease_until) expired running ones. A single query OR-ing both
// conditions could use neither and would scan, and with FOR UPDATE possibly
// lock, the ever-growing set of done jobs.
const (
	jobColumns     = `SELECT id, kind, module, inbox_id, payload, attempts, max_attempts FROM upsell_jobs`
	claimDueJob    = jobColumns + ` WHERE state = 'pending' AND run_after <= ? ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED`
	claimExpired   = jobColumns + ` WHERE state = 'running' AND lease_until < ? ORDER BY lease_until, id LIMIT 1 FOR UPDATE SKIP LOCKED`
	leaseJob       = `UPDATE upsell_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_until = ?, updated_at = ? WHERE id = ?`
	parkExpiredJob = `UPDATE upsell_jobs SET state = 'dead', lease_owner = NULL, lease_until = NULL, last_error = ?, updated_at = ? WHERE id = ?`
	finishJob      = `UPDATE upsell_jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = ? WHERE id = ? AND lease_owner = ?`
	retryJob       = `UPDATE upsell_jobs SET state = ?, run_after = ?, lease_owner = NULL, lease_until = NULL, last_error = ?, updated_at = ? WHERE id = ? AND lease_owner = ?`
	renewLease     = `UPDATE upsell_jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`
	forgetJob      = `DELETE FROM upsell_jobs WHERE id = ? AND lease_owner = ?`
	forgetInbox    = `DELETE FROM upsell_inbox WHERE id = ?`
)

const (
	// bookkeepingTimeout bounds a claim or one try at recording an outcome
	// (record tries again until the lease ends). These run on a context
	// detached from shutdown, so that a claimed job is always run and its
	// outcome always recorded.
	bookkeepingTimeout = 10 * time.Second
	// leaseOwnerMax is the width of upsell_jobs.lease_owner.
	leaseOwnerMax = 128
	// leaseTokenLen is the length of the hex token appended to Owner.
	leaseTokenLen = 16
)

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return DefaultLease
}

func (w *Worker) heartbeatEvery() time.Duration {
	if w.Heartbeat > 0 {
		return w.Heartbeat
	}
	return w.lease() / 4
}

func (w *Worker) runTimeout() time.Duration {
	if w.RunTimeout > 0 {
		return w.RunTimeout
	}
	return DefaultRunTimeout
}

func (w *Worker) after(d time.Duration) <-chan time.Time {
	if w.After != nil {
		return w.After(d)
	}
	return time.After(d)
}

// unrenewedBudget is how long a module may go on working without a renewed
// lease: three quarters of the lease. The rest covers the module stopping,
// recording the outcome and the clock difference between this replica and
// the one that will judge the lease expired, so the module has given up
// before another replica may take the job over.
func (w *Worker) unrenewedBudget() time.Duration {
	return w.lease() * 3 / 4
}

// newLeaseOwner returns Owner plus a token unique to one claim. Owner is cut
// so the whole fits lease_owner: a value the server truncated would never
// match again, and the job's outcome could not be recorded.
func (w *Worker) newLeaseOwner() string {
	var token [leaseTokenLen / 2]byte
	_, _ = rand.Read(token[:]) // never fails (crypto/rand)
	prefix := w.Owner
	if room := leaseOwnerMax - leaseTokenLen - 1; len(prefix) > room {
		prefix = prefix[:room]
	}
	return prefix + "/" + hex.EncodeToString(token[:])
}

// claimed is what claim found: a job to run, or a job parked because its
// attempts ran out while leased.
type claimed struct {
	job    *Job
	parked bool
}

// claim takes the next due job, or finds none. A running job whose lease
// expired has crashed or lost its replica; if it has used up its attempts it
// is parked as dead instead of being run again, so a job that kills its
// host is not retried forever.
func (w *Worker) claim(ctx context.Context) (claimed, error) {
	tx, err := w.DB.BeginTxx(ctx, nil)
	if err != nil {
		return claimed{}, err
	}
	defer tx.Rollback()
	now := w.now()
	var j Job
	err = tx.GetContext(ctx, &j, claimDueJob, now)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.GetContext(ctx, &j, claimExpired, now)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return claimed{}, nil
	}
	if err != nil {
		return claimed{}, fmt.Errorf("claim job: %w", err)
	}
	if j.Attempts >= j.MaxAttempts {
		msg := fmt.Sprintf("lease expired after %d attempts", j.Attempts)
		if _, err := tx.ExecContext(ctx, parkExpiredJob, msg, now, j.ID); err != nil {
			return claimed{}, fmt.Errorf("park job: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return claimed{}, fmt.Errorf("commit park: %w", err)
		}
		w.Logger.Warn("job parked", "job", j.ID, "module", j.Module, "attempt", j.Attempts, "state", "dead", "error", msg)
		return claimed{job: &j, parked: true}, nil
	}
	j.leaseOwner = w.newLeaseOwner()
	if _, err := tx.ExecContext(ctx, leaseJob, j.leaseOwner, now.Add(w.lease()), now, j.ID); err != nil {
		return claimed{}, fmt.Errorf("lease job: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return claimed{}, fmt.Errorf("commit lease: %w", err)
	}
	j.Attempts++
	j.leasedAt = now
	j.leaseEnd = time.Now().Add(w.lease())
	return claimed{job: &j}, nil
}

// RunOnce claims and runs one job; it reports whether there was one. It
// claims nothing once ctx has ended, but a job it has claimed is run to its
// end (while its lease holds) and its outcome recorded, whatever happens to
// ctx: cancelling it half-way would leave a half-provisioned job marked
// running until its lease expired.
func (w *Worker) RunOnce(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	detached := context.WithoutCancel(ctx)
	claimCtx, cancel := context.WithTimeout(detached, bookkeepingTimeout)
	c, err := w.claim(claimCtx)
	cancel()
	if err != nil || c.job == nil {
		return false, err
	}
	j := c.job
	if c.parked {
		w.result(j.Kind, "dead")
		return true, nil
	}

	handled, runErr := w.run(detached, j)

	bookCtx, cancel := context.WithTimeout(detached, bookkeepingTimeout)
	defer cancel()
	if runErr != nil || !handled {
		if forgotten, err := w.forgetUnpaid(bookCtx, j, runErr); forgotten || err != nil {
			return true, err
		}
	}
	now := w.now()
	var res sql.Result
	outcome := "ok"
	if runErr == nil {
		res, err = w.record(detached, j, finishJob, now, j.ID, j.leaseOwner)
	} else {
		outcome = "pending"
		if j.Attempts >= j.MaxAttempts || hostapi.CodeOf(runErr) == hostapi.CodeInvalid {
			outcome = "dead"
		}
		w.Logger.Warn("job failed", "job", j.ID, "module", j.Module, "attempt", j.Attempts, "state", outcome, "error", runErr)
		res, err = w.record(detached, j, retryJob, outcome, now.Add(w.backoff(j.Attempts)), runErr.Error(), now, j.ID, j.leaseOwner)
	}
	if err != nil {
		return true, fmt.Errorf("record job %d outcome %s: %w", j.ID, outcome, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return true, fmt.Errorf("record job %d outcome %s: %w", j.ID, outcome, err)
	} else if n == 0 {
		w.lostLease(j, outcome)
		return true, nil
	}
	w.result(j.Kind, outcome)
	return true, nil
}

// Waits between tries to record an outcome while the database is out of
// reach.
const (
	recordRetryMin = 50 * time.Millisecond
	recordRetryMax = 2 * time.Second
)

// record writes a job's outcome (query, guarded by the claim's lease
// token). A database out of reach (restarting, failing over, not
// answering) is waited for until the job's lease ends: the module's work
// is done, and an outcome left unrecorded would hold the job 'running' for
// the rest of its lease and then run it again. Once the lease has ended
// another replica may hold the job, and its outcome is the job's.
func (w *Worker) record(ctx context.Context, j *Job, query string, args ...any) (sql.Result, error) {
	wait := recordRetryMin
	for {
		tryCtx, cancel := context.WithTimeout(ctx, bookkeepingTimeout)
		res, err := w.DB.ExecContext(tryCtx, query, args...)
		timedOut := tryCtx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			return res, nil
		}
		if code, _ := sqlerr.Code(err); code != hostapi.CodeUnavailable && !timedOut {
			return nil, err
		}
		if time.Now().Add(wait).After(j.leaseEnd) {
			return nil, fmt.Errorf("database out of reach until the lease ended: %w", err)
		}
		w.Logger.Warn("job outcome not recorded yet: database out of reach", "job", j.ID, "module", j.Module, "retry_in", wait, "error", err)
		time.Sleep(wait)
		wait = min(2*wait, recordRetryMax)
	}
}

// lostLease logs an outcome that could not be recorded: another replica took
// the job over after the lease expired, and its outcome, not this one, is the
// job's.
func (w *Worker) lostLease(j *Job, outcome string) {
	w.Logger.Warn("job lease lost before its outcome was recorded", "job", j.ID, "module", j.Module,
		"attempt", j.Attempts, "outcome", outcome, "lease_owner", j.leaseOwner)
}

// forgetUnpaid deletes a paid-invoice job, and its inbox row, that failed or
// was not handled while the panel does not call its invoice paid: an unpaid
// invoice is not a failure to retry until the job is dead, and without an
// inbox row the poller watches the invoice again and the next webhook is new.
// It reports whether it forgot the job (or found it taken over); a panel it
// cannot read leaves the job to the usual retry.
func (w *Worker) forgetUnpaid(ctx context.Context, j *Job, runErr error) (bool, error) {
	if w.Invoices == nil || j.Kind != "event" {
		return false, nil
	}
	var p jobPayload
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil || p.Kind != hostapi.InvoicePaidEvent {
		return false, nil
	}
	paid, err := isPaid(ctx, w.Invoices, p.InvoiceID)
	if err != nil {
		w.Logger.Warn("job failed and the invoice's state is unknown", "job", j.ID, "invoice_id", p.InvoiceID, "error", err)
		return false, nil
	}
	if paid {
		return false, nil
	}
	tx, err := w.DB.BeginTxx(ctx, nil)
	if err != nil {
		return true, fmt.Errorf("forget job %d: %w", j.ID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, forgetJob, j.ID, j.leaseOwner)
	if err != nil {
		return true, fmt.Errorf("forget job %d: %w", j.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		w.lostLease(j, "unpaid")
		return true, nil
	}
	if j.InboxID.Valid {
		if _, err := tx.ExecContext(ctx, forgetInbox, j.InboxID.Int64); err != nil {
			return true, fmt.Errorf("forget inbox row of job %d: %w", j.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return true, fmt.Errorf("commit forget job %d: %w", j.ID, err)
	}
	msg := "not handled"
	if runErr != nil {
		msg = runErr.Error()
	}
	w.Logger.Info("invoice not paid: job forgotten until the poller or a webhook finds it paid", "job", j.ID,
		"module", j.Module, "invoice_id", p.InvoiceID, "attempt", j.Attempts, "error", msg)
	w.result(j.Kind, "unpaid")
	return true, nil
}

func (w *Worker) result(kind, result string) {
	if w.OnResult != nil {
		w.OnResult(kind, result)
	}
}

func (w *Worker) backoff(attempt int) time.Duration {
	if w.Backoff != nil {
		return w.Backoff(attempt)
	}
	d := time.Second << min(attempt, 10)
	return min(d, 10*time.Minute)
}

// run delivers j to its module while a heartbeat renews the job's lease. It
// reports whether the module handled the event.
func (w *Worker) run(ctx context.Context, j *Job) (bool, error) {
	var p jobPayload
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
		return false, hostapi.Invalid("payload", "job %d payload: %v", j.ID, err)
	}
	m, err := w.Modules.Module(j.Module)
	if err != nil {
		return false, err
	}
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, w.runTimeout(), errRunTimeout)
	defer cancelTimeout()
	ctx, stop := context.WithCancelCause(ctx)
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		w.heartbeat(ctx, j, stop)
	}()
	ev := hostapi.Event{ID: j.ID, Kind: p.Kind, Panel: p.Panel, InvoiceID: p.InvoiceID, Attempt: j.Attempts, CreatedAt: w.now()}
	res, err := m.HandleEvent(ctx, ev)
	// The heartbeat ends before the outcome is recorded, so no renewal
	// races the update that clears the lease.
	stop(nil)
	<-beat
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = fmt.Errorf("%w: %w", cause, err)
	}
	return res.Handled, err
}

// heartbeat renews j's lease every heartbeatEvery until ctx ends. It cancels
// ctx (through stop) when the claim's token is gone, or when no renewal has
// succeeded for unrenewedBudget. A failed renewal is retried at the next
// beat; each one is bounded by the beat, so a hung database cannot stall the
// budget check.
func (w *Worker) heartbeat(ctx context.Context, j *Job, stop context.CancelCauseFunc) {
	renewedAt := j.leasedAt
	every := w.heartbeatEvery()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.after(every):
		}
		now := w.now()
		if !now.After(renewedAt) {
			// No time has passed (or the clock stepped back): the lease
			// in place is as long as a renewal would make it.
			continue
		}
		if now.Sub(renewedAt) >= w.unrenewedBudget() {
			w.Logger.Warn("job lease not renewed in time; stopping the job", "job", j.ID, "module", j.Module,
				"attempt", j.Attempts, "renewed_at", renewedAt)
			stop(errLeaseExpiring)
			return
		}
		renewCtx, cancel := context.WithTimeout(ctx, every)
		res, err := w.DB.ExecContext(renewCtx, renewLease, now.Add(w.lease()), now, j.ID, j.leaseOwner)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				w.Logger.Warn("renew job lease", "job", j.ID, "module", j.Module, "error", err)
			}
			continue
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			w.Logger.Warn("job lease lost; stopping the job", "job", j.ID, "module", j.Module,
				"attempt", j.Attempts, "lease_owner", j.leaseOwner)
			stop(errLeaseLost)
			return
		}
		renewedAt = now
		j.leaseEnd = time.Now().Add(w.lease())
	}
}

// Run works until ctx ends, idling for idle between empty polls. When ctx
// ends it takes no new job, but finishes and records the one it is running.
func (w *Worker) Run(ctx context.Context, idle time.Duration) {
	for ctx.Err() == nil {
		did, err := w.RunOnce(ctx)
		// After shutdown only a job's bookkeeping (did) can still fail for
		// a reason worth reporting; a refused claim is the shutdown itself.
		if err != nil && (did || ctx.Err() == nil) {
			w.Logger.Warn("job loop", "error", err)
		}
		if !did || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(idle):
			}
		}
	}
}
