package intake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
)

// JobView is a job as `upsell jobs` and the admin API show it.
type JobView struct {
	ID          uint64     `db:"id" json:"id"`
	Kind        string     `db:"kind" json:"kind"`
	Module      string     `db:"module" json:"module"`
	State       string     `db:"state" json:"state"`
	Attempts    int        `db:"attempts" json:"attempts"`
	MaxAttempts int        `db:"max_attempts" json:"max_attempts"`
	Payload     string     `db:"payload" json:"payload"`
	LastError   *string    `db:"last_error" json:"last_error,omitempty"`
	RunAfter    time.Time  `db:"run_after" json:"run_after"`
	LeaseUntil  *time.Time `db:"lease_until" json:"lease_until,omitempty"`
	UpdatedAt   time.Time  `db:"updated_at" json:"updated_at"`
}

const (
	listJobsByState = `SELECT id, kind, module, state, attempts, max_attempts, payload, last_error, run_after, lease_until, updated_at
FROM upsell_jobs WHERE state = ? ORDER BY id DESC LIMIT ?`
	listJobs = `SELECT id, kind, module, state, attempts, max_attempts, payload, last_error, run_after, lease_until, updated_at
FROM upsell_jobs ORDER BY id DESC LIMIT ?`
	retryDeadJob = `UPDATE upsell_jobs SET state = 'pending', attempts = 0, run_after = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
WHERE id = ? AND state = 'dead'`
	jobState = `SELECT state FROM upsell_jobs WHERE id = ?`
)

// ListJobs returns the newest jobs, of one state when state is not empty.
func ListJobs(ctx context.Context, db *sqlx.DB, state string, limit int) ([]JobView, error) {
	switch state {
	case "", "pending", "running", "done", "dead":
	default:
		return nil, hostapi.Invalid("state", "unknown job state %q (pending, running, done, dead)", state)
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []JobView
	var err error
	if state == "" {
		err = db.SelectContext(ctx, &out, listJobs, limit)
	} else {
		err = db.SelectContext(ctx, &out, listJobsByState, state, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return out, nil
}

// RetryJob puts a dead job back in the queue with a fresh attempt budget.
func RetryJob(ctx context.Context, db *sqlx.DB, id uint64, now time.Time) error {
	res, err := db.ExecContext(ctx, retryDeadJob, now.UTC(), now.UTC(), id)
	if err != nil {
		return fmt.Errorf("retry job %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var state string
	if err := db.GetContext(ctx, &state, jobState, id); errors.Is(err, sql.ErrNoRows) {
		return hostapi.Errorf(hostapi.CodeNotFound, "no job %d", id)
	} else if err != nil {
		return fmt.Errorf("read job %d: %w", id, err)
	}
	return hostapi.Errorf(hostapi.CodePrecondition, "job %d is %s; only dead jobs are retried", id, state)
}
