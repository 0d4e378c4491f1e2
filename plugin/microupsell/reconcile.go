package microupsell

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

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

// Verdict says what reconcile may do about a finding.
type Verdict string

const (
	// Restorable: the panel undid an add-on (recomputed the price, reset a
	// limit); the fix puts it back on top of the panel's new base.
	Restorable Verdict = "restorable"
	// NeedsHuman: the fix must not guess. A cancelled or deleted service
	// still holding add-ons is a refund or a cleanup, an admin's call.
	NeedsHuman Verdict = "needs_human"
	// Info: nothing the client paid for is missing (an admin raised a
	// limit, no baseline yet); the fix only updates what the module
	// expects from then on.
	Info Verdict = "info"
	// Failed: the service could not be checked (panel, adapter or store
	// down); the next round tries again.
	Failed Verdict = "error"
)

// Finding kinds.
const (
	kindPriceRecomputed  = "price_recomputed"
	kindLimitReset       = "limit_reset"
	kindLimitRaised      = "limit_raised"
	kindMovedByUpsell    = "moved_by_upsell"
	kindNoBaseline       = "no_baseline"
	kindServiceInactive  = "service_inactive"
	kindServiceMissing   = "service_missing"
	kindUnreported       = "resource_unreported"
	kindPanelUnreachable = "panel_unreachable"
	kindAdapterUnreached = "adapter_unreachable"
	kindCheckFailed      = "check_failed"
)

// Outcomes of a finding: drift either was repaired or is left for the next
// round or a human. Info findings have none in a report, and "noted" once
// the fix updated the expectation.
const (
	outcomeFixed = "fixed"
	outcomeLeft  = "left"
	outcomeNoted = "noted"
)

// finding is one difference between what upsell set and what the panel or
// the server holds now.
type finding struct {
	Kind     string           `json:"kind"`
	Verdict  Verdict          `json:"verdict"`
	Resource hostapi.Resource `json:"resource,omitempty"`
	// Expected and Actual are a price or a limit, as text so both fit.
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	// Repair is the value the fix sets, for restorable findings.
	Repair  string `json:"repair,omitempty"`
	Message string `json:"message"`
	Outcome string `json:"outcome,omitempty"`
}

// limitView is one held resource: the add-ons' total, what upsell last set
// and what the server has now (absent when unknown).
type limitView struct {
	Resource hostapi.Resource `json:"resource"`
	AddOns   int64            `json:"add_ons"`
	Expected *int64           `json:"expected,omitempty"`
	Current  *int64           `json:"current,omitempty"`
}

// serviceDrift is the reconcile report of one service holding add-ons.
type serviceDrift struct {
	ServiceID     uint64      `json:"service_id"`
	UserID        uint64      `json:"user_id,omitempty"`
	Status        string      `json:"status,omitempty"`
	Currency      string      `json:"currency,omitempty"`
	ExpectedPrice string      `json:"expected_price,omitempty"`
	PanelPrice    string      `json:"panel_price,omitempty"`
	AddOnIncrease string      `json:"add_on_increase"`
	Limits        []limitView `json:"limits"`
	Findings      []finding   `json:"findings"`
	// Error is why the fix of this service stopped, if it did.
	Error string `json:"error,omitempty"`
}

func (d *serviceDrift) add(f finding) { d.Findings = append(d.Findings, f) }

// reconcileReport is the answer of GET and POST /admin/reconcile. Services
// lists only those with findings: no drift is an empty list.
type reconcileReport struct {
	Fix      bool           `json:"fix"`
	Checked  int            `json:"checked"`
	Services []serviceDrift `json:"services"`
	// Fixed counts the findings repaired; Left those still drifting
	// (restorable ones not repaired, needs_human, error). Info findings
	// count in neither.
	Fixed int `json:"fixed"`
	Left  int `json:"left"`
}

// observation is what one check read about a service, under its lock.
// Read errors are kept, not returned: they are findings of the service.
type observation struct {
	serviceID uint64
	held      *holding
	svc       hostapi.Service
	svcErr    error
	// cur is read only for services reconcile may restore.
	cur    hostapi.Limits
	curErr error
	exp    expectation
	known  bool
	// writes is what upsell last wrote to the service, by any module:
	// a value the panel holds that upsell itself wrote is another
	// module's change (a configurable-option upgrade or downgrade), not
	// the panel undoing the add-ons.
	writes hostapi.ServiceWrites
}

