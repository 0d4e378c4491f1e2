package microupsell

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
)

// HandleEvent applies a paid add-on invoice. Delivery is at least once and
// may be concurrent across replicas; every step below is a compare-and-set
// state transition recorded before the side effect it guards, so repeats
// and crashes converge on one application and one price raise.
func (m *Module) HandleEvent(ctx context.Context, ev hostapi.Event) (hostapi.EventResult, error) {
	switch ev.Kind {
	case hostapi.ReconcileEvent:
		n, err := m.reconcile(ctx)
		return hostapi.EventResult{Handled: true, Message: fmt.Sprintf("%d services restored", n)}, err
	case hostapi.InvoicePaidEvent:
	default:
		return hostapi.EventResult{}, nil
	}
	o, ok, err := m.orderByInvoice(ctx, ev.InvoiceID)
	if err != nil || !ok {
		return hostapi.EventResult{}, err
	}
	if o.State == StateCancelled {
		flagged, err := m.paidAfterCancel(ctx, o)
		if err != nil {
			return hostapi.EventResult{}, err
		}
		if flagged != "" {
			return hostapi.EventResult{Handled: true, Message: "flagged: " + flagged}, nil
		}
		return hostapi.EventResult{Handled: true, Message: fmt.Sprintf("order %d cancelled: nothing applied", o.ID)}, nil
	}
	if o.State == StateAwaitingPayment {
		flagged, err := m.verifyAndClaim(ctx, o)
		if err != nil {
			return hostapi.EventResult{}, err
		}
		if flagged != "" {
			return hostapi.EventResult{Handled: true, Message: "flagged: " + flagged}, nil
		}
	}
	state, err := m.applyOrder(ctx, o.ID, ev.Attempt)
	if err != nil {
		return hostapi.EventResult{}, err
	}
	return hostapi.EventResult{Handled: true, Message: fmt.Sprintf("order %d %s", o.ID, state)}, nil
}

const (
	casState          = `UPDATE ext_micro_upsell_order_addons SET state = ?, reason = ?, updated_at = ? WHERE id = ? AND state = ?`
	setApplying       = `UPDATE ext_micro_upsell_order_addons SET state = 'applying', target = ?, limits_before = ?, updated_at = ? WHERE id = ? AND state = 'paid'`
	setAttempt        = `UPDATE ext_micro_upsell_order_addons SET attempts = attempts + 1, reason = ?, updated_at = ? WHERE id = ?`
	setApplied        = `UPDATE ext_micro_upsell_order_addons SET state = 'applied', reason = NULL, limits_after = ?, price_before = ?, price_after = ?, applied_at = ?, updated_at = ? WHERE id = ? AND state = 'applying'`
	applyingOfService = `SELECT id FROM ext_micro_upsell_order_addons WHERE service_id = ? AND state = 'applying' AND id <> ? ORDER BY id`
)

// transition moves an order from one state to another if it is still in
// from, and records the step in its history. It reports whether it moved.
func (m *Module) transition(ctx context.Context, tx hostapi.TxID, id uint64, from, to, reason string) (bool, error) {
	h, _ := m.deps()
	now := m.now().UTC()
	var r any
	if reason != "" {
		r = reason
	}
	res, err := h.Store.Exec(ctx, tx, casState, to, r, now, id, from)
	if err != nil || res.RowsAffected == 0 {
		return false, err
	}
	msg := reason
	if msg == "" {
		msg = from + " -> " + to
	}
	_, err = h.Store.Exec(ctx, tx, insertEvent, id, to, msg, now)
	return err == nil, err
}

