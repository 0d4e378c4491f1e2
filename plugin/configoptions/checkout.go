package configoptions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
	"github.com/upsell-io/upsell/hostapi/proration"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// checkoutRequest is what a client sends to order a configured service. It
// names things; every price comes from the catalog and the panel.
type checkoutRequest struct {
	// ProductID and PlanID are the panel product and the plan (cycle) the
	// service is created under.
	ProductID uint64 `json:"product_id"`
	PlanID    uint64 `json:"plan_id"`
	// ServiceType picks a Build-Your-Own configurator instead of the
	// product's preset options.
	ServiceType string        `json:"service_type"`
	Currency    string        `json:"currency"`
	Choices     []choiceInput `json:"choices"`
	// Coupon is a panel coupon code, applied with the panel's rules.
	Coupon string `json:"coupon,omitempty"`
}

// checkoutView is the answer: the same for every replay of one
// idempotency key.
type checkoutView struct {
	CheckoutID     uint64            `json:"checkout_id"`
	ServiceID      uint64            `json:"service_id"`
	InvoiceID      uint64            `json:"invoice_id"`
	InvoiceNumber  string            `json:"invoice_number,omitempty"`
	PayURL         string            `json:"pay_url,omitempty"`
	Currency       string            `json:"currency"`
	Cycle          string            `json:"cycle"`
	Mode           catalog.GroupMode `json:"mode"`
	Lines          []quoteLine       `json:"lines"`
	PlanPrice      string            `json:"plan_price"`
	OptionsPrice   string            `json:"options_price"`
	RecurringPrice string            `json:"recurring_price"`
	SetupFee       string            `json:"setup_fee"`
	Coupon         string            `json:"coupon,omitempty"`
	Discount       string            `json:"discount,omitempty"`
	DueToday       string            `json:"due_today"`
	Properties     map[string]string `json:"properties"`
	// term is the price column of the cycle, for the checkout page.
	term catalog.Term
}

// maxIdempotencyKey is the checkouts table's key column width.
const maxIdempotencyKey = 128

