package paymenter

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
)

// CancelInvoice sets an unpaid invoice's status to cancelled, as Paymenter
// itself cancels the invoices of an order nobody paid (its cron): the
// invoice stays, with its number and items, and can no longer be paid from
// the client area. It runs in tx, or in a transaction of its own when tx
// is nil; the caller checks that upsell owns the invoice.
//
// The invoice row is locked first, as Paymenter's addPayment locks it
// before it records a payment, and held until tx ends: a payment that
// committed first is seen (and the cancel refused), one that arrives later
// waits and finds the invoice cancelled.
//
// Refused with CodePrecondition, writing nothing: an invoice that is not
// pending (paid, already cancelled) and one with any payment on it, a
// succeeded one (partly paid) or one still processing at its gateway.
// CodeNotFound: no such invoice. With the api writer the cancel is still a
// write in the panel's database (the invoice lives there either way).
func (b *Binding) CancelInvoice(ctx context.Context, tx *sqlx.Tx, invoiceID uint64) error {
	_, err := inTx(ctx, b.db, tx, func(tx *sqlx.Tx) (struct{}, error) {
		return struct{}{}, b.cancelInvoice(ctx, tx, invoiceID)
	})
	return err
}

func (b *Binding) cancelInvoice(ctx context.Context, tx *sqlx.Tx, invoiceID uint64) error {
	var status string
	if err := tx.StmtxContext(ctx, b.stmts.lockInvoice).GetContext(ctx, &status, invoiceID); err != nil {
		if isNoRows(err) {
			return hostapi.Errorf(hostapi.CodeNotFound, "paymenter: invoice %d not found", invoiceID)
		}
		return mapDBError(fmt.Errorf("paymenter: lock invoice %d: %w", invoiceID, err))
	}
	if hostapi.InvoiceStatus(status) != hostapi.InvoicePending {
		return hostapi.Errorf(hostapi.CodePrecondition, "paymenter: invoice %d is %s, not pending: it cannot be cancelled", invoiceID, status)
	}
	var payments int
	if err := tx.StmtxContext(ctx, b.stmts.invoicePayments).GetContext(ctx, &payments, invoiceID); err != nil {
		return mapDBError(fmt.Errorf("paymenter: read payments of invoice %d: %w", invoiceID, err))
	}
	if payments > 0 {
		return hostapi.Errorf(hostapi.CodePrecondition,
			"paymenter: invoice %d has %d payment(s) on it (made or under way): refund or settle them in the panel, it cannot be cancelled", invoiceID, payments)
	}
	settings, err := b.readSettings(ctx, tx)
	if err != nil {
		return err
	}
	stamp := b.clock().In(settings.location).Format(naiveLayout)
	res, err := tx.StmtxContext(ctx, b.stmts.cancelInvoice).ExecContext(ctx, stamp, invoiceID)
	if err != nil {
		return mapDBError(fmt.Errorf("paymenter: cancel invoice %d: %w", invoiceID, err))
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		// The row is locked and was pending: only a broken lock gets here.
		return hostapi.Errorf(hostapi.CodeConflict, "paymenter: invoice %d changed while it was being cancelled", invoiceID)
	}
	return nil
}