// plan is what the fix does to one service.
type plan struct {
	// target holds the limits to put back; price is the recurring price
	// to set (the panel's when unchanged).
	target hostapi.Target
	price  decimal.Decimal
	// notes describe the restorations for the audit log; none means
	// nothing to restore.
	notes []string
	// next is the expectation to store when remember is set.
	next     expectation
	remember bool
	// cause is why the service could not be checked.
	cause error
}

func (p plan) restores() bool { return len(p.notes) > 0 }

// drift compares one service's observation with what upsell set. It is
// pure: the report and the fix both start from it, so what GET reports is
// exactly what POST repairs.
func drift(o observation) (serviceDrift, plan) {
	var p plan
	resources := make([]hostapi.Resource, 0, len(o.held.amounts))
	for r := range o.held.amounts {
		resources = append(resources, r)
	}
	sort.Slice(resources, func(i, j int) bool { return resources[i] < resources[j] })
	d := serviceDrift{ServiceID: o.serviceID, AddOnIncrease: money.Format(o.held.increase), Limits: make([]limitView, len(resources)), Findings: []finding{}}
	for i, r := range resources {
		d.Limits[i] = limitView{Resource: r, AddOns: o.held.amounts[r]}
	}

	if o.svcErr != nil {
		if hostapi.CodeOf(o.svcErr) == hostapi.CodeNotFound {
			d.add(finding{Kind: kindServiceMissing, Verdict: NeedsHuman, Actual: "missing",
				Message: fmt.Sprintf("the service is gone from the panel but holds applied add-ons (%s, %s a cycle): refund or clean up by hand", heldSummary(o.held, resources), money.Format(o.held.increase))})
			return d, p
		}
		p.cause = o.svcErr
		d.add(finding{Kind: kindPanelUnreachable, Verdict: Failed, Message: "read the service from the panel: " + o.svcErr.Error()})
		return d, p
	}
	svc := o.svc
	d.UserID, d.Status, d.Currency, d.PanelPrice = svc.UserID, string(svc.Status), svc.Currency, money.Format(svc.Price)
	if o.known {
		d.ExpectedPrice = money.Format(o.exp.Price)
		for i, r := range resources {
			if v, ok := o.exp.Limits[r]; ok {
				d.Limits[i].Expected = &v
			}
		}
	}
	if svc.Status != hostapi.ServiceActive && svc.Status != hostapi.ServiceSuspended {
		// Putting add-ons back on a service the client left would bill
		// them again; what they paid for the rest of the cycle is a
		// refund, and the server a cleanup: an admin decides both.
		d.add(finding{Kind: kindServiceInactive, Verdict: NeedsHuman, Expected: string(hostapi.ServiceActive), Actual: string(svc.Status),
			Message: fmt.Sprintf("the service is %s but holds applied add-ons (%s, %s %s a cycle): refund or clean up by hand",
				svc.Status, heldSummary(o.held, resources), money.Format(o.held.increase), svc.Currency)})
		return d, p
	}
	if o.curErr != nil {
		p.cause = o.curErr
		d.add(finding{Kind: kindAdapterUnreached, Verdict: Failed, Message: "read the server's limits: " + o.curErr.Error()})
		return d, p
	}
	for i, r := range resources {
		if v, ok := o.cur[r]; ok {
			d.Limits[i].Current = &v
		}
	}
	if !o.known {
		// Applied before the module kept expectations: take the present
		// state as the baseline, without guessing what was dropped.
		p.next, p.remember = expectation{Price: svc.Price, Limits: pick(o.cur, o.held.amounts)}, true
		d.add(finding{Kind: kindNoBaseline, Verdict: Info, Actual: money.Format(svc.Price),
			Message: "no expected price and limits recorded yet: the fix records the present ones as the baseline"})
		return d, p
	}

	exp := o.exp
	p.price = svc.Price
	p.next = expectation{Price: exp.Price, Limits: exp.Limits.Clone()}
	if p.next.Limits == nil {
		p.next.Limits = hostapi.Limits{}
	}
	for _, r := range resources {
		amount := o.held.amounts[r]
		have, reported := o.cur[r]
		want, expected := exp.Limits[r]
		switch {
		case !reported:
			// Adding the add-ons to nothing would be a guess.
			d.add(finding{Kind: kindUnreported, Verdict: NeedsHuman, Resource: r, Expected: limitText(want, expected),
				Message: fmt.Sprintf("the server's adapter does not report %s: check it by hand", r)})
		case !expected:
			d.add(finding{Kind: kindNoBaseline, Verdict: Info, Resource: r, Actual: limitText(have, true),
				Message: fmt.Sprintf("no expected %s recorded yet: the fix records %s as the baseline", r, limitText(have, true))})
			p.next.Limits[r] = have
		case have == want:
		case wroteLimit(o.writes, r, have):
			// Another module (an option change) set it after the add-ons;
			// their share is inside the value it set.
			w := o.writes.Limits[r]
			d.add(finding{Kind: kindMovedByUpsell, Verdict: Info, Resource: r, Expected: limitText(want, true), Actual: limitText(have, true),
				Message: fmt.Sprintf("%s was set to %s by %s: expected from now on", r, limitText(have, true), w.Module)})
			p.next.Limits[r] = have
		case above(have, want):
			// Raised by an admin (or a bigger plan): nothing the client
			// paid for is missing. Keep it and expect it from now on.
			d.add(finding{Kind: kindLimitRaised, Verdict: Info, Resource: r, Expected: limitText(want, true), Actual: limitText(have, true),
				Message: fmt.Sprintf("%s is %s, above the %s upsell set: kept, and expected from now on", r, limitText(have, true), limitText(want, true))})
			p.next.Limits[r] = have
		default:
			// The panel put the server back to its own limits: the add-ons
			// go on top of the new base.
			note := fmt.Sprintf("%s %d -> %d (was %d after the add-ons)", r, have, have+amount, want)
			if want == hostapi.Unlimited {
				note = fmt.Sprintf("%s %d -> %d (was unlimited)", r, have, have+amount)
			}
			if p.target == nil {
				p.target = hostapi.Target{}
			}
			p.target[r], p.next.Limits[r] = have+amount, have+amount
			p.notes = append(p.notes, note)
			d.add(finding{Kind: kindLimitReset, Verdict: Restorable, Resource: r, Expected: limitText(want, true), Actual: limitText(have, true),
				Repair: limitText(have+amount, true), Message: note})
		}
	}
	switch {
	case svc.Price.Equal(exp.Price):
	case o.writes.Price != nil && o.writes.Price.Value.Equal(svc.Price):
		// Another module moved the price (an option change, which keeps the
		// add-ons' increase in it): nothing was dropped.
		d.add(finding{Kind: kindMovedByUpsell, Verdict: Info, Expected: money.Format(exp.Price), Actual: money.Format(svc.Price),
			Message: fmt.Sprintf("the recurring price was set to %s by %s: expected from now on", money.Format(svc.Price), o.writes.Price.Module)})
	default:
		// Paymenter recomputed the price from plan and options, which knows
		// nothing of add-ons: put their increase back on the new base.
		p.price = svc.Price.Add(o.held.increase)
		note := fmt.Sprintf("recurring price %s -> %s %s (the panel had set %s, upsell %s)",
			money.Format(svc.Price), money.Format(p.price), svc.Currency, money.Format(svc.Price), money.Format(exp.Price))
		p.notes = append(p.notes, note)
		d.add(finding{Kind: kindPriceRecomputed, Verdict: Restorable, Expected: money.Format(exp.Price), Actual: money.Format(svc.Price),
			Repair: money.Format(p.price), Message: note})
	}
	p.next.Price = p.price
	p.remember = p.restores() || !limitsEqual(p.next.Limits, exp.Limits) || !p.next.Price.Equal(exp.Price)
	return d, p
}

