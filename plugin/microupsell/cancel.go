package microupsell

import (
	"context"
	"errors"
	"fmt"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
)

// cancelOrder cancels an order awaiting payment and its panel invoice in
// one transaction: the order moves awaiting_payment -> cancelled only if
// it is still awaiting payment (compare-and-set), and the host cancels the
// invoice only if nothing has been paid on it, with the invoice locked
// until the commit. Either both change or neither does, so a client is
// never left with a payable invoice for an order nobody will apply, nor an
// order cancelled under a payment. by says who cancelled, for the history.
func (m *Module) cancelOrder(ctx context.Context, id uint64, by string) (Order, error) {
	h, _ := m.deps()
	o, err := m.order(ctx, "", id)
	if err != nil {
		return Order{}, err
	}
	if o.State != StateAwaitingPayment {
		return o, hostapi.Errorf(hostapi.CodePrecondition, "order %d is %s: only an order awaiting payment can be cancelled", id, o.State)
	}
	tx, err := h.Store.Begin(ctx)
	if err != nil {
		return o, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	reason := "cancelled by " + by
	if o.InvoiceID != 0 {
		reason += "; invoice " + o.InvoiceNumber + " cancelled"
	}
	moved, err := m.transition(ctx, tx.ID(), id, StateAwaitingPayment, StateCancelled, reason)
	if err != nil {
		return o, err
	}
	if !moved {
		return o, hostapi.Errorf(hostapi.CodeConflict, "order %d changed meanwhile (a payment?): look again", id)
	}
	if o.InvoiceID != 0 {
		if err := h.Panel.CancelInvoice(ctx, tx.ID(), o.InvoiceID); err != nil {
			if errors.Is(err, hostapi.ErrPrecondition) {
				// Paid (in part) meanwhile: the payment is applied as any
				// other once the invoice is paid, so the order stays as it
				// was; the host's words are for the log, not the admin.
				return o, hostapi.Errorf(hostapi.CodePrecondition, "invoice %s has a payment on it (made or under way), so it cannot be cancelled: the order stays awaiting payment: %w", o.InvoiceNumber, err)
			}
			return o, err
		}
	}
	if err := m.audit(ctx, tx.ID(), o, "order.cancelled", reason, map[string]any{
		"invoice_id": o.InvoiceID, "invoice_number": o.InvoiceNumber, "due_today": money.Format(o.DueToday), "currency": o.Currency,
	}); err != nil {
		return o, err
	}
	if err := tx.Commit(ctx); err != nil {
		return o, err
	}
	return m.order(ctx, "", id)
}

// paidAfterCancel puts on hold a cancelled order whose invoice the panel
// calls paid all the same (a gateway that took the payment on a cancelled
// invoice): nothing is applied, and the admin is told to refund. It
// reports the reason when it flagged the order now.
func (m *Module) paidAfterCancel(ctx context.Context, o Order) (string, error) {
	h, _ := m.deps()
	inv, err := h.Panel.Invoice(ctx, o.InvoiceID)
	if err != nil {
		return "", err
	}
	if inv.Status != hostapi.InvoicePaid {
		return "", nil
	}
	reason := fmt.Sprintf("invoice %s was paid after the order was cancelled: refund %s %s", inv.Number, money.Format(inv.Paid), inv.Currency)
	moved, err := m.transition(ctx, "", o.ID, StateCancelled, StateFlagged, reason)
	if err != nil || !moved {
		return "", err
	}
	return reason, m.audit(ctx, "", o, "order.flagged", reason, nil)
}
