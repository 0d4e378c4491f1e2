package microupsell

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
	"github.com/upsell-io/upsell/hostapi/proration"
)

// Order states. An order moves forward only:
//
//	awaiting_payment -> paid -> applying -> applied
//	                         \-> failed (admin may retry: -> paid)
//	awaiting_payment -> flagged (paid invoice that must not be applied)
//	awaiting_payment -> cancelled (by the admin, with its invoice)
//	                    \-> flagged (the panel took a payment all the same)
const (
	StateAwaitingPayment = "awaiting_payment"
	StatePaid            = "paid"
	StateApplying        = "applying"
	StateApplied         = "applied"
	StateFailed          = "failed"
	StateFlagged         = "flagged"
	StateCancelled       = "cancelled"
)

// ItemReference is the invoice item reference type upsell writes. Paymenter
// acts on payment only for App\Models\Service (renewal), ServiceUpgrade and
// Credit; this one it leaves alone.
const ItemReference = `Upsell\Addon`

// quoteView is one package offered to a client.
type quoteView struct {
	PackageID         uint64 `json:"package_id"`
	Name              string `json:"name"`
	Resource          string `json:"resource"`
	Amount            int64  `json:"amount"`
	Currency          string `json:"currency"`
	DueToday          string `json:"due_today"`
	RecurringIncrease string `json:"recurring_increase"`
	NewRecurringPrice string `json:"new_recurring_price"`
	Cycle             string `json:"cycle"`
	DaysLeft          int    `json:"days_left"`
	DaysInCycle       int    `json:"days_in_cycle"`
	Available         bool   `json:"available"`
	Reason            string `json:"reason,omitempty"`
}

// eligibleService returns the service behind a client link (as the host
// attached it, else from the panel) and checks that it may buy add-ons.
func (m *Module) eligibleService(ctx context.Context, req hostapi.HTTPRequest) (hostapi.Service, hostapi.PanelSettings, error) {
	h, _ := m.deps()
	p := req.Principal
	if p.Kind != hostapi.Client || p.ServiceID == 0 {
		return hostapi.Service{}, hostapi.PanelSettings{}, hostapi.Errorf(hostapi.CodePermission, "a client link is required")
	}
	var svc hostapi.Service
	if req.Service != nil && req.Service.ID == p.ServiceID {
		svc = *req.Service
	} else {
		var err error
		if svc, err = h.Panel.Service(ctx, p.ServiceID); err != nil {
			return hostapi.Service{}, hostapi.PanelSettings{}, err
		}
	}
	// The link names both; a link for one user never opens another's
	// service, even if the ids were tampered with upstream.
	if svc.UserID != p.UserID {
		return hostapi.Service{}, hostapi.PanelSettings{}, hostapi.Errorf(hostapi.CodeNotFound, "no service %d", p.ServiceID)
	}
	if svc.Status != hostapi.ServiceActive {
		return svc, hostapi.PanelSettings{}, hostapi.Errorf(hostapi.CodePrecondition, "the service is %s, not active", svc.Status)
	}
	if err := proration.Eligible(svc.Cycle); err != nil {
		return svc, hostapi.PanelSettings{}, err
	}
	if req.Settings != nil {
		return svc, *req.Settings, nil
	}
	settings, err := h.Panel.Settings(ctx)
	return svc, settings, err
}

// quote prices one package for one service, or says why it is not offered.
func (m *Module) quote(pkg Package, svc hostapi.Service, settings hostapi.PanelSettings, taxRate decimal.Decimal, held int) (proration.Quote, error) {
	_, s := m.deps()
	switch {
	case !pkg.Active:
		return proration.Quote{}, hostapi.Errorf(hostapi.CodeNotFound, "package %d is not offered", pkg.ID)
	case pkg.ProductID != 0 && pkg.ProductID != svc.ProductID:
		return proration.Quote{}, hostapi.Errorf(hostapi.CodeNotFound, "package %d is not offered for this product", pkg.ID)
	}
	price, ok := pkg.MonthlyPrices[svc.Currency]
	if !ok {
		return proration.Quote{}, hostapi.Errorf(hostapi.CodePrecondition, "package %d has no price in %s", pkg.ID, svc.Currency)
	}
	if pkg.MaxPerService > 0 && held >= pkg.MaxPerService {
		return proration.Quote{}, hostapi.Errorf(hostapi.CodePrecondition, "the service already holds the most of this add-on allowed (%d)", pkg.MaxPerService)
	}
	q, err := proration.Compute(proration.Input{
		MonthlyPrice: price, Cycle: svc.Cycle, ExpiresAt: svc.ExpiresAt, Now: m.now(),
		Location: settings.Location(), Method: s.Proration, TaxRate: taxRate,
	})
	if err != nil {
		return q, err
	}
	if q.DueToday.IsZero() && q.DaysLeft == 0 {
		// The cycle ends today: the renewal is about to charge the full
		// price, and charging nothing today would hand the add-on out free.
		return q, hostapi.Errorf(hostapi.CodePrecondition, "the current cycle ends today: buy add-ons after the renewal")
	}
	return q, nil
}

