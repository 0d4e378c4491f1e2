package intake_test

import (
	"context"
	"testing"

	"github.com/upsell-io/upsell/internal/intake"
)

// Invoices that are never paid stay open for the whole window; the poller
// must still reach newer invoices behind them, and come back to the oldest.
func TestPollerReachesNewerInvoicesPastUnpaidOnes(t *testing.T) {
	f := setup(t)
	const batch, open = 2, 5
	var invoices []uint64
	for range open {
		invoices = append(invoices, f.invoice(t, "microupsell"))
	}
	for _, id := range invoices[:open-1] {
		if _, err := f.db.Exec("UPDATE invoices SET status = 'cancelled' WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
	}
	newest := invoices[open-1]
	if _, err := f.db.Exec("UPDATE invoices SET status = 'paid' WHERE id = ?", newest); err != nil {
		t.Fatal(err)
	}

	p := &intake.Poller{Inbox: f.inbox, Panel: f.binding, Logger: discard(), Batch: batch}
	roundsNeeded := (open + batch - 1) / batch
	found := 0
	for round := 1; round <= roundsNeeded; round++ {
		n, err := p.Poll(context.Background())
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		found += n
	}
	if found != 1 || f.count(t, "SELECT COUNT(*) FROM upsell_inbox WHERE invoice_id = ?", newest) != 1 {
		t.Fatalf("after %d rounds of %d found %d paid invoices, want the newest", roundsNeeded, batch, found)
	}

	// The last round was short: the next one starts over from the oldest.
	oldest := invoices[0]
	if _, err := f.db.Exec("UPDATE invoices SET status = 'paid' WHERE id = ?", oldest); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Poll(context.Background()); err != nil || n != 1 {
		t.Fatalf("round after the wrap found %d (%v), want the oldest", n, err)
	}
	if f.count(t, "SELECT COUNT(*) FROM upsell_inbox WHERE invoice_id = ?", oldest) != 1 {
		t.Fatal("oldest invoice not recorded")
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_jobs"); n != 2 {
		t.Fatalf("%d jobs, want 2", n)
	}
}
