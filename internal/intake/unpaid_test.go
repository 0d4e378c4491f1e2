package intake_test

import (
	"context"
	"slices"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/intake"
)

// resultModule answers every event with result and err, and counts calls.
type resultModule struct {
	hostapi.Module
	result hostapi.EventResult
	err    error
	calls  int
}

func (m *resultModule) HandleEvent(context.Context, hostapi.Event) (hostapi.EventResult, error) {
	m.calls++
	return m.result, m.err
}

// A paid-invoice job whose invoice the panel no longer calls paid when its
// module refuses it is not retried to death: it is forgotten with its inbox
// row, and the invoice is recorded again, once, when it is paid.
func TestJobForAnUnpaidInvoiceIsForgottenUntilPaid(t *testing.T) {
	unavailable := hostapi.Errorf(hostapi.CodeUnavailable, "invoice INV-1 is pending with 0.00 of 1.00 paid")
	tests := []struct {
		name       string
		status     hostapi.InvoiceStatus
		withPanel  bool
		result     hostapi.EventResult
		err        error
		wantState  string // "" when forgotten
		wantResult string
	}{
		{"refused while pending", hostapi.InvoicePending, true, hostapi.EventResult{}, unavailable, "", "event:unpaid"},
		{"not handled while pending", hostapi.InvoicePending, true, hostapi.EventResult{Handled: false}, nil, "", "event:unpaid"},
		{"refused while cancelled", hostapi.InvoiceCancelled, true, hostapi.EventResult{}, unavailable, "", "event:unpaid"},
		{"refused while paid is retried", hostapi.InvoicePaid, true, hostapi.EventResult{}, unavailable, "pending", "event:pending"},
		{"not handled while paid is done", hostapi.InvoicePaid, true, hostapi.EventResult{Handled: false}, nil, "done", "event:ok"},
		{"no panel: retried as before", hostapi.InvoicePending, false, hostapi.EventResult{}, unavailable, "pending", "event:pending"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			id := f.paidJob(t)
			var inv uint64
			if err := f.db.Get(&inv, "SELECT invoice_id FROM upsell_inbox"); err != nil {
				t.Fatal(err)
			}
			// The panel changed its mind after the invoice was recorded.
			f.setStatus(t, inv, tc.status)
			m := &resultModule{result: tc.result, err: tc.err}
			w := f.worker("test", m)
			if tc.withPanel {
				w.Invoices = f.binding
			}
			var got results
			w.OnResult = got.add
			if did, err := w.RunOnce(context.Background()); !did || err != nil {
				t.Fatalf("RunOnce: %v %v", did, err)
			}
			if !slices.Equal(got.list(), []string{tc.wantResult}) {
				t.Fatalf("reported %v, want %s", got.list(), tc.wantResult)
			}
			jobs, inbox := f.count(t, "SELECT COUNT(*) FROM upsell_jobs"), f.count(t, "SELECT COUNT(*) FROM upsell_inbox")
			if tc.wantState != "" {
				if j := f.job(t, id); j.State != tc.wantState || inbox != 1 {
					t.Fatalf("job %+v with %d inbox rows, want %s and its inbox row", j, inbox, tc.wantState)
				}
				return
			}
			if jobs != 0 || inbox != 0 {
				t.Fatalf("%d jobs and %d inbox rows left, want the job forgotten", jobs, inbox)
			}

			// Paid at last: the poller sees it again, and it is applied once.
			f.setStatus(t, inv, hostapi.InvoicePaid)
			p := &intake.Poller{Inbox: f.inbox, Panel: f.binding, Logger: discard()}
			if n, err := p.Poll(context.Background()); n != 1 || err != nil {
				t.Fatalf("poll after the payment found %d (%v)", n, err)
			}
			if rec, err := f.inbox.RecordPaid(context.Background(), inv, intake.FromWebhook); err != nil || rec.NewJob {
				t.Fatalf("webhook after the poller: %+v %v, want not new", rec, err)
			}
			m.result, m.err = hostapi.EventResult{Handled: true}, nil
			for {
				did, err := w.RunOnce(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if !did {
					break
				}
			}
			if m.calls != 2 || f.count(t, "SELECT COUNT(*) FROM upsell_jobs WHERE state = 'done'") != 1 {
				t.Fatalf("%d calls, want the refused one and one more", m.calls)
			}
		})
	}
}
