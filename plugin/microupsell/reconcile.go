package microupsell

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
)

// Add-ons must survive the panel. Paymenter recomputes a service's price
// from its plan and config options (after its own upgrades, when a coupon
// ends, on the admin's "Recalculate Price"), dropping what upsell added; and
// its own upgrades PATCH the server back to the product's limits. The module
// remembers, per service, the price and limits it last set
// (ext_micro_upsell_services); each reconcile round compares them with the
// panel and the server and puts the add-ons back on top of the new base,
// before the next renewal is invoiced. Every restoration is logged.

const (
	upsertExpected = `INSERT INTO ext_micro_upsell_services (service_id, expected_price, expected_limits, updated_at) VALUES (?, ?, ?, ?)
ON DUPLICATE KEY UPDATE expected_price = VALUES(expected_price), expected_limits = VALUES(expected_limits), updated_at = VALUES(updated_at)`
	selectExpected = `SELECT expected_price, expected_limits FROM ext_micro_upsell_services WHERE service_id = ?`
	ledger         = `SELECT service_id, resource, SUM(amount), SUM(recurring_increase) FROM ext_micro_upsell_order_addons
WHERE state = 'applied' GROUP BY service_id, resource ORDER BY service_id, resource`
)

// expectation is what the module last set on a service.
type expectation struct {
	Price  decimal.Decimal
	Limits hostapi.Limits
}

