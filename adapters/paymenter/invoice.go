package paymenter

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

// Invoice returns an invoice with its items. Total is the sum of price x
// quantity over the items (Paymenter stores no total); Paid is the sum of the
// succeeded transactions.
func (b *Binding) Invoice(ctx context.Context, id uint64) (hostapi.Invoice, error) {
	var r invoiceRow
	if err := b.stmts.invoice.GetContext(ctx, &r, id); err != nil {
		if isNoRows(err) {
			return hostapi.Invoice{}, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: invoice %d not found", id)
		}
		return hostapi.Invoice{}, mapDBError(fmt.Errorf("paymenter: read invoice %d: %w", id, err))
	}
	var itemRows []invoiceItemRow
	if err := b.stmts.invoiceItems.SelectContext(ctx, &itemRows, id); err != nil {
		return hostapi.Invoice{}, mapDBError(fmt.Errorf("paymenter: read items of invoice %d: %w", id, err))
	}
	items := make([]hostapi.InvoiceItem, len(itemRows))
	for i, ir := range itemRows {
		items[i] = hostapi.InvoiceItem{
			ID:            ir.ID,
			Description:   ir.Description.String,
			Price:         ir.Price,
			Quantity:      ir.Quantity,
			ReferenceType: ir.ReferenceType.String,
			ReferenceID:   ir.ReferenceID.V,
		}
	}
	loc := b.location(r.Timezone.String)
	return hostapi.Invoice{
		ID:        r.ID,
		Number:    r.Number.String,
		Status:    hostapi.InvoiceStatus(r.Status),
		UserID:    r.UserID,
		Currency:  r.CurrencyCode,
		DueAt:     r.DueAt.In(loc),
		Items:     items,
		Total:     invoiceTotal(items),
		Paid:      r.Paid,
		PayURL:    b.payURL(r.ID),
		CreatedAt: r.CreatedAt.In(loc),
	}, nil
}

// invoiceTotal is Σ price × quantity.
func invoiceTotal(items []hostapi.InvoiceItem) decimal.Decimal {
	total := decimal.Zero
	for _, it := range items {
		total = total.Add(it.Price.Mul(decimal.NewFromInt(int64(it.Quantity))))
	}
	return total
}

// InvoiceStatuses returns the status of each invoice in ids that exists;
// ids without a row are absent from the map. It reads only the rows asked
// for (by primary key, statusBatch ids per query), so a poller's cost grows
// with the ids it watches, not with the invoices table.
func (b *Binding) InvoiceStatuses(ctx context.Context, ids []uint64) (map[uint64]hostapi.InvoiceStatus, error) {
	out := make(map[uint64]hostapi.InvoiceStatus, len(ids))
	unique := uniqueIDs(ids)
	for start := 0; start < len(unique); start += statusBatch {
		end := min(start+statusBatch, len(unique))
		var rows []invoiceStatusRow
		if err := b.stmts.invoiceStatuses.SelectContext(ctx, &rows, paddedBatch(unique[start:end])...); err != nil {
			return nil, mapDBError(fmt.Errorf("paymenter: read invoice statuses: %w", err))
		}
		for _, r := range rows {
			out[r.ID] = hostapi.InvoiceStatus(r.Status)
		}
	}
	return out, nil
}

func uniqueIDs(ids []uint64) []uint64 {
	seen := make(map[uint64]struct{}, len(ids))
	out := make([]uint64, 0, len(ids))
	for _, id := range ids {
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

// paddedBatch fills the statement's statusBatch placeholders, repeating the
// first id (a repeated id in IN (...) changes nothing).
func paddedBatch(batch []uint64) []any {
	args := make([]any, statusBatch)
	for i := range args {
		if i < len(batch) {
			args[i] = batch[i]
		} else {
			args[i] = batch[0]
		}
	}
	return args
}