// wroteLimit reports whether upsell itself last set resource r of the
// service to v.
func wroteLimit(w hostapi.ServiceWrites, r hostapi.Resource, v int64) bool {
	lw, ok := w.Limits[r]
	return ok && lw.Value == v
}

// above reports whether limit a is more than b, unlimited being more than
// any number.
func above(a, b int64) bool {
	switch {
	case a == b:
		return false
	case a == hostapi.Unlimited:
		return true
	case b == hostapi.Unlimited:
		return false
	}
	return a > b
}

func limitText(v int64, known bool) string {
	switch {
	case !known:
		return ""
	case v == hostapi.Unlimited:
		return "unlimited"
	}
	return fmt.Sprint(v)
}

// heldSummary lists a service's applied add-ons, e.g. "memory_mib +1024".
func heldSummary(hd *holding, resources []hostapi.Resource) string {
	parts := make([]string, len(resources))
	for i, r := range resources {
		parts[i] = fmt.Sprintf("%s +%d", r, hd.amounts[r])
	}
	return strings.Join(parts, ", ")
}

// reconcile is the periodic round: it fixes every service holding add-ons.
// A failure on one service is reported after the others were checked, so
// the host retries the round.
func (m *Module) reconcile(ctx context.Context) (int, error) {
	held, ids, err := m.holdings(ctx)
	if err != nil {
		return 0, err
	}
	_, restored, err := m.reconcileAll(ctx, held, ids, true)
	return restored, err
}

