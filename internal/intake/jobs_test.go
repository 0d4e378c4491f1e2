package intake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/intake"
)

func TestDeadJobsAreListedAndRetried(t *testing.T) {
	f := setup(t)
	inv := f.paidInvoice(t, "microupsell")
	if _, err := f.inbox.RecordPaid(context.Background(), inv, intake.FromWebhook); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("UPDATE upsell_jobs SET state = 'dead', attempts = 10, last_error = 'adapter down'"); err != nil {
		t.Fatal(err)
	}
	dead, err := intake.ListJobs(context.Background(), f.db.DB, "dead", 10)
	if err != nil || len(dead) != 1 || dead[0].LastError == nil || *dead[0].LastError != "adapter down" {
		t.Fatalf("dead jobs %+v %v", dead, err)
	}
	if _, err := intake.ListJobs(context.Background(), f.db.DB, "exploded", 10); !errors.Is(err, hostapi.ErrInvalid) {
		t.Fatalf("unknown state: %v", err)
	}
	if err := intake.RetryJob(context.Background(), f.db.DB, dead[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	again, _ := intake.ListJobs(context.Background(), f.db.DB, "pending", 10)
	if len(again) != 1 || again[0].Attempts != 0 {
		t.Fatalf("after retry: %+v", again)
	}
	if err := intake.RetryJob(context.Background(), f.db.DB, dead[0].ID, time.Now()); !errors.Is(err, hostapi.ErrPrecondition) {
		t.Fatalf("retry of a pending job: %v", err)
	}
	if err := intake.RetryJob(context.Background(), f.db.DB, 99999, time.Now()); !errors.Is(err, hostapi.ErrNotFound) {
		t.Fatalf("retry of a missing job: %v", err)
	}
}