// taxRate is the exclusive tax the panel adds to the client's recurring
// price; the panel is asked only when its settings say it adds any.
func (m *Module) taxRate(ctx context.Context, settings hostapi.PanelSettings, userID uint64) (decimal.Decimal, error) {
	if !exclusiveTax(settings) {
		return decimal.Zero, nil
	}
	h, _ := m.deps()
	return h.Panel.ExclusiveTaxRate(ctx, userID)
}

// exclusiveTax reports whether the panel adds tax to recurring prices,
// which takes a call back to the host for the client's rate.
func exclusiveTax(settings hostapi.PanelSettings) bool {
	return settings.TaxEnabled && strings.EqualFold(settings.TaxType, "exclusive")
}

const heldByService = `SELECT package_id, COUNT(*) FROM ext_micro_upsell_order_addons
WHERE service_id = ? AND state IN ('awaiting_payment', 'paid', 'applying', 'applied') GROUP BY package_id`

// held counts the add-ons a service holds or is buying, by package.
func (m *Module) held(ctx context.Context, tx hostapi.TxID, serviceID uint64) (map[uint64]int, error) {
	h, _ := m.deps()
	rows, err := h.Store.Query(ctx, tx, heldByService, serviceID)
	if err != nil {
		return nil, err
	}
	out := map[uint64]int{}
	for i := 0; i < rows.Len(); i++ {
		var id uint64
		var n int
		if err := rows.Scan(i, &id, &n); err != nil {
			return nil, hostapi.Errorf(hostapi.CodeInternal, "read holdings: %w", err)
		}
		out[id] = n
	}
	return out, nil
}

// offerQuote is the offer of one eligible service: each package quoted by
// the server, as the JSON list and the shop page both show it.
type offerQuote struct {
	Service  hostapi.Service
	Settings hostapi.PanelSettings
	Packages []quoteView
	// Reusable says everything read came with the request (see listPackages).
	Reusable bool
}

// quoteOffer prices every package offered to the linked service; the
// service's refusal (not active, no cycle to prorate) is the error, with
// the service when it was read.
func (m *Module) quoteOffer(ctx context.Context, req hostapi.HTTPRequest) (offerQuote, error) {
	svc, settings, err := m.eligibleService(ctx, req)
	if err != nil {
		return offerQuote{Service: svc}, err
	}
	pkgs, held, err := m.offer(ctx, req, svc.ID)
	if err != nil {
		return offerQuote{Service: svc}, err
	}
	tax, err := m.taxRate(ctx, settings, svc.UserID)
	if err != nil {
		return offerQuote{Service: svc}, err
	}
	out := []quoteView{}
	for _, pkg := range pkgs {
		q, err := m.quote(pkg, svc, settings, tax, held[pkg.ID])
		if errors.Is(err, hostapi.ErrNotFound) {
			continue // inactive or for another product: not shown at all
		}
		v := quoteView{PackageID: pkg.ID, Name: pkg.Name, Resource: string(pkg.Resource), Amount: pkg.Amount,
			Currency: svc.Currency, Cycle: svc.Cycle.String(), Available: err == nil}
		if err != nil {
			v.Reason = err.Error()
		} else {
			v.DueToday = money.Format(q.DueToday)
			v.RecurringIncrease = money.Format(q.RecurringIncrease)
			v.NewRecurringPrice = money.Format(svc.Price.Add(q.RecurringIncrease))
			v.DaysLeft, v.DaysInCycle = q.DaysLeft, q.DaysInCycle
		}
		out = append(out, v)
	}
	fromRequest := req.Service != nil && req.Settings != nil && req.Prefetched[offerPrefetch] != nil
	return offerQuote{Service: svc, Settings: settings, Packages: out, Reusable: fromRequest && !exclusiveTax(settings)}, nil
}

