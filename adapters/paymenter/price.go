package paymenter

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

// UpdateRecurringPrice sets services.price to ch.To if it still equals
// ch.From, then rewrites the unpaid renewal item of the service to the new
// price, as Paymenter's own upgrade flow does: the first App\Models\Service
// item referencing the service on its first pending invoice. Paid invoices,
// upsell items and other services' invoices are left alone.
//
// If the stored price differs from ch.From the result is CodeConflict and
// nothing is changed. It runs in tx, or in its own transaction when tx is
// nil; the service row stays locked until that transaction ends.
//
// Paymenter recomputes services.price from its plan and config options on
// some events (see the reference, section 8), dropping what this added; the
// caller keeps its own record to re-apply.
func (b *Binding) UpdateRecurringPrice(ctx context.Context, tx *sqlx.Tx, ch hostapi.PriceChange) (hostapi.PriceChanged, error) {
	if err := checkMoney("to", ch.To); err != nil {
		return hostapi.PriceChanged{}, err
	}
	if err := checkMoney("from", ch.From); err != nil {
		return hostapi.PriceChanged{}, err
	}
	return inTx(ctx, b.db, tx, func(tx *sqlx.Tx) (hostapi.PriceChanged, error) {
		return b.updateRecurringPrice(ctx, tx, ch)
	})
}

func (b *Binding) updateRecurringPrice(ctx context.Context, tx *sqlx.Tx, ch hostapi.PriceChange) (hostapi.PriceChanged, error) {
	var current decimal.Decimal
	if err := tx.StmtxContext(ctx, b.stmts.lockServicePrice).GetContext(ctx, &current, ch.ServiceID); err != nil {
		if isNoRows(err) {
			return hostapi.PriceChanged{}, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: service %d not found", ch.ServiceID)
		}
		return hostapi.PriceChanged{}, mapDBError(fmt.Errorf("paymenter: lock service %d: %w", ch.ServiceID, err))
	}
	if !current.Equal(ch.From) {
		return hostapi.PriceChanged{}, hostapi.Errorf(hostapi.CodeConflict,
			"paymenter: service %d price is %s, not %s", ch.ServiceID, current.StringFixed(2), ch.From.StringFixed(2))
	}
	settings, err := b.readSettings(ctx, tx)
	if err != nil {
		return hostapi.PriceChanged{}, err
	}
	stamp := wallClock(b.clock(), settings.location)
	to := ch.To.StringFixed(2)
	if _, err := tx.StmtxContext(ctx, b.stmts.updateServicePrice).ExecContext(ctx, to, stamp, ch.ServiceID); err != nil {
		return hostapi.PriceChanged{}, mapDBError(fmt.Errorf("paymenter: update price of service %d: %w", ch.ServiceID, err))
	}
	renewalInvoiceID, err := b.rewriteRenewalItem(ctx, tx, ch.ServiceID, to, stamp)
	if err != nil {
		return hostapi.PriceChanged{}, err
	}
	return hostapi.PriceChanged{
		ServiceID:        ch.ServiceID,
		From:             ch.From,
		To:               ch.To,
		RenewalInvoiceID: renewalInvoiceID,
	}, nil
}

// rewriteRenewalItem sets the price of the service's pending renewal item
// and returns its invoice id, or 0 when there is none.
func (b *Binding) rewriteRenewalItem(ctx context.Context, tx *sqlx.Tx, serviceID uint64, price, stamp string) (uint64, error) {
	var item renewalItemRow
	err := tx.StmtxContext(ctx, b.stmts.findRenewalItem).GetContext(ctx, &item, TypeService, serviceID)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, mapDBError(fmt.Errorf("paymenter: find renewal item of service %d: %w", serviceID, err))
	}
	if _, err := tx.StmtxContext(ctx, b.stmts.updateItemPrice).ExecContext(ctx, price, stamp, item.ID); err != nil {
		return 0, mapDBError(fmt.Errorf("paymenter: update renewal item %d: %w", item.ID, err))
	}
	return item.InvoiceID, nil
}