// verifyAndClaim runs the payment checks in order and claims the order, or
// flags it with the reason it must not be applied. It returns the reason
// when flagged.
func (m *Module) verifyAndClaim(ctx context.Context, o Order) (string, error) {
	h, _ := m.deps()
	inv, err := h.Panel.Invoice(ctx, o.InvoiceID)
	if err != nil {
		return "", err
	}
	if inv.Status != hostapi.InvoicePaid || inv.Paid.LessThan(inv.Total) {
		// A webhook can outrun the panel's commit: try again later.
		return "", hostapi.Errorf(hostapi.CodeUnavailable, "invoice %s is %s with %s of %s paid", inv.Number, inv.Status, money.Format(inv.Paid), money.Format(inv.Total))
	}
	svc, err := h.Panel.Service(ctx, o.ServiceID)
	if err != nil {
		return "", err
	}
	var reason string
	switch {
	case inv.UserID != o.UserID || svc.UserID != o.UserID:
		reason = fmt.Sprintf("invoice %s or service %d no longer belongs to user %d", inv.Number, o.ServiceID, o.UserID)
	case !inv.Total.Equal(o.DueToday) || inv.Currency != o.Currency:
		reason = fmt.Sprintf("invoice %s was edited: total %s %s, order locked %s %s", inv.Number, money.Format(inv.Total), inv.Currency, money.Format(o.DueToday), o.Currency)
	case svc.Status == hostapi.ServiceCancelled:
		reason = fmt.Sprintf("service %d is cancelled: refund %s %s", o.ServiceID, money.Format(inv.Paid), inv.Currency)
	case svc.Status != hostapi.ServiceActive && svc.Status != hostapi.ServiceSuspended:
		reason = fmt.Sprintf("service %d is %s: refund %s %s", o.ServiceID, svc.Status, money.Format(inv.Paid), inv.Currency)
	}
	if reason != "" {
		moved, err := m.transition(ctx, "", o.ID, StateAwaitingPayment, StateFlagged, reason)
		if err != nil {
			return "", err
		}
		if moved {
			m.audit(ctx, "", o, "order.flagged", reason, nil)
		}
		return reason, nil
	}
	_, err = m.transition(ctx, "", o.ID, StateAwaitingPayment, StatePaid, "invoice "+inv.Number+" paid in full")
	m.crashPoint("claimed")
	return "", err
}

// applyOrder applies a paid order under the service's lock and returns its
// final state. The lock (a row lock in a Store transaction) makes
// "read current limits, compute target, apply" atomic per service across
// replicas.
func (m *Module) applyOrder(ctx context.Context, id uint64, attempt int) (string, error) {
	h, s := m.deps()
	o, err := m.order(ctx, "", id)
	if err != nil {
		return "", err
	}
	if o.State != StatePaid && o.State != StateApplying {
		return o.State, nil
	}
	unlock, err := m.lockService(ctx, o.ServiceID)
	if err != nil {
		return "", err
	}
	defer unlock()
	// An earlier order of this service may have stopped between storing
	// its target and finishing: finish it first, so this order's target is
	// computed on top of it and never overwritten by it.
	rows, err := h.Store.Query(ctx, "", applyingOfService, o.ServiceID, o.ID)
	if err != nil {
		return "", err
	}
	for i := 0; i < rows.Len(); i++ {
		var other uint64
		if err := rows.Scan(i, &other); err != nil {
			return "", hostapi.Errorf(hostapi.CodeInternal, "read order id: %w", err)
		}
		if _, err := m.applyLocked(ctx, other, attempt, s); err != nil {
			return "", err
		}
	}
	return m.applyLocked(ctx, id, attempt, s)
}

