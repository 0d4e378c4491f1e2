package intake

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
)

// Modules gives the live module by name (the supervisor).
type Modules interface {
	Module(name string) (hostapi.Module, error)
}

// Worker runs jobs: it claims one with a lease, delivers it to its module and
// records the outcome.
type Worker struct {
	DB      *sqlx.DB
	Modules Modules
	// Owner identifies this replica in leases.
	Owner  string
	Lease  time.Duration
	Logger *slog.Logger
	// Backoff is the delay before retry n (1-based).
	Backoff func(attempt int) time.Duration
	Now     func() time.Time
	// OnResult is told every job's outcome (metrics).
	OnResult func(kind, result string)
}

// Job is a claimed job.
type Job struct {
	ID          uint64        `db:"id"`
	Kind        string        `db:"kind"`
	Module      string        `db:"module"`
	InboxID     sql.NullInt64 `db:"inbox_id"`
	Payload     string        `db:"payload"`
	Attempts    int           `db:"attempts"`
	MaxAttempts int           `db:"max_attempts"`
}

const (
	claimJob = `SELECT id, kind, module, inbox_id, payload, attempts, max_attempts FROM upsell_jobs
WHERE (state = 'pending' AND run_after <= ?) OR (state = 'running' AND lease_until < ?)
ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED`
	leaseJob  = `UPDATE upsell_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_until = ?, updated_at = ? WHERE id = ?`
	finishJob = `UPDATE upsell_jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = ? WHERE id = ? AND lease_owner = ?`
	retryJob  = `UPDATE upsell_jobs SET state = ?, run_after = ?, lease_owner = NULL, lease_until = NULL, last_error = ?, updated_at = ? WHERE id = ? AND lease_owner = ?`
)

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

// claim takes the next due job, or returns nil.
func (w *Worker) claim(ctx context.Context) (*Job, error) {
	tx, err := w.DB.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := w.now()
	var j Job
	if err := tx.GetContext(ctx, &j, claimJob, now, now); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("claim job: %w", err)
	}
	if _, err := tx.ExecContext(ctx, leaseJob, w.Owner, now.Add(w.lease()), now, j.ID); err != nil {
		return nil, fmt.Errorf("lease job: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit lease: %w", err)
	}
	j.Attempts++
	return &j, nil
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return 2 * time.Minute
}

// RunOnce claims and runs one job; it reports whether there was one.
func (w *Worker) RunOnce(ctx context.Context) (bool, error) {
	j, err := w.claim(ctx)
	if err != nil || j == nil {
		return false, err
	}
	runErr := w.run(ctx, j)
	now := w.now()
	if runErr == nil {
		_, err = w.DB.ExecContext(ctx, finishJob, now, j.ID, w.Owner)
		w.result(j.Kind, "ok")
		return true, err
	}
	state, after := "pending", now.Add(w.backoff(j.Attempts))
	if j.Attempts >= j.MaxAttempts || hostapi.CodeOf(runErr) == hostapi.CodeInvalid {
		state = "dead"
	}
	w.Logger.Warn("job failed", "job", j.ID, "module", j.Module, "attempt", j.Attempts, "state", state, "error", runErr)
	_, err = w.DB.ExecContext(ctx, retryJob, state, after, runErr.Error(), now, j.ID, w.Owner)
	w.result(j.Kind, state)
	return true, err
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

func (w *Worker) run(ctx context.Context, j *Job) error {
	var p jobPayload
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
		return hostapi.Invalid("payload", "job %d payload: %v", j.ID, err)
	}
	m, err := w.Modules.Module(j.Module)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, w.lease())
	defer cancel()
	ev := hostapi.Event{ID: j.ID, Kind: p.Kind, Panel: p.Panel, InvoiceID: p.InvoiceID, Attempt: j.Attempts, CreatedAt: w.now()}
	_, err = m.HandleEvent(ctx, ev)
	return err
}

// Run works until ctx ends, idling for idle between empty polls.
func (w *Worker) Run(ctx context.Context, idle time.Duration) {
	for ctx.Err() == nil {
		did, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
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
