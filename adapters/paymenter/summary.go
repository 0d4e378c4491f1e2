package paymenter

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

// InvoiceSummary is what a report needs of one invoice: its status,
// currency and total, and when it was paid.
type InvoiceSummary struct {
	ID       uint64
	Status   hostapi.InvoiceStatus
	Currency string
	// Total is Σ price × quantity over the items, as Invoice's.
	Total decimal.Decimal
	// PaidAt is when a paid invoice was paid, in the panel's timezone: its
	// last succeeded transaction, or its last update when it has none (an
	// admin marked it paid, or the API's PATCH status=paid, which writes no
	// transaction). Zero unless Status is paid.
	PaidAt time.Time
}

// summaryBatch is how many ids one InvoiceSummaries query takes: few
// statements for a report over thousands of invoices, far below the
// server's 65,535 placeholders.
const summaryBatch = 5000

// summaryQuery reads the invoices whose ids fill the IN list; every part
// is found through a primary key or invoice_id's index, so its cost is the
// ids asked for, not the size of the invoices table.
const summaryQuery = "SELECT i.`id`, i.`status`, i.`currency_code`, i.`updated_at`," +
	" (SELECT COALESCE(SUM(ii.`price` * ii.`quantity`), 0) FROM `invoice_items` ii WHERE ii.`invoice_id` = i.`id`) AS total," +
	" (SELECT MAX(t.`created_at`) FROM `invoice_transactions` t WHERE t.`invoice_id` = i.`id` AND t.`status` = 'succeeded') AS paid_at" +
	" FROM `invoices` i WHERE i.`id` IN (%s)"

type summaryRow struct {
	ID           uint64          `db:"id"`
	Status       string          `db:"status"`
	CurrencyCode string          `db:"currency_code"`
	UpdatedAt    naiveTime       `db:"updated_at"`
	Total        decimal.Decimal `db:"total"`
	PaidAt       naiveTime       `db:"paid_at"`
}

// InvoiceSummaries returns the summary of each invoice in ids that exists
// (in no particular order; unknown ids are absent), in one statement per
// summaryBatch ids. A report bounds ids by a date range of its own, so its
// cost follows that range, not the panel's history.
func (b *Binding) InvoiceSummaries(ctx context.Context, ids []uint64) ([]InvoiceSummary, error) {
	unique := uniqueIDs(ids)
	if len(unique) == 0 {
		return nil, nil
	}
	s, err := b.cachedSettings(ctx)
	if err != nil {
		return nil, err
	}
	loc := b.location(s.timezone)
	out := make([]InvoiceSummary, 0, len(unique))
	for start := 0; start < len(unique); start += summaryBatch {
		batch := unique[start:min(start+summaryBatch, len(unique))]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		var rows []summaryRow
		if err := b.db.SelectContext(ctx, &rows, fmt.Sprintf(summaryQuery, placeholders(len(batch))), args...); err != nil {
			return nil, mapDBError(fmt.Errorf("paymenter: read invoice summaries: %w", err))
		}
		for _, r := range rows {
			sum := InvoiceSummary{ID: r.ID, Status: hostapi.InvoiceStatus(r.Status), Currency: r.CurrencyCode, Total: r.Total}
			if sum.Status == hostapi.InvoicePaid {
				sum.PaidAt = r.PaidAt.In(loc)
				if !r.PaidAt.valid {
					sum.PaidAt = r.UpdatedAt.In(loc)
				}
			}
			out = append(out, sum)
		}
	}
	return out, nil
}
