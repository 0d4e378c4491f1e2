package intake

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
)

// Scheduler enqueues a periodic reconcile job for each module that asked for
// one. Every replica runs a Scheduler; the job's dedupe key names the time
// slot, so each slot yields exactly one job, run by whichever replica claims
// it.
type Scheduler struct {
	DB *sqlx.DB
	// Modules lists the modules subscribed to hostapi.ReconcileEvent.
	Modules     func() []string
	Interval    time.Duration
	MaxAttempts int
	Logger      *slog.Logger
	Now         func() time.Time
}

// Enqueue adds the current slot's job for every subscribed module; it
// returns how many were new.
func (s *Scheduler) Enqueue(ctx context.Context) (int, error) {
	now := time.Now().UTC()
	if s.Now != nil {
		now = s.Now().UTC()
	}
	slot := now.Unix() / int64(s.Interval/time.Second)
	payload, _ := json.Marshal(jobPayload{Kind: hostapi.ReconcileEvent})
	attempts := s.MaxAttempts
	if attempts <= 0 {
		attempts = 3
	}
	n := 0
	for _, module := range s.Modules() {
		dedupe := fmt.Sprintf("%s:%s:%d", hostapi.ReconcileEvent, module, slot)
		res, err := s.DB.ExecContext(ctx, insertJobIgnore, string(hostapi.ReconcileEvent), module, nil, dedupe, string(payload), attempts, now, now, now)
		if err != nil {
			return n, fmt.Errorf("enqueue reconcile for %s: %w", module, err)
		}
		if k, _ := res.RowsAffected(); k == 1 {
			n++
		}
	}
	return n, nil
}

// doneJobRetention is how long finished jobs stay for `upsell jobs` before
// the scheduler prunes them; dead jobs stay until an admin retries them.
const doneJobRetention = 7 * 24 * time.Hour

// pruneDone deletes a bounded batch of old finished jobs, so the table does
// not grow by a reconcile job per module every few minutes forever.
const pruneDone = `DELETE FROM upsell_jobs WHERE state = 'done' AND updated_at < ? LIMIT 1000`

// Prune deletes finished jobs older than the retention; it returns how many.
func (s *Scheduler) Prune(ctx context.Context) (int64, error) {
	now := time.Now().UTC()
	if s.Now != nil {
		now = s.Now().UTC()
	}
	res, err := s.DB.ExecContext(ctx, pruneDone, now.Add(-doneJobRetention))
	if err != nil {
		return 0, fmt.Errorf("prune done jobs: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Run enqueues once per interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	if s.Interval < time.Second {
		s.Interval = time.Second
	}
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		if _, err := s.Enqueue(ctx); err != nil && ctx.Err() == nil && s.Logger != nil {
			s.Logger.Warn("schedule reconcile", "error", err)
		}
		if _, err := s.Prune(ctx); err != nil && ctx.Err() == nil && s.Logger != nil {
			s.Logger.Warn("prune jobs", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