// reconcileAll checks the services ids, and repairs them when fix is set.
// It returns the report, how many services it restored and the first
// service's failure.
func (m *Module) reconcileAll(ctx context.Context, held map[uint64]*holding, ids []uint64, fix bool) (reconcileReport, int, error) {
	rep := reconcileReport{Fix: fix, Checked: len(ids), Services: []serviceDrift{}}
	restored := 0
	var firstErr error
	for _, id := range ids {
		d, did, err := m.checkService(ctx, id, held[id], fix)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("service %d: %w", id, err)
		}
		if did {
			restored++
		}
		if len(d.Findings) == 0 {
			continue
		}
		for _, f := range d.Findings {
			switch f.Outcome {
			case outcomeFixed:
				rep.Fixed++
			case outcomeLeft:
				rep.Left++
			}
		}
		rep.Services = append(rep.Services, d)
	}
	return rep, restored, firstErr
}

// checkService works out one service's drift under its lock, so the report
// never sees an apply or a purchase half done, and repairs it when fix is
// set. It reports whether it restored add-ons, and why the service could
// not be checked or repaired.
func (m *Module) checkService(ctx context.Context, serviceID uint64, hd *holding, fix bool) (serviceDrift, bool, error) {
	unlock, err := m.lockService(ctx, serviceID)
	if err != nil {
		err = fmt.Errorf("take the service's lock: %w", err)
		return failedCheck(serviceID, hd, err), false, err
	}
	defer unlock()
	o, err := m.observe(ctx, serviceID, hd)
	if err != nil {
		err = fmt.Errorf("read the expected price and limits: %w", err)
		return failedCheck(serviceID, hd, err), false, err
	}
	d, p := drift(o)
	if !fix {
		for i := range d.Findings {
			if d.Findings[i].Verdict != Info {
				d.Findings[i].Outcome = outcomeLeft
			}
		}
		return d, false, p.cause
	}
	did, err := m.repair(ctx, o, p)
	for i := range d.Findings {
		f := &d.Findings[i]
		switch {
		case f.Verdict == Restorable && did:
			f.Outcome = outcomeFixed
		case f.Verdict == Info && err == nil:
			f.Outcome = outcomeNoted
		case f.Verdict != Info:
			f.Outcome = outcomeLeft
		}
	}
	if err != nil {
		d.Error = err.Error()
		return d, false, err
	}
	return d, did, p.cause
}

// failedCheck is the report of a service whose check stopped before it
// could compare anything.
func failedCheck(serviceID uint64, hd *holding, err error) serviceDrift {
	return serviceDrift{ServiceID: serviceID, AddOnIncrease: money.Format(hd.increase), Limits: []limitView{},
		Findings: []finding{{Kind: kindCheckFailed, Verdict: Failed, Message: err.Error(), Outcome: outcomeLeft}}}
}