// applyLocked runs one order's remaining steps; the caller holds the lock.
func (m *Module) applyLocked(ctx context.Context, id uint64, attempt int, s Settings) (string, error) {
	h, _ := m.deps()
	o, err := m.order(ctx, "", id)
	if err != nil {
		return "", err
	}
	if o.State == StatePaid {
		cur, err := h.Provision.Read(ctx, o.ServiceID)
		if err != nil {
			return "", m.applyFailed(ctx, o, attempt, s, err)
		}
		base, ok := cur[o.Resource]
		if !ok {
			return "", m.applyFailed(ctx, o, attempt, s, hostapi.Errorf(hostapi.CodeInvalid, "the server's adapter does not report %s", o.Resource))
		}
		target := hostapi.Target{o.Resource: base + o.Amount}
		if base == hostapi.Unlimited {
			// Already unlimited: nothing to add, but the client paid, so
			// the admin decides.
			return "", m.applyFailed(ctx, o, attempt, s, hostapi.Errorf(hostapi.CodeInvalid, "%s is already unlimited on this server", o.Resource))
		}
		tj, _ := json.Marshal(target)
		bj, _ := json.Marshal(cur)
		res, err := h.Store.Exec(ctx, "", setApplying, string(tj), string(bj), m.now().UTC(), o.ID)
		if err != nil {
			return "", err
		}
		if res.RowsAffected == 1 {
			_, _ = h.Store.Exec(ctx, "", insertEvent, o.ID, StateApplying, fmt.Sprintf("target %s %d -> %d", o.Resource, base, base+o.Amount), m.now().UTC())
		}
		m.crashPoint("target_stored")
		if o, err = m.order(ctx, "", id); err != nil {
			return "", err
		}
	}
	if o.State != StateApplying {
		return o.State, nil
	}
	// The stored target is absolute: re-applying it after a crash is a
	// no-op, never a second +1 GB.
	applied, err := h.Provision.Apply(ctx, o.ServiceID, o.Target)
	if err != nil {
		return "", m.applyFailed(ctx, o, attempt, s, err)
	}
	m.crashPoint("applied")
	state, err := m.finish(ctx, o, applied)
	m.crashPoint("finished")
	return state, err
}

// finish raises the recurring price, marks the order applied and writes the
// purchase log, all in one transaction.
func (m *Module) finish(ctx context.Context, o Order, applied hostapi.Applied) (string, error) {
	h, _ := m.deps()
	// Read before the transaction opens (the pool rule); the price write
	// below is a compare-and-set on what was read.
	svc, err := h.Panel.Service(ctx, o.ServiceID)
	if err != nil {
		return "", err
	}
	tx, err := h.Store.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	newPrice := svc.Price.Add(o.RecurringIncrease)
	changed, err := h.Panel.UpdateRecurringPrice(ctx, tx.ID(), hostapi.PriceChange{
		ServiceID: o.ServiceID, From: svc.Price, To: newPrice, Reason: fmt.Sprintf("%s (order %d)", o.PackageName, o.ID),
	})
	if err != nil {
		return "", err
	}
	now := m.now().UTC()
	aj, _ := json.Marshal(applied.After)
	res, err := h.Store.Exec(ctx, tx.ID(), setApplied, string(aj), changed.From, changed.To, now, now, o.ID)
	if err != nil {
		return "", err
	}
	if res.RowsAffected == 0 {
		// Another replica finished it first; roll back our price raise.
		return StateApplied, nil
	}
	msg := fmt.Sprintf("applied %s %d -> %d; recurring price %s -> %s %s", o.Resource, applied.Before[o.Resource], applied.After[o.Resource], money.Format(changed.From), money.Format(changed.To), o.Currency)
	if changed.RenewalInvoiceID != 0 {
		msg += fmt.Sprintf("; unpaid renewal invoice %d updated", changed.RenewalInvoiceID)
	}
	if _, err := h.Store.Exec(ctx, tx.ID(), insertEvent, o.ID, StateApplied, msg, now); err != nil {
		return "", err
	}
	data := map[string]any{"order_id": o.ID, "invoice_id": o.InvoiceID, "package": o.PackageName, "limits_before": o.LimitsBefore,
		"limits_after": applied.After, "price_before": money.Format(changed.From), "price_after": money.Format(changed.To),
		"due_today": money.Format(o.DueToday), "currency": o.Currency}
	if err := m.audit(ctx, tx.ID(), o, "addon.applied", msg, data); err != nil {
		return "", err
	}
	exp, known, err := m.expected(ctx, tx.ID(), o.ServiceID)
	if err != nil {
		return "", err
	}
	if !known {
		exp.Limits = hostapi.Limits{}
	}
	exp.Price = changed.To
	exp.Limits[o.Resource] = applied.After[o.Resource]
	if err := m.remember(ctx, tx.ID(), o.ServiceID, exp); err != nil {
		return "", err
	}
	if err := tx.Commit(ctx); err != nil {
		return "", err
	}
	return StateApplied, nil
}