// listPackages is GET /packages, the client's JSON list.
func (m *Module) listPackages(w http.ResponseWriter, r *http.Request) {
	o, err := m.quoteOffer(r.Context(), *hostapi.RequestOf(r))
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	if o.Reusable {
		// Everything this list read came with the request (the service,
		// the settings, the prefetched offer) but the date: the host may
		// answer the same request with it until the panel's next midnight,
		// when the days left change. With exclusive tax it also read the
		// client's rate, which the request does not carry.
		hostapi.MarkReusable(w, nextMidnight(m.now(), o.Settings.Location()).Unix())
	}
	svc := o.Service
	hostapi.WriteJSON(w, http.StatusOK, map[string]any{
		"service_id": svc.ID, "currency": svc.Currency, "recurring_price": money.Format(svc.Price),
		"expires_at": svc.ExpiresAt.Format("2006-01-02"), "packages": o.Packages,
	})
}

// nextMidnight is the start of the day after now's in loc.
func nextMidnight(now time.Time, loc *time.Location) time.Time {
	y, mo, d := now.In(loc).Date()
	return time.Date(y, mo, d+1, 0, 0, 0, 0, loc)
}

// buyRequest is all a client sends: prices come from the database.
type buyRequest struct {
	PackageID uint64 `json:"package_id"`
}

// orderView is an order as clients and admins see it.
type orderView struct {
	ID                uint64          `json:"id"`
	ServiceID         uint64          `json:"service_id"`
	UserID            uint64          `json:"user_id"`
	PackageID         uint64          `json:"package_id"`
	PackageName       string          `json:"package_name"`
	Resource          string          `json:"resource"`
	Amount            int64           `json:"amount"`
	Currency          string          `json:"currency"`
	DueToday          string          `json:"due_today"`
	RecurringIncrease string          `json:"recurring_increase"`
	State             string          `json:"state"`
	Reason            string          `json:"reason,omitempty"`
	InvoiceID         uint64          `json:"invoice_id,omitempty"`
	InvoiceNumber     string          `json:"invoice_number,omitempty"`
	PayURL            string          `json:"pay_url,omitempty"`
	PriceBefore       string          `json:"price_before,omitempty"`
	PriceAfter        string          `json:"price_after,omitempty"`
	LimitsBefore      json.RawMessage `json:"limits_before,omitempty"`
	LimitsAfter       json.RawMessage `json:"limits_after,omitempty"`
	CreatedAt         time.Time       `json:"created_at"`
	History           []eventView     `json:"history,omitempty"`
}