const (
	insertCheckout = `INSERT INTO ext_configoptions_checkouts (user_id, idempotency_key, state, order_snapshot, created_at)
VALUES (?, ?, 'creating', '{}', ?)`
	finishCheckout  = `UPDATE ext_configoptions_checkouts SET state = 'awaiting_payment', service_id = ?, invoice_id = ?, order_snapshot = ? WHERE id = ?`
	selectCheckout  = `SELECT state, order_snapshot FROM ext_configoptions_checkouts WHERE user_id = ? AND idempotency_key = ?`
	insertSelection = `INSERT INTO ext_configoptions_selections
(service_id, option_id, value_id, quantity, text, locked_price, locked_hourly, cycle_type, cycle_period, cycle_unit, custom_build, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// checkout orders a new configured service for the linked user: it
// validates the choices against today's catalog, prices them on the plan's
// cycle, and in one transaction writes the panel's order, a pending service
// renewing at the recurring total, its first invoice, and the selections
// with their locked prices. Paying the invoice makes the panel activate the
// service and provision it through its own server extension, from the
// service properties written here (provisioning_key -> property).
//
// One order per (user, Idempotency-Key): a replay answers what the first
// request made.
func (m *Module) checkout(ctx context.Context, req hostapi.HTTPRequest, _ uint64) (int, any, error) {
	key, err := idempotencyKey(req)
	if err != nil {
		return 0, nil, err
	}
	return m.order(ctx, req.Principal.UserID, key, func() (checkoutRequest, error) {
		var in checkoutRequest
		return in, hostapi.DecodeJSON(req.Body, &in)
	})
}

// order is the checkout's one code path, for the JSON route and the
// checkout page: a replayed key answers the first order (200) before the
// request is even read; otherwise read gives it, and it is priced and
// placed (201).
func (m *Module) order(ctx context.Context, userID uint64, key string, read func() (checkoutRequest, error)) (int, checkoutView, error) {
	if done, ok, err := m.findCheckout(ctx, userID, key); err != nil || ok {
		return http.StatusOK, done, err
	}
	in, err := read()
	if err != nil {
		return 0, checkoutView{}, err
	}
	pc, view, err := m.priceCheckout(ctx, userID, in)
	if err != nil {
		return 0, checkoutView{}, err
	}
	return m.placeCheckout(ctx, userID, key, pc, view)
}

// pricedCheckout is a checkout's order and selections, priced.
type pricedCheckout struct {
	order     hostapi.NewServiceOrder
	selection catalog.Selection
	cycle     hostapi.Cycle
	byo       bool
	prices    map[uint64]decimal.Decimal // option id -> locked price on the cycle
	hourly    map[uint64]decimal.Decimal // option id -> locked hourly price
	// coupon is the coupon applied, checked again under its lock in the
	// checkout's transaction.
	coupon *appliedCoupon
	// base and options are what a coupon discounts.
	base, options decimal.Decimal
}

// appliedCoupon is a coupon as priced: what its uses allowed then.
type appliedCoupon struct {
	code    string
	product uint64
	now     time.Time
	// amount is the discount the client was shown.
	amount decimal.Decimal
}

// priceCheckout validates in and prices it: the plan from the panel, the
// options from the catalog, exclusive tax as the panel stores it.
func (m *Module) priceCheckout(ctx context.Context, userID uint64, in checkoutRequest) (pricedCheckout, checkoutView, error) {
	if in.ProductID == 0 {
		return pricedCheckout{}, checkoutView{}, hostapi.Invalid("product_id", "is required")
	}
	if in.PlanID == 0 {
		return pricedCheckout{}, checkoutView{}, hostapi.Invalid("plan_id", "is required")
	}
	currency := strings.ToUpper(strings.TrimSpace(in.Currency))
	if len(currency) != 3 {
		return pricedCheckout{}, checkoutView{}, hostapi.Invalid("currency", "%q is not a 3-letter currency code", in.Currency)
	}
	all, err := m.loadCatalog(ctx)
	if err != nil {
		return pricedCheckout{}, checkoutView{}, err
	}
	var groups []catalog.Group
	var mode catalog.GroupMode
	if in.ServiceType != "" {
		groups, mode, err = selectGroups(all, quoteRequest{ServiceType: in.ServiceType})
		if err == nil && !containsID(groups[0].ProductIDs, in.ProductID) {
			// The product decides what the panel provisions and a BYO
			// service pays for its options alone: only the products the
			// configurator is linked to may be ordered through it.
			err = hostapi.Invalid("product_id", "product %d is not sold through the %q configurator", in.ProductID, in.ServiceType)
		}
	} else {
		groups, mode, err = selectGroups(all, quoteRequest{ProductID: in.ProductID})
	}
	if err != nil {
		return pricedCheckout{}, checkoutView{}, err
	}
	choices := make([]catalog.Choice, len(in.Choices))
	for i, c := range in.Choices {
		choices[i] = catalog.Choice{OptionID: c.OptionID, ValueID: c.ValueID, Quantity: c.Quantity, Text: c.Text}
	}
	sel, err := catalog.Validate(groups, choices)
	if err != nil {
		return pricedCheckout{}, checkoutView{}, err
	}
	h := m.hostAPI()
	plan, err := h.Panel.ProductPlan(ctx, in.PlanID, currency)
	if err != nil {
		return pricedCheckout{}, checkoutView{}, err
	}
	if plan.ProductID != in.ProductID {
		return pricedCheckout{}, checkoutView{}, hostapi.Invalid("plan_id", "plan %d is not a plan of product %d", in.PlanID, in.ProductID)
	}
	if err := proration.Eligible(plan.Cycle); err != nil {
		// The same cycles Micro-Upsell sells on: a recurring day, week,
		// month or year cycle. Hourly billing needs a panel that meters
		// usage, which Paymenter does not.
		return pricedCheckout{}, checkoutView{}, err
	}
	term, err := catalog.TermFor(plan.Cycle)
	if err != nil {
		return pricedCheckout{}, checkoutView{}, err
	}
	byo := mode == catalog.BuildYourOwn
	priceFor := catalog.Price
	if byo {
		priceFor = catalog.PriceBYO
	}
	q, err := priceFor(sel, term)
	if err != nil {
		return pricedCheckout{}, checkoutView{}, err
	}
	pc := pricedCheckout{selection: sel, cycle: plan.Cycle, byo: byo, prices: map[uint64]decimal.Decimal{}, hourly: map[uint64]decimal.Decimal{}}
	for _, l := range q.Lines {
		pc.prices[l.OptionID] = l.Price
	}
	if hq, err := priceFor(sel, catalog.Hourly); err == nil {
		for _, l := range hq.Lines {
			pc.hourly[l.OptionID] = l.Hourly
		}
	}
	// A BYO service is billed its options alone (the monthly cap on its
	// cycle): its product's plan gives the cycle, not a price.
	planPrice := plan.Price
	if byo {
		planPrice = decimal.Zero
	}
	rate, err := h.Panel.ExclusiveTaxRate(ctx, userID)
	if err != nil {
		return pricedCheckout{}, checkoutView{}, err
	}
	// Without a coupon both cycles cost plan + options.
	recurringNet, firstNet := planPrice.Add(q.Total), planPrice.Add(q.Total)
	var discount decimal.Decimal
	var applied *appliedCoupon
	if code := strings.TrimSpace(in.Coupon); code != "" {
		settings, err := h.Panel.Settings(ctx)
		if err != nil {
			return pricedCheckout{}, checkoutView{}, err
		}
		applied = &appliedCoupon{code: code, product: in.ProductID, now: panelWallClock(m.now(), settings.Location())}
		d, err := applied.apply(ctx, h.Panel, "", userID, planPrice, q.Total)
		if err != nil {
			return pricedCheckout{}, checkoutView{}, err
		}
		// The exact discounted prices: Paymenter taxes a price less a
		// percentage before rounding it (money.PlusExclusiveTax).
		recurringNet, firstNet, discount = d.RecurringExact, d.FirstCycleExact, d.Amount
		applied.amount = d.Amount
	}
	recurring := money.PlusExclusiveTax(recurringNet, rate)
	setup := money.PlusExclusiveTax(plan.SetupFee, rate)
	due := money.PlusExclusiveTax(firstNet, rate).Add(setup)
	props, err := catalog.PropertiesFor(sel)
	if err != nil {
		return pricedCheckout{}, checkoutView{}, err
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pc.coupon, pc.base, pc.options = applied, planPrice, q.Total
	pc.order = hostapi.NewServiceOrder{
		UserID: userID, ProductID: in.ProductID, PlanID: in.PlanID, Currency: currency,
		Price: recurring, FirstAmount: due, Description: checkoutDescription(groups, mode, plan.Cycle),
	}
	for _, k := range keys {
		pc.order.Properties = append(pc.order.Properties, hostapi.ServiceProperty{Key: k, Name: k, Value: props[k]})
	}
	view := checkoutView{
		Currency: currency, Cycle: plan.Cycle.String(), Mode: mode,
		PlanPrice: money.Format(planPrice), OptionsPrice: money.Format(q.Total),
		RecurringPrice: money.Format(recurring), SetupFee: money.Format(setup), DueToday: money.Format(due),
		Properties: props, Lines: []quoteLine{}, term: term,
	}
	if applied != nil {
		view.Coupon, view.Discount = applied.code, money.Format(discount)
	}
	for _, l := range q.Lines {
		view.Lines = append(view.Lines, quoteLine{OptionID: l.OptionID, Option: l.Option, Value: l.Value, Prices: map[string]string{string(term): money.Format(l.Price)}})
	}
	return pc, view, nil
}

// couponApplied is a coupon's discount with the coupon's panel id.
type couponApplied struct {
	catalog.Discount
	couponID uint64
}

// apply reads the coupon (locked, in tx) and applies it to base + options
// with the panel's rules. A setup-fee coupon is refused: the checkout's
// options have no setup fee, and the plan's setup fee is charged as the
// panel prices it.
func (a *appliedCoupon) apply(ctx context.Context, panel hostapi.Panel, tx hostapi.TxID, userID uint64, base, options decimal.Decimal) (couponApplied, error) {
	c, err := panel.Coupon(ctx, tx, a.code, userID)
	if errors.Is(err, hostapi.ErrNotFound) {
		return couponApplied{}, hostapi.Invalid("coupon", "no coupon %q", a.code)
	}
	if err != nil {
		return couponApplied{}, err
	}
	if c.AppliesTo == catalog.AppliesToSetupFee {
		return couponApplied{}, hostapi.Errorf(hostapi.CodePrecondition, "coupon %q discounts setup fees only, which a configured order does not have", a.code)
	}
	cc := catalog.Coupon{ID: c.ID, Code: c.Code, Type: c.Type, AppliesTo: c.AppliesTo, Value: c.Value, Recurring: c.Recurring,
		MaxUses: c.MaxUses, MaxUsesPerUser: c.MaxUsesPerUser, ProductIDs: c.ProductIDs}
	if !c.StartsAt.IsZero() {
		cc.StartsAt = &c.StartsAt
	}
	if !c.ExpiresAt.IsZero() {
		cc.ExpiresAt = &c.ExpiresAt
	}
	d, err := catalog.ApplyCoupon(base, options, cc, catalog.CouponUse{Total: c.UsesTotal, ByUser: c.UsesByUser, Product: a.product, Now: a.now})
	if err != nil {
		return couponApplied{}, err
	}
	return couponApplied{Discount: d, couponID: c.ID}, nil
}

// discountBase is what the coupon discounts: the plan's price (0 for a
// Build-Your-Own service) and the options' total.
func (pc pricedCheckout) discountBase() (decimal.Decimal, decimal.Decimal) {
	return pc.base, pc.options
}

// panelWallClock is now as the panel's wall clock (its naive DATETIMEs),
// carried in UTC like the coupon times the panel returns.
func panelWallClock(now time.Time, loc *time.Location) time.Time {
	w := now.In(loc)
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC)
}

// checkoutDescription is the first invoice item's text.
func checkoutDescription(groups []catalog.Group, mode catalog.GroupMode, c hostapi.Cycle) string {
	name := groups[0].Name
	if mode == catalog.Preset {
		name = "Configured service"
	}
	d := fmt.Sprintf("%s (%s)", name, c.String())
	if len(d) > 250 {
		d = d[:250]
	}
	return d
}

// placeCheckout writes the checkout in one transaction. The checkout row
// goes first: a concurrent request with the same key waits on its unique
// key and then finds it.
func (m *Module) placeCheckout(ctx context.Context, userID uint64, key string, pc pricedCheckout, view checkoutView) (int, checkoutView, error) {
	h := m.hostAPI()
	tx, err := h.Store.Begin(ctx)
	if err != nil {
		return 0, checkoutView{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	now := m.now().UTC()
	res, err := h.Store.Exec(ctx, tx.ID(), insertCheckout, userID, key, now)
	if errors.Is(err, hostapi.ErrConflict) {
		_ = tx.Rollback(ctx)
		if done, ok, err := m.findCheckout(ctx, userID, key); err != nil || ok {
			return http.StatusOK, done, err
		}
		return 0, checkoutView{}, hostapi.Errorf(hostapi.CodeConflict, "this checkout is being placed; retry with the same Idempotency-Key")
	}
	if err != nil {
		return 0, checkoutView{}, err
	}
	if pc.coupon != nil {
		// Again under the coupon's lock: another checkout may have taken
		// its last use since it was priced.
		base, options := pc.discountBase()
		d, err := pc.coupon.apply(ctx, h.Panel, tx.ID(), userID, base, options)
		if err != nil {
			return 0, checkoutView{}, err
		}
		if !d.Amount.Equal(pc.coupon.amount) {
			return 0, checkoutView{}, hostapi.Errorf(hostapi.CodeConflict, "coupon %q changed while the order was placed: order again", pc.coupon.code)
		}
		pc.order.CouponID = d.couponID
	}
	created, err := h.Panel.CreateServiceOrder(ctx, tx.ID(), pc.order)
	if err != nil {
		return 0, checkoutView{}, err
	}
	for _, s := range pc.selection {
		var valueID, quantity, text any
		if s.Value != nil {
			valueID = s.Value.ID
		}
		if s.Option.Type == catalog.Quantity || s.Option.Type == catalog.Slider {
			quantity = s.Quantity
		}
		if s.Option.Type == catalog.Text {
			text = s.Text
		}
		if _, err := h.Store.Exec(ctx, tx.ID(), insertSelection, created.ServiceID, s.Option.ID, valueID, quantity, text,
			pc.prices[s.Option.ID], pc.hourly[s.Option.ID], string(pc.cycle.Type), pc.cycle.Period, string(pc.cycle.Unit), pc.byo, now, now); err != nil {
			return 0, checkoutView{}, err
		}
	}
	view.CheckoutID = uint64(res.LastInsertID)
	view.ServiceID, view.InvoiceID = created.ServiceID, created.Invoice.ID
	view.InvoiceNumber, view.PayURL = created.Invoice.Number, created.Invoice.PayURL
	snapshot, err := json.Marshal(view)
	if err != nil {
		return 0, checkoutView{}, hostapi.Errorf(hostapi.CodeInternal, "encode checkout: %w", err)
	}
	if _, err := h.Store.Exec(ctx, tx.ID(), finishCheckout, created.ServiceID, created.Invoice.ID, string(snapshot), view.CheckoutID); err != nil {
		return 0, checkoutView{}, err
	}
	if _, err := h.Audit.Write(ctx, tx.ID(), hostapi.AuditEntry{
		Action: "configoptions.checkout", ServiceID: created.ServiceID, UserID: userID, Subject: fmt.Sprintf("checkout:%d", view.CheckoutID),
		Message: fmt.Sprintf("ordered %s at %s %s recurring, %s due on invoice %d", view.Mode, view.RecurringPrice, view.Currency, view.DueToday, created.Invoice.ID),
		Data:    snapshot,
	}); err != nil {
		return 0, checkoutView{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, checkoutView{}, err
	}
	return http.StatusCreated, view, nil
}

// findCheckout answers a replayed idempotency key with what the first
// request made.
func (m *Module) findCheckout(ctx context.Context, userID uint64, key string) (checkoutView, bool, error) {
	rows, err := m.hostAPI().Store.Query(ctx, "", selectCheckout, userID, key)
	if err != nil {
		return checkoutView{}, false, err
	}
	if rows.Len() == 0 {
		return checkoutView{}, false, nil
	}
	var state, snapshot string
	if err := rows.Scan(0, &state, &snapshot); err != nil {
		return checkoutView{}, false, hostapi.Errorf(hostapi.CodeInternal, "read checkout: %w", err)
	}
	if state == "creating" {
		// Written by a transaction that is still open cannot be seen here;
		// a committed "creating" row would be a bug, not a retry.
		return checkoutView{}, false, hostapi.Errorf(hostapi.CodeConflict, "checkout for this key is incomplete")
	}
	var view checkoutView
	if err := json.Unmarshal([]byte(snapshot), &view); err != nil {
		return checkoutView{}, false, hostapi.Errorf(hostapi.CodeInternal, "decode checkout: %w", err)
	}
	return view, true, nil
}

// checkoutPaid closes the checkout whose first invoice was paid in full.
// An invoice that is not the module's, or not paid in full yet, is left
// alone (the poller reports it again once it is).
func (m *Module) checkoutPaid(ctx context.Context, invoiceID uint64) (hostapi.EventResult, error) {
	h := m.hostAPI()
	inv, err := h.Panel.Invoice(ctx, invoiceID)
	if errors.Is(err, hostapi.ErrNotFound) {
		return hostapi.EventResult{Handled: false, Message: fmt.Sprintf("no invoice %d", invoiceID)}, nil
	}
	if err != nil {
		return hostapi.EventResult{}, err
	}
	if inv.Status != hostapi.InvoicePaid || inv.Paid.LessThan(inv.Total) {
		return hostapi.EventResult{Handled: false, Message: fmt.Sprintf("invoice %d is not paid in full", invoiceID)}, nil
	}
	tx, err := h.Store.Begin(ctx)
	if err != nil {
		return hostapi.EventResult{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	res, err := h.Store.Exec(ctx, tx.ID(), `UPDATE ext_configoptions_checkouts SET state = 'paid' WHERE invoice_id = ? AND state = 'awaiting_payment'`, invoiceID)
	if err != nil {
		return hostapi.EventResult{}, err
	}
	if res.RowsAffected == 0 {
		return hostapi.EventResult{Handled: true, Message: "already recorded"}, nil
	}
	if _, err := h.Audit.Write(ctx, tx.ID(), hostapi.AuditEntry{
		Action: "configoptions.paid", UserID: inv.UserID, Subject: fmt.Sprintf("invoice:%d", invoiceID),
		Message: fmt.Sprintf("checkout invoice %d paid (%s %s): the panel activates and provisions the service", invoiceID, money.Format(inv.Paid), inv.Currency),
	}); err != nil {
		return hostapi.EventResult{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return hostapi.EventResult{}, err
	}
	return hostapi.EventResult{Handled: true, Message: "checkout paid"}, nil
}

// idempotencyKey is the request's Idempotency-Key header: a double click
// sends the same one twice.
func idempotencyKey(req hostapi.HTTPRequest) (string, error) {
	key := strings.TrimSpace(firstHeader(req.Header, "Idempotency-Key"))
	if key == "" || len(key) > maxIdempotencyKey {
		return "", hostapi.Invalid("Idempotency-Key", "a header of 1 to %d characters is required", maxIdempotencyKey)
	}
	return key, nil
}

// firstHeader is the first value of a header, or "".
func firstHeader(h map[string][]string, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}