// applyFailed records a failed attempt. Retryable failures go back to the
// host's job queue; after MaxApplyAttempts, or for a failure retrying cannot
// fix, the order is marked failed for the admin. The price is never raised
// for resources not applied.
func (m *Module) applyFailed(ctx context.Context, o Order, attempt int, s Settings, cause error) error {
	h, _ := m.deps()
	now := m.now().UTC()
	_, _ = h.Store.Exec(ctx, "", setAttempt, cause.Error(), now, o.ID)
	final := attempt >= s.MaxApplyAttempts
	switch hostapi.CodeOf(cause) {
	case hostapi.CodeInvalid, hostapi.CodeNotFound, hostapi.CodeCapacity, hostapi.CodePermission:
		final = true
	}
	if !final {
		return cause
	}
	reason := "apply failed: " + cause.Error()
	moved, err := m.transition(ctx, "", o.ID, o.State, StateFailed, reason)
	if err != nil {
		return err
	}
	if moved {
		_ = m.audit(ctx, "", o, "addon.failed", reason, nil)
	}
	return nil
}

func (m *Module) audit(ctx context.Context, tx hostapi.TxID, o Order, action, msg string, data map[string]any) error {
	h, _ := m.deps()
	var raw []byte
	if data != nil {
		raw, _ = json.Marshal(data)
	}
	_, err := h.Audit.Write(ctx, tx, hostapi.AuditEntry{
		Action: action, ServiceID: o.ServiceID, UserID: o.UserID, Subject: fmt.Sprintf("order:%d", o.ID), Message: msg, Data: raw,
	})
	return err
}

func (m *Module) adminListOrders(ctx context.Context, q map[string][]string) (int, any, error) {
	var f orderFilter
	first := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	for key, dst := range map[string]*uint64{"service_id": &f.ServiceID, "user_id": &f.UserID} {
		if v := first(key); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, nil, hostapi.Invalid(key, "not an id: %q", v)
			}
			*dst = n
		}
	}
	f.State = first("state")
	switch f.State {
	case "", StateAwaitingPayment, StatePaid, StateApplying, StateApplied, StateFailed, StateFlagged, StateCancelled:
	default:
		return 0, nil, hostapi.Invalid("state", "unknown state %q", f.State)
	}
	if v := first("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return 0, nil, hostapi.Invalid("limit", "must be 1 to 500")
		}
		f.Limit = n
	}
	os, err := m.orders(ctx, f)
	if err != nil {
		return 0, nil, err
	}
	out := make([]orderView, len(os))
	for i, o := range os {
		out[i] = viewOrder(o)
	}
	return http.StatusOK, map[string]any{"orders": out}, nil
}

func (m *Module) adminShowOrder(ctx context.Context, id uint64) (int, any, error) {
	o, err := m.order(ctx, "", id)
	if err != nil {
		return 0, nil, err
	}
	if o.History, err = m.history(ctx, id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewOrder(o), nil
}

// adminCancel cancels an order awaiting payment with its invoice.
func (m *Module) adminCancel(ctx context.Context, id uint64) (int, any, error) {
	if _, err := m.cancelOrder(ctx, id, "the admin"); err != nil {
		return 0, nil, err
	}
	return m.adminShowOrder(ctx, id)
}

// adminRetry puts a failed order back to paid and applies it now.
func (m *Module) adminRetry(ctx context.Context, id uint64) (int, any, error) {
	o, err := m.order(ctx, "", id)
	if err != nil {
		return 0, nil, err
	}
	if o.State != StateFailed {
		return 0, nil, hostapi.Errorf(hostapi.CodePrecondition, "order %d is %s; only failed orders can be retried", id, o.State)
	}
	// A target stored before the failure stays valid: resume applying it.
	to := StatePaid
	if o.Target != nil {
		to = StateApplying
	}
	moved, err := m.transition(ctx, "", id, StateFailed, to, "retried by the admin")
	if err != nil {
		return 0, nil, err
	}
	if !moved {
		return 0, nil, hostapi.Errorf(hostapi.CodeConflict, "order %d changed meanwhile; look again", id)
	}
	if err := m.audit(ctx, "", o, "order.retried", "failed order retried by the admin: "+o.Reason, nil); err != nil {
		return 0, nil, err
	}
	if _, err := m.applyOrder(ctx, id, 0); err != nil {
		return 0, nil, err
	}
	return m.adminShowOrder(ctx, id)
}