type eventView struct {
	State   string    `json:"state"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

const (
	openOrders  = `SELECT COUNT(*) FROM ext_micro_upsell_order_addons WHERE service_id = ? AND state = 'awaiting_payment'`
	insertOrder = `INSERT INTO ext_micro_upsell_order_addons (service_id, user_id, package_id, package_name, resource, amount, currency,
monthly_price, due_today, recurring_increase, cycle_type, cycle_period, cycle_unit, expires_at, days_left, days_in_cycle, proration,
idempotency_key, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'awaiting_payment', ?, ?)`
	setOrderInvoice = `UPDATE ext_micro_upsell_order_addons SET invoice_id = ?, invoice_number = ?, updated_at = ? WHERE id = ?`
	insertEvent     = `INSERT INTO ext_micro_upsell_order_events (order_id, state, message, created_at) VALUES (?, ?, ?, ?)`
	orderByIdem     = `SELECT id FROM ext_micro_upsell_order_addons WHERE service_id = ? AND idempotency_key = ?`
)

// lockService takes the service's lock: the host's one lock per service,
// shared with every module, Provision.Apply and replica, and held without
// a database connection, so purchases, applies and reconcile rounds of one
// service take turns while each runs its own short transactions. The
// returned unlock releases it (the host also does when the plugin dies).
func (m *Module) lockService(ctx context.Context, serviceID uint64) (func(), error) {
	h, _ := m.deps()
	lock, err := h.Provision.LockService(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	return func() { _ = h.Provision.UnlockService(context.WithoutCancel(ctx), lock) }, nil
}

// idempotencyKey validates the client's key (a double click sends the same
// one twice).
func idempotencyKey(field, raw string) (string, error) {
	key := strings.TrimSpace(raw)
	if key == "" || len(key) > 128 {
		return "", hostapi.Invalid(field, "a key of 1 to 128 characters is required")
	}
	return key, nil
}

// buy is POST /orders: the JSON body names the package, the
// Idempotency-Key header the purchase.
func (m *Module) buy(r *http.Request) (int, any, error) {
	req := hostapi.RequestOf(r)
	key, err := idempotencyKey("Idempotency-Key", r.Header.Get("Idempotency-Key"))
	if err != nil {
		return 0, nil, err
	}
	var in buyRequest
	if err := hostapi.DecodeJSON(req.Body, &in); err != nil {
		return 0, nil, err
	}
	if in.PackageID == 0 {
		return 0, nil, hostapi.Invalid("package_id", "required")
	}
	v, created, err := m.placeOrder(r.Context(), *req, key, in.PackageID)
	if err != nil {
		return 0, nil, err
	}
	if created {
		return http.StatusCreated, v, nil
	}
	return http.StatusOK, v, nil
}

// placeOrder creates the order and its panel invoice in one transaction,
// or, for a key the service used before (a double click, a replayed form),
// returns that key's order with created false. Every amount comes from the
// database: the request names only the package. Both the JSON route and
// the shop's form buy through it.
func (m *Module) placeOrder(ctx context.Context, req hostapi.HTTPRequest, key string, packageID uint64) (orderView, bool, error) {
	h, s := m.deps()
	svc, settings, err := m.eligibleService(ctx, req)
	if err != nil {
		return orderView{}, false, err
	}
	if existing, ok, err := m.orderByKey(ctx, svc.ID, key); err != nil || ok {
		return existing, false, err
	}
	// What needs a connection of its own (the client's tax rate, the
	// node's capacity through the adapter) is asked before the lock's
	// transaction opens: a request holding a connection never waits for a
	// second one (the host refuses it).
	probe, err := m.packageByID(ctx, "", packageID)
	if err != nil {
		return orderView{}, false, err
	}
	tax, err := m.taxRate(ctx, settings, svc.UserID)
	if err != nil {
		return orderView{}, false, err
	}
	if err := m.checkCapacity(ctx, svc.ID, probe); err != nil {
		return orderView{}, false, err
	}
	now := m.now().UTC()
	// Serialize purchases per service so caps and the open-order limit
	// hold under concurrent clicks; the order and invoice commit together.
	unlock, err := m.lockService(ctx, svc.ID)
	if err != nil {
		return orderView{}, false, err
	}
	defer unlock()
	tx, err := h.Store.Begin(ctx)
	if err != nil {
		return orderView{}, false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	pkg, err := m.packageByID(ctx, tx.ID(), packageID)
	if err != nil {
		return orderView{}, false, err
	}
	if pkg.Resource != probe.Resource || pkg.Amount != probe.Amount {
		return orderView{}, false, hostapi.Errorf(hostapi.CodeConflict, "package %d changed while it was ordered: order again", pkg.ID)
	}
	held, err := m.held(ctx, tx.ID(), svc.ID)
	if err != nil {
		return orderView{}, false, err
	}
	q, err := m.quote(pkg, svc, settings, tax, held[pkg.ID])
	if err != nil {
		return orderView{}, false, err
	}
	rows, err := h.Store.Query(ctx, tx.ID(), openOrders, svc.ID)
	if err != nil {
		return orderView{}, false, err
	}
	var open int
	if err := rows.Scan(0, &open); err != nil {
		return orderView{}, false, hostapi.Errorf(hostapi.CodeInternal, "count open orders: %w", err)
	}
	if open >= s.MaxOpenOrders {
		return orderView{}, false, hostapi.Errorf(hostapi.CodePrecondition, "%d add-on invoices are still unpaid for this service: pay or cancel them first", open)
	}
	price := pkg.MonthlyPrices[svc.Currency]
	res, err := h.Store.Exec(ctx, tx.ID(), insertOrder, svc.ID, svc.UserID, pkg.ID, pkg.Name, string(pkg.Resource), pkg.Amount, svc.Currency,
		price, q.DueToday, q.RecurringIncrease, string(svc.Cycle.Type), svc.Cycle.Period, string(svc.Cycle.Unit),
		wallClock(svc.ExpiresAt), q.DaysLeft, q.DaysInCycle, string(s.Proration), key, now, now)
	if errors.Is(err, hostapi.ErrConflict) {
		// The same key raced in from another click: answer with its order.
		_ = tx.Rollback(ctx)
		existing, _, err := m.orderByKey(ctx, svc.ID, key)
		return existing, false, err
	}
	if err != nil {
		return orderView{}, false, err
	}
	orderID := uint64(res.LastInsertID)
	inv, err := h.Panel.CreateInvoice(ctx, tx.ID(), hostapi.NewInvoice{
		UserID: svc.UserID, Currency: svc.Currency, DueAt: now.AddDate(0, 0, s.InvoiceDueDays),
		Items: []hostapi.InvoiceItem{{
			Description: fmt.Sprintf("%s for %s (%d of %d days)", pkg.Name, serviceLabel(svc), q.DaysLeft, q.DaysInCycle),
			Price:       q.DueToday, Quantity: 1, ReferenceType: ItemReference, ReferenceID: orderID,
		}},
	})
	if err != nil {
		return orderView{}, false, err
	}
	if _, err := h.Store.Exec(ctx, tx.ID(), setOrderInvoice, inv.ID, inv.Number, now, orderID); err != nil {
		return orderView{}, false, err
	}
	msg := fmt.Sprintf("ordered: %s due today, recurring +%s %s; invoice %s", money.Format(q.DueToday), money.Format(q.RecurringIncrease), svc.Currency, inv.Number)
	if _, err := h.Store.Exec(ctx, tx.ID(), insertEvent, orderID, StateAwaitingPayment, msg, now); err != nil {
		return orderView{}, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return orderView{}, false, err
	}
	o, err := m.order(ctx, "", orderID)
	if err != nil {
		return orderView{}, false, err
	}
	v := viewOrder(o)
	v.PayURL = inv.PayURL
	return v, true, nil
}

func serviceLabel(s hostapi.Service) string {
	if s.Label != "" {
		return s.Label
	}
	return fmt.Sprintf("%s #%d", s.ProductName, s.ID)
}

// wallClock stores a panel-local time as its wall clock (DATETIME is naive).
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// checkCapacity asks the adapter whether the node can hold one more of the
// package, so a provider never sells what the node cannot hold.
func (m *Module) checkCapacity(ctx context.Context, serviceID uint64, pkg Package) error {
	if pkg.Resource != hostapi.MemoryMiB && pkg.Resource != hostapi.DiskMiB {
		return nil
	}
	h, _ := m.deps()
	cur, err := h.Provision.Read(ctx, serviceID)
	if err != nil {
		return err
	}
	return h.Provision.CheckCapacity(ctx, serviceID, hostapi.Target{pkg.Resource: cur[pkg.Resource] + pkg.Amount})
}

func (m *Module) orderByKey(ctx context.Context, serviceID uint64, key string) (orderView, bool, error) {
	h, _ := m.deps()
	rows, err := h.Store.Query(ctx, "", orderByIdem, serviceID, key)
	if err != nil || rows.Len() == 0 {
		return orderView{}, false, err
	}
	var id uint64
	if err := rows.Scan(0, &id); err != nil {
		return orderView{}, false, hostapi.Errorf(hostapi.CodeInternal, "read order id: %w", err)
	}
	o, err := m.order(ctx, "", id)
	if err != nil {
		return orderView{}, false, err
	}
	return viewOrder(o), true, nil
}

func (m *Module) clientOrders(ctx context.Context, p hostapi.Principal) (int, any, error) {
	if p.Kind != hostapi.Client {
		return 0, nil, hostapi.Errorf(hostapi.CodePermission, "a client link is required")
	}
	os, err := m.orders(ctx, orderFilter{ServiceID: p.ServiceID, UserID: p.UserID, Limit: 50})
	if err != nil {
		return 0, nil, err
	}
	out := make([]orderView, len(os))
	for i, o := range os {
		out[i] = viewOrder(o)
		out[i].LimitsBefore, out[i].LimitsAfter = nil, nil
	}
	return http.StatusOK, map[string]any{"orders": out}, nil
}