// observe reads what drift compares: the panel's service, the server's
// limits (only for services reconcile may restore) and what upsell set.
func (m *Module) observe(ctx context.Context, serviceID uint64, hd *holding) (observation, error) {
	h, _ := m.deps()
	o := observation{serviceID: serviceID, held: hd}
	o.svc, o.svcErr = h.Panel.Service(ctx, serviceID)
	if o.svcErr == nil && (o.svc.Status == hostapi.ServiceActive || o.svc.Status == hostapi.ServiceSuspended) {
		o.cur, o.curErr = h.Provision.Read(ctx, serviceID)
	}
	var err error
	if o.exp, o.known, err = m.expected(ctx, "", serviceID); err != nil {
		return o, err
	}
	// Read after the service and the server: a module's change landing in
	// between is then either in neither or already recorded.
	if o.writes, err = h.Panel.ServiceWrites(ctx, serviceID); err != nil {
		return o, fmt.Errorf("read what upsell last wrote: %w", err)
	}
	return o, nil
}

// repair carries out a plan under the service's lock: the limits first,
// then price, expectation and audit entry in one transaction. It reports
// whether it restored add-ons.
func (m *Module) repair(ctx context.Context, o observation, p plan) (bool, error) {
	h, _ := m.deps()
	if p.cause != nil {
		return false, nil
	}
	if !p.restores() {
		if p.remember {
			return false, m.rememberNow(ctx, o.serviceID, p.next)
		}
		return false, nil
	}
	var applied hostapi.Applied
	var err error
	if len(p.target) > 0 {
		if applied, err = h.Provision.Apply(ctx, o.serviceID, p.target); err != nil {
			return false, fmt.Errorf("put the limits back: %w", err)
		}
	}
	tx, err := h.Store.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	svc := o.svc
	if !p.price.Equal(svc.Price) {
		if _, err := h.Panel.UpdateRecurringPrice(ctx, tx.ID(), hostapi.PriceChange{
			ServiceID: o.serviceID, From: svc.Price, To: p.price, Reason: "add-ons restored after the panel recomputed the price",
		}); err != nil {
			return false, fmt.Errorf("put the recurring price back: %w", err)
		}
	}
	if err := m.remember(ctx, tx.ID(), o.serviceID, p.next); err != nil {
		return false, err
	}
	msg := "add-ons restored: " + joinNotes(p.notes)
	data, _ := json.Marshal(map[string]any{"limits_before": o.cur, "limits_after": applied.After, "price_before": money.Format(svc.Price),
		"price_after": money.Format(p.price), "expected_price": money.Format(o.exp.Price), "expected_limits": o.exp.Limits})
	if _, err := h.Audit.Write(ctx, tx.ID(), hostapi.AuditEntry{
		Action: "addon.restored", ServiceID: o.serviceID, UserID: svc.UserID, Subject: fmt.Sprintf("service:%d", o.serviceID), Message: msg, Data: data,
	}); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// adminReconcile answers GET (report only: changes nothing) and POST (fix)
// /admin/reconcile. A service that could not be checked is a finding of the
// report, not a failure of the request: the admin sees the others too.
func (m *Module) adminReconcile(ctx context.Context, fix bool) (int, any, error) {
	held, ids, err := m.holdings(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("read the applied add-ons: %w", err)
	}
	rep, restored, _ := m.reconcileAll(ctx, held, ids, fix)
	if fix {
		// Each restoration has its own entry (addon.restored); this one
		// says the admin asked for the round and what it left.
		h, _ := m.deps()
		data, _ := json.Marshal(map[string]int{"checked": rep.Checked, "restored": restored, "fixed": rep.Fixed, "left": rep.Left})
		if _, err := h.Audit.Write(ctx, "", hostapi.AuditEntry{
			Action: "reconcile.fixed", Subject: "reconcile",
			Message: fmt.Sprintf("fix what is safe: %d services checked, %d findings fixed, %d left", rep.Checked, rep.Fixed, rep.Left), Data: data,
		}); err != nil {
			return 0, nil, err
		}
	}
	return http.StatusOK, rep, nil
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