func (m *Module) expected(ctx context.Context, tx hostapi.TxID, serviceID uint64) (expectation, bool, error) {
	h, _ := m.deps()
	rows, err := h.Store.Query(ctx, tx, selectExpected, serviceID)
	if err != nil || rows.Len() == 0 {
		return expectation{}, false, err
	}
	var e expectation
	var raw string
	if err := rows.Scan(0, &e.Price, &raw); err != nil {
		return e, false, hostapi.Errorf(hostapi.CodeInternal, "read expected state: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &e.Limits); err != nil {
		return e, false, hostapi.Errorf(hostapi.CodeInternal, "expected limits of service %d: %w", serviceID, err)
	}
	return e, true, nil
}

// remember records what the module set, inside tx.
func (m *Module) remember(ctx context.Context, tx hostapi.TxID, serviceID uint64, e expectation) error {
	h, _ := m.deps()
	raw, _ := json.Marshal(e.Limits)
	_, err := h.Store.Exec(ctx, tx, upsertExpected, serviceID, e.Price, string(raw), m.now().UTC())
	return err
}

// holding is one service's applied add-ons.
type holding struct {
	amounts  map[hostapi.Resource]int64
	increase decimal.Decimal
}

func (m *Module) holdings(ctx context.Context) (map[uint64]*holding, []uint64, error) {
	h, _ := m.deps()
	rows, err := h.Store.Query(ctx, "", ledger)
	if err != nil {
		return nil, nil, err
	}
	out := map[uint64]*holding{}
	var ids []uint64
	for i := 0; i < rows.Len(); i++ {
		var (
			id       uint64
			resource string
			amount   int64
			increase decimal.Decimal
		)
		if err := rows.Scan(i, &id, &resource, &amount, &increase); err != nil {
			return nil, nil, hostapi.Errorf(hostapi.CodeInternal, "read ledger: %w", err)
		}
		hd, ok := out[id]
		if !ok {
			hd = &holding{amounts: map[hostapi.Resource]int64{}}
			out[id] = hd
			ids = append(ids, id)
		}
		hd.amounts[hostapi.Resource(resource)] += amount
		hd.increase = hd.increase.Add(increase)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return out, ids, nil
}

// reconcile checks every service holding add-ons. A failure on one service
// is reported after the others were checked.
func (m *Module) reconcile(ctx context.Context) (int, error) {
	held, ids, err := m.holdings(ctx)
	if err != nil {
		return 0, err
	}
	restored := 0
	var firstErr error
	for _, id := range ids {
		did, err := m.reconcileService(ctx, id, held[id])
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("service %d: %w", id, err)
		}
		if did {
			restored++
		}
	}
	return restored, firstErr
}

// reconcileService restores one service's add-ons under its lock, and
// reports whether it changed anything.
func (m *Module) reconcileService(ctx context.Context, serviceID uint64, hd *holding) (bool, error) {
	h, _ := m.deps()
	lock, err := m.lockService(ctx, serviceID)
	if err != nil {
		return false, err
	}
	defer lock.Rollback(context.WithoutCancel(ctx))
	svc, err := h.Panel.Service(ctx, serviceID)
	if err != nil {
		return false, err
	}
	if svc.Status != hostapi.ServiceActive && svc.Status != hostapi.ServiceSuspended {
		return false, nil // cancelled services are not restored
	}
	cur, err := h.Provision.Read(ctx, serviceID)
	if err != nil {
		return false, err
	}
	exp, known, err := m.expected(ctx, "", serviceID)
	if err != nil {
		return false, err
	}
	if !known {
		// Applied before the module kept expectations: take the present
		// state as the baseline, without guessing what was dropped.
		exp = expectation{Price: svc.Price, Limits: pick(cur, hd.amounts)}
		return false, m.rememberNow(ctx, serviceID, exp)
	}

	target := hostapi.Target{}
	next := expectation{Price: exp.Price, Limits: exp.Limits.Clone()}
	var notes []string
	for r, amount := range hd.amounts {
		want, have := exp.Limits[r], cur[r]
		switch {
		case have < want:
			// The panel put the server back to its own limits: the add-ons
			// go on top of the new base.
			target[r] = have + amount
			next.Limits[r] = have + amount
			notes = append(notes, fmt.Sprintf("%s %d -> %d (was %d after the add-ons)", r, have, have+amount, want))
		case have > want:
			// Raised by an admin: keep it and expect it from now on.
			next.Limits[r] = have
		}
	}
	newPrice := svc.Price
	if !svc.Price.Equal(exp.Price) {
		// Paymenter recomputed the price from plan and options, which knows
		// nothing of add-ons: put their increase back on the new base.
		newPrice = svc.Price.Add(hd.increase)
		notes = append(notes, fmt.Sprintf("recurring price %s -> %s %s (the panel had set %s, upsell %s)",
			money.Format(svc.Price), money.Format(newPrice), svc.Currency, money.Format(svc.Price), money.Format(exp.Price)))
	}
	next.Price = newPrice
	if len(notes) == 0 {
		if !limitsEqual(next.Limits, exp.Limits) {
			return false, m.rememberNow(ctx, serviceID, next)
		}
		return false, lock.Commit(ctx)
	}
	var applied hostapi.Applied
	if len(target) > 0 {
		if applied, err = h.Provision.Apply(ctx, serviceID, target); err != nil {
			return false, err
		}
	}
	tx, err := h.Store.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if !newPrice.Equal(svc.Price) {
		if _, err := h.Panel.UpdateRecurringPrice(ctx, tx.ID(), hostapi.PriceChange{
			ServiceID: serviceID, From: svc.Price, To: newPrice, Reason: "add-ons restored after the panel recomputed the price",
		}); err != nil {
			return false, err
		}
	}
	if err := m.remember(ctx, tx.ID(), serviceID, next); err != nil {
		return false, err
	}
	msg := "add-ons restored: " + joinNotes(notes)
	data, _ := json.Marshal(map[string]any{"limits_before": cur, "limits_after": applied.After, "price_before": money.Format(svc.Price),
		"price_after": money.Format(newPrice), "expected_price": money.Format(exp.Price), "expected_limits": exp.Limits})
	if _, err := h.Audit.Write(ctx, tx.ID(), hostapi.AuditEntry{
		Action: "addon.restored", ServiceID: serviceID, UserID: svc.UserID, Subject: fmt.Sprintf("service:%d", serviceID), Message: msg, Data: data,
	}); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, err
	}
	return true, lock.Commit(ctx)
}

func (m *Module) rememberNow(ctx context.Context, serviceID uint64, e expectation) error {
	h, _ := m.deps()
	tx, err := h.Store.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := m.remember(ctx, tx.ID(), serviceID, e); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// pick keeps the resources in keys.
func pick(l hostapi.Limits, keys map[hostapi.Resource]int64) hostapi.Limits {
	out := hostapi.Limits{}
	for r := range keys {
		out[r] = l[r]
	}
	return out
}

func limitsEqual(a, b hostapi.Limits) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func joinNotes(notes []string) string {
	sort.Strings(notes)
	out := ""
	for i, n := range notes {
		if i > 0 {
			out += "; "
		}
		out += n
	}
	return out
}
