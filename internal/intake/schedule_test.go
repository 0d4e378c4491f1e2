package intake_test

import (
	"context"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/intake"
)

// Two replicas enqueue in the same slot: one job. The next slot: another.
func TestSchedulerOneJobPerSlot(t *testing.T) {
	f := setup(t)
	now := time.Date(2026, 11, 21, 10, 0, 30, 0, time.UTC)
	replica := func() *intake.Scheduler {
		return &intake.Scheduler{DB: f.db.DB, Modules: func() []string { return []string{"microupsell", "configoptions"} },
			Interval: 5 * time.Minute, Now: func() time.Time { return now }}
	}
	a, b := replica(), replica()
	if n, err := a.Enqueue(context.Background()); err != nil || n != 2 {
		t.Fatalf("first replica: %d %v", n, err)
	}
	if n, err := b.Enqueue(context.Background()); err != nil || n != 0 {
		t.Fatalf("second replica, same slot: %d %v", n, err)
	}
	now = now.Add(5 * time.Minute)
	if n, err := b.Enqueue(context.Background()); err != nil || n != 2 {
		t.Fatalf("next slot: %d %v", n, err)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_jobs WHERE kind = 'reconcile'"); n != 4 {
		t.Fatalf("%d reconcile jobs, want 4", n)
	}
}

// Finished jobs older than a week are pruned; recent ones and dead ones stay.
func TestSchedulerPrunesOldDoneJobs(t *testing.T) {
	f := setup(t)
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	s := &intake.Scheduler{DB: f.db.DB, Modules: func() []string { return []string{"microupsell"} }, Interval: time.Minute, Now: func() time.Time { return now }}
	for i := range 3 {
		now = now.Add(time.Minute)
		if _, err := s.Enqueue(context.Background()); err != nil {
			t.Fatal(i, err)
		}
	}
	old := now.Add(-8 * 24 * time.Hour)
	if _, err := f.db.Exec("UPDATE upsell_jobs SET state = 'done', updated_at = ? WHERE id = (SELECT MIN(id) FROM (SELECT id FROM upsell_jobs) j)", old); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("UPDATE upsell_jobs SET state = 'dead', updated_at = ? WHERE id = (SELECT MAX(id) FROM (SELECT id FROM upsell_jobs) j)", old); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}
	if left := f.count(t, "SELECT COUNT(*) FROM upsell_jobs"); left != 2 {
		t.Fatalf("%d jobs left, want 2 (a recent pending one and the dead one)", left)
	}
}
