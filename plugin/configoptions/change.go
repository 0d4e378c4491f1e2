package configoptions

// Changing the options of a running service.
//
// A client with the service's link sends the options it wants changed; the
// module prices the difference on the service's cycle with the contract's
// proration engine, the one Micro-Upsell's add-ons use (proration.Change: the days left of the current cycle, exclusive tax
// on the recurring part, rounded once), and
//
//   - an upgrade (due today > 0) gets an invoice for the difference, with an
//     item the panel will not mistake for a renewal; the change is applied
//     when that invoice is paid in full;
//   - a downgrade or an even swap (due today <= 0) is applied at once, and
//     the unused part is credited to the client's panel account when the
//     panel credits downgrades (Paymenter's credits_on_downgrade).
//
// Applying is the Micro-Upsell pipeline: every step is a compare-and-set
// state transition recorded before the side effect it guards
// (awaiting_payment -> paid -> applying -> applied). The absolute target is
// computed from the server's current limits plus the difference the
// options make, stored, then applied through the adapter; only once the
// adapter has the target are the selections replaced, the recurring price
// moved, the panel's service properties rewritten and any credit given, in
// one transaction. A crash anywhere re-runs the remaining steps; re-applying
// a stored absolute target is a no-op.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
	"github.com/upsell-io/upsell/hostapi/proration"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// ChangeItemReference is the reference type of a change invoice's item.
// Paymenter acts on payment only for App\Models\Service (a renewal),
// ServiceUpgrade and Credit; it leaves this one to upsell.
const ChangeItemReference = `Upsell\OptionChange`

// Change states. Open states hold the service's one open change.
const (
	ChangeAwaitingPayment = "awaiting_payment"
	ChangePaid            = "paid"
	ChangeApplying        = "applying"
	ChangeApplied         = "applied"
	ChangeFailed          = "failed"
	ChangeFlagged         = "flagged"
	// ChangeCancelled: the client withdrew an unpaid upgrade. Its invoice,
	// if paid after all, flags the change for a refund.
	ChangeCancelled = "cancelled"
)

// maxChangeAttempts is how many failed applies park a change as failed
// (an admin can retry it). The host retries a paid-invoice job with
// backoff; a downgrade is retried by the periodic reconcile round.
const maxChangeAttempts = 8

// invoiceDueDays is how long the client has to pay a change invoice.
const invoiceDueDays = 7

// changeRequest is what a client sends: the options to change, by option.
// Options not named keep what the service holds. A price is never taken
// from the client.
type changeRequest struct {
	Choices []choiceInput `json:"choices"`
}

// heldChoice is one selection of a service as stored, and as kept in a
// change's before/after snapshots.
type heldChoice struct {
	OptionID     uint64          `json:"option_id"`
	ValueID      uint64          `json:"value_id,omitempty"`
	Quantity     int64           `json:"quantity,omitempty"`
	Text         string          `json:"text,omitempty"`
	LockedPrice  decimal.Decimal `json:"locked_price"`
	LockedHourly decimal.Decimal `json:"locked_hourly"`
}

func (h heldChoice) choice() catalog.Choice {
	return catalog.Choice{OptionID: h.OptionID, ValueID: h.ValueID, Quantity: h.Quantity, Text: h.Text}
}

// changeLine is one option of a change as the client sees it.
type changeLine struct {
	OptionID uint64 `json:"option_id"`
	Option   string `json:"option"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	// PriceBefore and PriceAfter are per cycle, excluding tax.
	PriceBefore string `json:"price_before"`
	PriceAfter  string `json:"price_after"`
}

// changeView is the priced change: what a quote answers and what a placed
// change answers (with its id, state and invoice).
type changeView struct {
	ChangeID      uint64       `json:"change_id,omitempty"`
	State         string       `json:"state,omitempty"`
	ServiceID     uint64       `json:"service_id"`
	Currency      string       `json:"currency"`
	Cycle         string       `json:"cycle"`
	Lines         []changeLine `json:"lines"`
	OptionsBefore string       `json:"options_before"`
	OptionsAfter  string       `json:"options_after"`
	// CycleDelta is the change per cycle excluding tax; RecurringDelta
	// what the recurring price moves by (with exclusive tax).
	CycleDelta     string `json:"cycle_delta"`
	RecurringDelta string `json:"recurring_delta"`
	RecurringAfter string `json:"recurring_price_after"`
	// DueToday is positive for an upgrade (invoiced), negative for a
	// downgrade (credited when the panel credits downgrades).
	DueToday       string            `json:"due_today"`
	Credit         string            `json:"credit,omitempty"`
	DaysLeft       int               `json:"days_left"`
	DaysInCycle    int               `json:"days_in_cycle"`
	Resources      map[string]string `json:"resources,omitempty"`
	InvoiceID      uint64            `json:"invoice_id,omitempty"`
	InvoiceNumber  string            `json:"invoice_number,omitempty"`
	PayURL         string            `json:"pay_url,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	CreditsGranted bool              `json:"-"`
}

// pricedChange is a change ready to be written.
type pricedChange struct {
	view      changeView
	svc       hostapi.Service
	before    []heldChoice
	after     []heldChoice
	resBefore catalog.Resources
	resAfter  catalog.Resources
	props     map[string]string
	byo       bool
	delta     decimal.Decimal
	recurring decimal.Decimal
	due       decimal.Decimal
	q         proration.Quote
}

const (
	selectHeld = `SELECT option_id, value_id, quantity, text, locked_price, locked_hourly, custom_build
FROM ext_configoptions_selections WHERE service_id = ? ORDER BY option_id`
	insertChange = `INSERT INTO ext_configoptions_changes
(service_id, user_id, idempotency_key, state, open_service, currency, cycle_delta, recurring_delta, due_today, days_left, days_in_cycle,
selections_before, selections_after, resources_before, resources_after, properties, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	setChangeInvoice = `UPDATE ext_configoptions_changes SET invoice_id = ?, invoice_number = ? WHERE id = ?`
	changeColumns    = `id, service_id, user_id, idempotency_key, state, currency, cycle_delta, recurring_delta, due_today, days_left, days_in_cycle,
invoice_id, invoice_number, selections_before, selections_after, resources_before, resources_after, properties, target, limits_before, limits_after,
price_before, price_after, credit, attempts, reason, created_at, updated_at, applied_at`
	selectChangeByID      = `SELECT ` + changeColumns + ` FROM ext_configoptions_changes WHERE id = ?`
	selectChangeByKey     = `SELECT ` + changeColumns + ` FROM ext_configoptions_changes WHERE service_id = ? AND idempotency_key = ?`
	selectChangeByInvoice = `SELECT ` + changeColumns + ` FROM ext_configoptions_changes WHERE invoice_id = ?`
	selectOpenChange      = `SELECT ` + changeColumns + ` FROM ext_configoptions_changes WHERE open_service = ?`
	selectPendingChanges  = `SELECT id FROM ext_configoptions_changes WHERE state IN ('paid', 'applying') ORDER BY id LIMIT 100`
	selectChangeService   = `SELECT service_id FROM ext_configoptions_changes WHERE id = ?`
	casChange             = `UPDATE ext_configoptions_changes SET state = ?, reason = ?, updated_at = ? WHERE id = ? AND state = ?`
	closeChange           = `UPDATE ext_configoptions_changes SET state = ?, open_service = NULL, reason = ?, updated_at = ? WHERE id = ? AND state = ?`
	setChangeApplying     = `UPDATE ext_configoptions_changes SET state = 'applying', target = ?, limits_before = ?, updated_at = ? WHERE id = ? AND state = 'paid'`
	setChangeAttempt      = `UPDATE ext_configoptions_changes SET attempts = attempts + 1, reason = ?, updated_at = ? WHERE id = ?`
	setChangeApplied      = `UPDATE ext_configoptions_changes SET state = 'applied', open_service = NULL, reason = NULL, limits_after = ?,
price_before = ?, price_after = ?, credit = ?, applied_at = ?, updated_at = ? WHERE id = ? AND state = 'applying'`
	deleteSelection = `DELETE FROM ext_configoptions_selections WHERE service_id = ? AND option_id = ?`
	upsertSelection = `INSERT INTO ext_configoptions_selections
(service_id, option_id, value_id, quantity, text, locked_price, locked_hourly, cycle_type, cycle_period, cycle_unit, custom_build, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE value_id = VALUES(value_id), quantity = VALUES(quantity), text = VALUES(text), locked_price = VALUES(locked_price),
locked_hourly = VALUES(locked_hourly), cycle_type = VALUES(cycle_type), cycle_period = VALUES(cycle_period), cycle_unit = VALUES(cycle_unit),
custom_build = VALUES(custom_build), updated_at = VALUES(updated_at)`
	resetChange = `UPDATE ext_configoptions_changes SET state = 'paid', open_service = service_id, attempts = 0, reason = ?, updated_at = ? WHERE id = ? AND state = 'failed'`
	listChanges = `SELECT ` + changeColumns + ` FROM ext_configoptions_changes WHERE (? = '' OR state = ?) AND (? = 0 OR service_id = ?) AND (? = 0 OR user_id = ?) ORDER BY id DESC LIMIT 200`
)

// serviceState is what a service holds (locked prices), the groups it
// may change and its open change: GET /service and the change page.
type serviceState struct {
	ServiceID uint64            `json:"service_id"`
	Mode      catalog.GroupMode `json:"mode"`
	Held      []heldView        `json:"held"`
	Groups    []groupDoc        `json:"groups"`
	Open      *changeView       `json:"open_change,omitempty"`
	// groups and held are the same, for the change page's form.
	groups []catalog.Group
	held   []heldChoice
}

type heldView struct {
	OptionID    uint64 `json:"option_id"`
	Option      string `json:"option"`
	Value       string `json:"value"`
	LockedPrice string `json:"locked_price"`
}

// serviceOptions is GET /service: what the linked service holds, the groups
// it may change, and its open change.
func (m *Module) serviceOptions(ctx context.Context, req hostapi.HTTPRequest, _ uint64) (int, any, error) {
	svc, err := linkedService(req)
	if err != nil {
		return 0, nil, err
	}
	out, err := m.serviceState(ctx, svc)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (m *Module) serviceState(ctx context.Context, svc hostapi.Service) (serviceState, error) {
	held, byo, err := m.held(ctx, "", svc.ID)
	if err != nil {
		return serviceState{}, err
	}
	all, err := m.loadCatalog(ctx)
	if err != nil {
		return serviceState{}, err
	}
	groups, err := serviceGroups(all, svc, held, byo)
	if err != nil {
		return serviceState{}, err
	}
	out := serviceState{ServiceID: svc.ID, Mode: catalog.Preset, Held: []heldView{}, Groups: []groupDoc{}, groups: groups, held: held}
	for _, g := range groups {
		out.Groups = append(out.Groups, groupView(groupRecord{Group: g}, selectionCounts{}))
	}
	if byo {
		out.Mode = catalog.BuildYourOwn
	}
	sel, err := catalog.Revalidate(groups, heldChoices(held))
	if err != nil {
		return serviceState{}, err
	}
	locked := lockedByOption(held)
	for _, s := range sel {
		out.Held = append(out.Held, heldView{OptionID: s.Option.ID, Option: s.Option.Name, Value: shownChoice(s), LockedPrice: money.Format(locked[s.Option.ID].LockedPrice)})
	}
	if c, ok, err := m.changeWhere(ctx, "", selectOpenChange, svc.ID); err != nil {
		return serviceState{}, err
	} else if ok {
		v := c.view()
		out.Open = &v
	}
	return out, nil
}

// linkedService is the service a client link is bound to, as the host read
// it while checking the link.
func linkedService(req hostapi.HTTPRequest) (hostapi.Service, error) {
	if req.Service == nil || req.Principal.ServiceID == 0 || req.Service.ID != req.Principal.ServiceID {
		return hostapi.Service{}, hostapi.Errorf(hostapi.CodePermission, "this route needs a service's link")
	}
	return *req.Service, nil
}

// held reads what a service holds, in option order, and whether it is a
// Build-Your-Own service.
func (m *Module) held(ctx context.Context, tx hostapi.TxID, serviceID uint64) ([]heldChoice, bool, error) {
	rows, err := m.hostAPI().Store.Query(ctx, tx, selectHeld, serviceID)
	if err != nil {
		return nil, false, err
	}
	out := make([]heldChoice, 0, rows.Len())
	byo := false
	for i := 0; i < rows.Len(); i++ {
		var (
			h        heldChoice
			valueID  *uint64
			quantity *int64
			text     *string
			custom   bool
		)
		if err := rows.Scan(i, &h.OptionID, &valueID, &quantity, &text, &h.LockedPrice, &h.LockedHourly, &custom); err != nil {
			return nil, false, hostapi.Errorf(hostapi.CodeInternal, "read selections of service %d: %w", serviceID, err)
		}
		if valueID != nil {
			h.ValueID = *valueID
		}
		if quantity != nil {
			h.Quantity = *quantity
		}
		if text != nil {
			h.Text = *text
		}
		byo = byo || custom
		out = append(out, h)
	}
	return out, byo, nil
}

func heldChoices(held []heldChoice) []catalog.Choice {
	out := make([]catalog.Choice, len(held))
	for i, h := range held {
		out[i] = h.choice()
	}
	return out
}

func lockedByOption(held []heldChoice) map[uint64]heldChoice {
	out := make(map[uint64]heldChoice, len(held))
	for _, h := range held {
		out[h.OptionID] = h
	}
	return out
}

// serviceGroups are the groups a service's options come from: for a
// Build-Your-Own service the configurator its selections belong to; for any
// other service the groups holding its selections and the active preset
// groups linked to its product (a service sold without options can add
// them).
func serviceGroups(all []catalog.Group, svc hostapi.Service, held []heldChoice, byo bool) ([]catalog.Group, error) {
	holds := func(g catalog.Group) bool {
		for _, o := range g.Options {
			for _, h := range held {
				if h.OptionID == o.ID {
					return true
				}
			}
		}
		return false
	}
	var out []catalog.Group
	for _, g := range all {
		switch {
		case byo:
			if g.Mode == catalog.BuildYourOwn && holds(g) {
				return []catalog.Group{g}, nil
			}
		case holds(g), g.Mode == catalog.Preset && g.Active && containsID(g.ProductIDs, svc.ProductID):
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return nil, hostapi.Errorf(hostapi.CodeNotFound, "service %d has no configurable options", svc.ID)
	}
	return out, nil
}

// shownChoice is how a selected option reads: a value's label, a quantity
// with its unit, a text, or "no" for an unticked checkbox.
func shownChoice(s catalog.Selected) string {
	switch {
	case s.Value != nil:
		return s.Value.Label
	case s.Option.Type == catalog.Checkbox:
		return "no"
	case s.Option.Type == catalog.Text:
		return s.Text
	case s.Option.Unit != "":
		return fmt.Sprintf("%d %s", s.Quantity, s.Option.Unit)
	}
	return strconv.FormatInt(s.Quantity, 10)
}

// changeQuote is POST /change/quote: the priced change, nothing written.
func (m *Module) changeQuote(ctx context.Context, req hostapi.HTTPRequest, _ uint64) (int, any, error) {
	svc, err := linkedService(req)
	if err != nil {
		return 0, nil, err
	}
	var in changeRequest
	if err := hostapi.DecodeJSON(req.Body, &in); err != nil {
		return 0, nil, err
	}
	v, err := m.quoteChange(ctx, svc, req.Settings, in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

// quoteChange prices a change of svc and writes nothing.
func (m *Module) quoteChange(ctx context.Context, svc hostapi.Service, settings *hostapi.PanelSettings, in changeRequest) (changeView, error) {
	inputs, err := m.changeInputs(ctx, svc, settings)
	if err != nil {
		return changeView{}, err
	}
	pc, err := m.priceChange(ctx, "", svc, inputs, in)
	if err != nil {
		return changeView{}, err
	}
	return pc.view, nil
}

// changeInputs is what pricing a change reads besides the service's own
// rows: the panel's settings, the client's tax rate and today's catalog.
// They are read before a transaction opens: each takes a connection of its
// own, which a request holding one may not wait for.
type changeInputs struct {
	settings hostapi.PanelSettings
	taxRate  decimal.Decimal
	catalog  []catalog.Group
}

func (m *Module) changeInputs(ctx context.Context, svc hostapi.Service, settings *hostapi.PanelSettings) (changeInputs, error) {
	h := m.hostAPI()
	var in changeInputs
	if settings != nil {
		in.settings = *settings
	} else {
		s, err := h.Panel.Settings(ctx)
		if err != nil {
			return changeInputs{}, err
		}
		in.settings = s
	}
	rate, err := h.Panel.ExclusiveTaxRate(ctx, svc.UserID)
	if err != nil {
		return changeInputs{}, err
	}
	in.taxRate = rate
	if in.catalog, err = m.loadCatalog(ctx); err != nil {
		return changeInputs{}, err
	}
	return in, nil
}

// priceChange validates a change against today's catalog and prices it on
// the service's cycle. Options the client does not name keep what the
// service holds, at the price they were sold at; a changed option is priced
// at today's catalog price. The service's rows are read in tx when one is
// given.
func (m *Module) priceChange(ctx context.Context, tx hostapi.TxID, svc hostapi.Service, inputs changeInputs, in changeRequest) (pricedChange, error) {
	if len(in.Choices) == 0 {
		return pricedChange{}, hostapi.Invalid("choices", "name at least one option to change")
	}
	if svc.Status != hostapi.ServiceActive {
		return pricedChange{}, hostapi.Errorf(hostapi.CodePrecondition, "service %d is %s: only an active service can change its options", svc.ID, svc.Status)
	}
	if err := proration.Eligible(svc.Cycle); err != nil {
		return pricedChange{}, err
	}
	term, err := catalog.TermFor(svc.Cycle)
	if err != nil {
		return pricedChange{}, err
	}
	settings := &inputs.settings
	held, byo, err := m.held(ctx, tx, svc.ID)
	if err != nil {
		return pricedChange{}, err
	}
	all := inputs.catalog
	groups, err := serviceGroups(all, svc, held, byo)
	if err != nil {
		return pricedChange{}, err
	}
	current := heldChoices(held)
	curSel, err := catalog.Revalidate(groups, current)
	if err != nil {
		return pricedChange{}, err
	}
	next := slices.Clone(current)
	named := map[uint64]bool{}
	for _, c := range in.Choices {
		if named[c.OptionID] {
			return pricedChange{}, hostapi.Invalid(fmt.Sprintf("options.%d", c.OptionID), "option %d is named twice", c.OptionID)
		}
		named[c.OptionID] = true
		choice := catalog.Choice{OptionID: c.OptionID, ValueID: c.ValueID, Quantity: c.Quantity, Text: c.Text}
		if i := slices.IndexFunc(next, func(x catalog.Choice) bool { return x.OptionID == c.OptionID }); i >= 0 {
			next[i] = choice
		} else {
			next = append(next, choice)
		}
	}
	newSel, err := catalog.ValidateChange(groups, current, next)
	if err != nil {
		return pricedChange{}, err
	}

	locked := lockedByOption(held)
	pc := pricedChange{svc: svc, before: held, byo: byo}
	pc.view = changeView{ServiceID: svc.ID, Currency: svc.Currency, Cycle: svc.Cycle.String(), Lines: []changeLine{}}
	before, after := decimal.Zero, decimal.Zero
	for _, h := range held {
		before = before.Add(h.LockedPrice)
	}
	curByOption := map[uint64]catalog.Selected{}
	for _, s := range curSel {
		curByOption[s.Option.ID] = s
	}
	changed := false
	for _, s := range newSel {
		c := selectedChoice(s)
		hc := heldChoice{OptionID: c.OptionID, ValueID: c.ValueID, Quantity: c.Quantity, Text: c.Text}
		old, wasHeld := locked[s.Option.ID]
		if wasHeld && old.choice() == c {
			hc.LockedPrice, hc.LockedHourly = old.LockedPrice, old.LockedHourly
		} else {
			changed = true
			if hc.LockedPrice, hc.LockedHourly, err = linePrice(s, term, byo); err != nil {
				return pricedChange{}, err
			}
			line := changeLine{OptionID: s.Option.ID, Option: s.Option.Name, To: shownChoice(s), PriceBefore: "0.00", PriceAfter: money.Format(hc.LockedPrice)}
			if wasHeld {
				line.From, line.PriceBefore = shownChoice(curByOption[s.Option.ID]), money.Format(old.LockedPrice)
			}
			pc.view.Lines = append(pc.view.Lines, line)
		}
		after = after.Add(hc.LockedPrice)
		pc.after = append(pc.after, hc)
	}
	for _, h := range held {
		if !slices.ContainsFunc(pc.after, func(a heldChoice) bool { return a.OptionID == h.OptionID }) {
			// Dropped: an emptied text, a dropdown without a default.
			changed = true
			pc.view.Lines = append(pc.view.Lines, changeLine{OptionID: h.OptionID, Option: curByOption[h.OptionID].Option.Name,
				From: shownChoice(curByOption[h.OptionID]), PriceBefore: money.Format(h.LockedPrice), PriceAfter: "0.00"})
		}
	}
	if !changed {
		return pricedChange{}, hostapi.Invalid("choices", "nothing changes: the service already holds these options")
	}
	if pc.resBefore, err = catalog.ResourcesFor(curSel); err != nil {
		return pricedChange{}, err
	}
	if pc.resAfter, err = catalog.ResourcesFor(newSel); err != nil {
		return pricedChange{}, err
	}
	if pc.props, err = catalog.PropertiesFor(newSel); err != nil {
		return pricedChange{}, err
	}
	rate := inputs.taxRate
	pc.delta = after.Sub(before)
	pc.q, err = proration.Change(pc.delta, proration.Input{
		Cycle: svc.Cycle, ExpiresAt: svc.ExpiresAt, Now: m.now(), Location: settings.Location(), TaxRate: rate, Method: proration.Calendar,
	})
	if err != nil {
		return pricedChange{}, err
	}
	pc.recurring, pc.due = pc.q.RecurringIncrease, pc.q.DueToday
	recurringAfter := svc.Price.Add(pc.recurring)
	if recurringAfter.IsNegative() {
		return pricedChange{}, hostapi.Errorf(hostapi.CodePrecondition, "the service's recurring price %s would fall below zero", money.Format(svc.Price))
	}
	v := &pc.view
	v.OptionsBefore, v.OptionsAfter = money.Format(before), money.Format(after)
	v.CycleDelta, v.RecurringDelta, v.RecurringAfter = money.Format(pc.delta), money.Format(pc.recurring), money.Format(recurringAfter)
	v.DueToday, v.DaysLeft, v.DaysInCycle = money.Format(pc.due), pc.q.DaysLeft, pc.q.DaysInCycle
	if pc.due.IsNegative() && settings.CreditsOnDowngrade {
		v.Credit = money.Format(pc.due.Neg())
	}
	v.Resources = map[string]string{}
	for r, n := range pc.resAfter {
		if pc.resBefore[r] != n {
			v.Resources[string(r)] = fmt.Sprintf("%s -> %d", resourceText(pc.resBefore, r), n)
		}
	}
	return pc, nil
}

func resourceText(res catalog.Resources, r hostapi.Resource) string {
	if n, ok := res[r]; ok {
		return strconv.FormatInt(n, 10)
	}
	return "unset"
}

// selectedChoice is a validated option as a client would send it.
func selectedChoice(s catalog.Selected) catalog.Choice {
	c := catalog.Choice{OptionID: s.Option.ID, Quantity: s.Quantity, Text: s.Text}
	if s.Value != nil {
		c.ValueID = s.Value.ID
	}
	return c
}

// linePrice is today's catalog price of one option on term (a BYO option's
// monthly price x the term's months) and its hourly price (0 when the
// option has none).
func linePrice(s catalog.Selected, term catalog.Term, byo bool) (decimal.Decimal, decimal.Decimal, error) {
	priceFor := catalog.Price
	if byo {
		priceFor = catalog.PriceBYO
	}
	q, err := priceFor(catalog.Selection{s}, term)
	if err != nil {
		return decimal.Zero, decimal.Zero, err
	}
	price := decimal.Zero
	for _, l := range q.Lines {
		price = price.Add(l.Price)
	}
	hourly := decimal.Zero
	if hq, err := priceFor(catalog.Selection{s}, catalog.Hourly); err == nil {
		hourly = hq.HourlyRate
	}
	return price, hourly, nil
}

// changeRecord is a stored change.
type changeRecord struct {
	ID, ServiceID, UserID           uint64
	Key, State, Currency            string
	CycleDelta, RecurringDelta, Due decimal.Decimal
	DaysLeft, DaysInCycle           int
	InvoiceID                       *uint64
	InvoiceNumber                   *string
	Before, After                   []heldChoice
	ResBefore, ResAfter             catalog.Resources
	Properties                      map[string]string
	Target                          hostapi.Target
	LimitsBefore, LimitsAfter       hostapi.Limits
	PriceBefore, PriceAfter, Credit *decimal.Decimal
	Attempts                        int
	Reason                          *string
	CreatedAt, UpdatedAt            time.Time
	AppliedAt                       *time.Time
}

// open reports whether the change still holds the service's open slot.
func (c changeRecord) open() bool {
	return c.State == ChangeAwaitingPayment || c.State == ChangePaid || c.State == ChangeApplying
}

func scanChange(rows *hostapi.Rows, i int) (changeRecord, error) {
	var (
		c                                         changeRecord
		before, after, resBefore, resAfter, props string
		target, limitsBefore, limitsAfter         *string
	)
	if err := rows.Scan(i, &c.ID, &c.ServiceID, &c.UserID, &c.Key, &c.State, &c.Currency, &c.CycleDelta, &c.RecurringDelta, &c.Due,
		&c.DaysLeft, &c.DaysInCycle, &c.InvoiceID, &c.InvoiceNumber, &before, &after, &resBefore, &resAfter, &props, &target, &limitsBefore,
		&limitsAfter, &c.PriceBefore, &c.PriceAfter, &c.Credit, &c.Attempts, &c.Reason, &c.CreatedAt, &c.UpdatedAt, &c.AppliedAt); err != nil {
		return c, hostapi.Errorf(hostapi.CodeInternal, "read change: %w", err)
	}
	for _, f := range []struct {
		s    *string
		into any
	}{{&before, &c.Before}, {&after, &c.After}, {&resBefore, &c.ResBefore}, {&resAfter, &c.ResAfter}, {&props, &c.Properties},
		{target, &c.Target}, {limitsBefore, &c.LimitsBefore}, {limitsAfter, &c.LimitsAfter}} {
		if f.s == nil || *f.s == "" {
			continue
		}
		if err := json.Unmarshal([]byte(*f.s), f.into); err != nil {
			return c, hostapi.Errorf(hostapi.CodeInternal, "decode change %d: %w", c.ID, err)
		}
	}
	return c, nil
}

// changeWhere reads the one change query selects (by id, key, invoice or
// open service).
func (m *Module) changeWhere(ctx context.Context, tx hostapi.TxID, query string, args ...any) (changeRecord, bool, error) {
	rows, err := m.hostAPI().Store.Query(ctx, tx, query, args...)
	if err != nil || rows.Len() == 0 {
		return changeRecord{}, false, err
	}
	c, err := scanChange(rows, 0)
	return c, err == nil, err
}

// view is the change as a client or admin sees it.
func (c changeRecord) view() changeView {
	v := changeView{
		ChangeID: c.ID, State: c.State, ServiceID: c.ServiceID, Currency: c.Currency, Lines: []changeLine{},
		CycleDelta: money.Format(c.CycleDelta), RecurringDelta: money.Format(c.RecurringDelta), DueToday: money.Format(c.Due),
		DaysLeft: c.DaysLeft, DaysInCycle: c.DaysInCycle,
	}
	if c.InvoiceID != nil {
		v.InvoiceID = *c.InvoiceID
	}
	if c.InvoiceNumber != nil {
		v.InvoiceNumber = *c.InvoiceNumber
	}
	if c.Credit != nil {
		v.Credit = money.Format(*c.Credit)
	}
	if c.PriceAfter != nil {
		v.RecurringAfter = money.Format(*c.PriceAfter)
	}
	if c.Reason != nil {
		v.Reason = *c.Reason
	}
	return v
}

// placeChange is POST /change: it prices the change and writes it, with
// its invoice for an upgrade, in one transaction; a downgrade or an even
// swap is then applied at once. One change per (service, Idempotency-Key):
// a replay answers the first; a service has one open change at a time.
func (m *Module) placeChange(ctx context.Context, req hostapi.HTTPRequest, _ uint64) (int, any, error) {
	svc, err := linkedService(req)
	if err != nil {
		return 0, nil, err
	}
	key, err := idempotencyKey(req)
	if err != nil {
		return 0, nil, err
	}
	status, v, err := m.changeOptions(ctx, svc, req.Settings, key, func() (changeRequest, error) {
		var in changeRequest
		return in, hostapi.DecodeJSON(req.Body, &in)
	})
	if err != nil {
		return 0, nil, err
	}
	return status, v, nil
}

// changeOptions is placing a change's one code path, for the JSON route
// and the change page: a replayed key answers the first change (200)
// before the request is read; otherwise read gives it, and it is priced
// and written (201).
func (m *Module) changeOptions(ctx context.Context, svc hostapi.Service, settings *hostapi.PanelSettings, key string, read func() (changeRequest, error)) (int, changeView, error) {
	if c, ok, err := m.changeWhere(ctx, "", selectChangeByKey, svc.ID, key); err != nil || ok {
		if err != nil {
			return 0, changeView{}, err
		}
		return http.StatusOK, c.view(), nil
	}
	in, err := read()
	if err != nil {
		return 0, changeView{}, err
	}
	h := m.hostAPI()
	inputs, err := m.changeInputs(ctx, svc, settings)
	if err != nil {
		return 0, changeView{}, err
	}
	tx, err := h.Store.Begin(ctx)
	if err != nil {
		return 0, changeView{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Read what the service holds inside the transaction: a change applied
	// a moment ago is priced from.
	pc, err := m.priceChange(ctx, tx.ID(), svc, inputs, in)
	if err != nil {
		return 0, changeView{}, err
	}
	state := ChangePaid // nothing to pay: applied at once
	if pc.due.IsPositive() {
		state = ChangeAwaitingPayment
	}
	now := m.now().UTC()
	enc := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	res, err := h.Store.Exec(ctx, tx.ID(), insertChange, svc.ID, svc.UserID, key, state, svc.ID, svc.Currency, pc.delta, pc.recurring, pc.due,
		pc.q.DaysLeft, pc.q.DaysInCycle, enc(pc.before), enc(pc.after), enc(pc.resBefore), enc(pc.resAfter), enc(pc.props), now, now)
	if errors.Is(err, hostapi.ErrConflict) {
		_ = tx.Rollback(ctx)
		if c, ok, err := m.changeWhere(ctx, "", selectChangeByKey, svc.ID, key); err != nil || ok {
			if err != nil {
				return 0, changeView{}, err
			}
			return http.StatusOK, c.view(), nil
		}
		msg := fmt.Sprintf("service %d already has a change in progress", svc.ID)
		if c, ok, _ := m.changeWhere(ctx, "", selectOpenChange, svc.ID); ok && c.InvoiceNumber != nil {
			msg += fmt.Sprintf(": pay invoice %s, or cancel that change, first", *c.InvoiceNumber)
		}
		return 0, changeView{}, hostapi.Errorf(hostapi.CodeConflict, "%s", msg)
	}
	if err != nil {
		return 0, changeView{}, err
	}
	id := uint64(res.LastInsertID)
	pc.view.ChangeID, pc.view.State = id, state
	if state == ChangeAwaitingPayment {
		label := svc.ProductName
		if svc.Label != "" {
			label = svc.Label
		}
		inv, err := h.Panel.CreateInvoice(ctx, tx.ID(), hostapi.NewInvoice{
			UserID: svc.UserID, Currency: svc.Currency, DueAt: now.AddDate(0, 0, invoiceDueDays),
			Items: []hostapi.InvoiceItem{{
				Description: truncate(fmt.Sprintf("Options changed on %s #%d (%d of %d days)", label, svc.ID, pc.q.DaysLeft, pc.q.DaysInCycle), 250),
				Price:       pc.due, Quantity: 1, ReferenceType: ChangeItemReference, ReferenceID: id,
			}},
		})
		if err != nil {
			return 0, changeView{}, err
		}
		if _, err := h.Store.Exec(ctx, tx.ID(), setChangeInvoice, inv.ID, inv.Number, id); err != nil {
			return 0, changeView{}, err
		}
		pc.view.InvoiceID, pc.view.InvoiceNumber, pc.view.PayURL = inv.ID, inv.Number, inv.PayURL
	}
	data, _ := json.Marshal(pc.view)
	if _, err := h.Audit.Write(ctx, tx.ID(), hostapi.AuditEntry{
		Action: "configoptions.change", ServiceID: svc.ID, UserID: svc.UserID, Subject: fmt.Sprintf("change:%d", id),
		Message: fmt.Sprintf("options change priced: %s %s per cycle, recurring %s, %s due today", pc.view.CycleDelta, svc.Currency, pc.view.RecurringDelta, pc.view.DueToday),
		Data:    data,
	}); err != nil {
		return 0, changeView{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, changeView{}, err
	}
	if state == ChangePaid {
		// Applied now; should the adapter be down, the change stays paid
		// and the reconcile round finishes it.
		if st, err := m.applyChange(ctx, id); err == nil {
			pc.view.State = st
		} else {
			// The cause (an adapter's answer) is in the change's record
			// for the admin; the client gets no internals.
			pc.view.Reason = "the server could not be changed yet: it will be retried"
		}
	}
	return http.StatusCreated, pc.view, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// changePaid handles a paid invoice of a change: it checks the payment and
// claims the change, then applies it.
func (m *Module) changePaid(ctx context.Context, c changeRecord) (hostapi.EventResult, error) {
	if c.State == ChangeCancelled {
		inv, err := m.hostAPI().Panel.Invoice(ctx, *c.InvoiceID)
		if err != nil {
			return hostapi.EventResult{}, err
		}
		if inv.Status != hostapi.InvoicePaid {
			return hostapi.EventResult{Handled: true, Message: fmt.Sprintf("change %d was cancelled", c.ID)}, nil
		}
		reason := fmt.Sprintf("invoice %s was paid after the change was cancelled: refund %s %s", inv.Number, money.Format(inv.Paid), inv.Currency)
		if moved, err := m.closeChange(ctx, c, ChangeCancelled, ChangeFlagged, reason); err != nil {
			return hostapi.EventResult{}, err
		} else if moved {
			m.auditChange(ctx, "", c, "configoptions.change_flagged", reason, nil)
		}
		return hostapi.EventResult{Handled: true, Message: "flagged: " + reason}, nil
	}
	if c.State == ChangeAwaitingPayment {
		flagged, err := m.verifyChangePayment(ctx, c)
		if err != nil {
			return hostapi.EventResult{}, err
		}
		if flagged != "" {
			return hostapi.EventResult{Handled: true, Message: "flagged: " + flagged}, nil
		}
	}
	state, err := m.applyChange(ctx, c.ID)
	if err != nil {
		return hostapi.EventResult{}, err
	}
	return hostapi.EventResult{Handled: true, Message: fmt.Sprintf("change %d %s", c.ID, state)}, nil
}

// verifyChangePayment runs Micro-Upsell's checks, in its order: paid in
// full, the service's owner's invoice, its total still the locked amount,
// the service still able to receive resources. It claims the change, or
// flags it and returns why.
func (m *Module) verifyChangePayment(ctx context.Context, c changeRecord) (string, error) {
	h := m.hostAPI()
	inv, err := h.Panel.Invoice(ctx, *c.InvoiceID)
	if err != nil {
		return "", err
	}
	if inv.Status != hostapi.InvoicePaid || inv.Paid.LessThan(inv.Total) {
		return "", hostapi.Errorf(hostapi.CodeUnavailable, "invoice %s is %s with %s of %s paid", inv.Number, inv.Status, money.Format(inv.Paid), money.Format(inv.Total))
	}
	svc, err := h.Panel.Service(ctx, c.ServiceID)
	if err != nil {
		return "", err
	}
	var reason string
	switch {
	case inv.UserID != c.UserID || svc.UserID != c.UserID:
		reason = fmt.Sprintf("invoice %s or service %d no longer belongs to user %d", inv.Number, c.ServiceID, c.UserID)
	case !inv.Total.Equal(c.Due) || inv.Currency != c.Currency:
		reason = fmt.Sprintf("invoice %s was edited: total %s %s, change locked %s %s", inv.Number, money.Format(inv.Total), inv.Currency, money.Format(c.Due), c.Currency)
	case svc.Status != hostapi.ServiceActive && svc.Status != hostapi.ServiceSuspended:
		reason = fmt.Sprintf("service %d is %s: refund %s %s", c.ServiceID, svc.Status, money.Format(inv.Paid), inv.Currency)
	}
	if reason != "" {
		moved, err := m.closeChange(ctx, c, ChangeAwaitingPayment, ChangeFlagged, reason)
		if err != nil {
			return "", err
		}
		if moved {
			m.auditChange(ctx, "", c, "configoptions.change_flagged", reason, nil)
		}
		return reason, nil
	}
	_, err = h.Store.Exec(ctx, "", casChange, ChangePaid, "invoice "+inv.Number+" paid in full", m.now().UTC(), c.ID, ChangeAwaitingPayment)
	return "", err
}

// closeChange ends an open change in a final state other than applied.
func (m *Module) closeChange(ctx context.Context, c changeRecord, from, to, reason string) (bool, error) {
	res, err := m.hostAPI().Store.Exec(ctx, "", closeChange, to, reason, m.now().UTC(), c.ID, from)
	if err != nil {
		return false, err
	}
	return res.RowsAffected == 1, nil
}

func (m *Module) auditChange(ctx context.Context, tx hostapi.TxID, c changeRecord, action, msg string, data []byte) {
	_, _ = m.hostAPI().Audit.Write(ctx, tx, hostapi.AuditEntry{
		Action: action, ServiceID: c.ServiceID, UserID: c.UserID, Subject: fmt.Sprintf("change:%d", c.ID), Message: msg, Data: data,
	})
}

// applyChange runs a claimed change's remaining steps under its service's
// lock (replicas and repeated deliveries wait, then find it done) and
// returns its state.
func (m *Module) applyChange(ctx context.Context, id uint64) (string, error) {
	h := m.hostAPI()
	rows, err := h.Store.Query(ctx, "", selectChangeService, id)
	if err != nil {
		return "", err
	}
	var serviceID uint64
	if rows.Len() == 0 {
		return "", hostapi.Errorf(hostapi.CodeNotFound, "no change %d", id)
	}
	if err := rows.Scan(0, &serviceID); err != nil {
		return "", hostapi.Errorf(hostapi.CodeInternal, "read change %d: %w", id, err)
	}
	// The host's one lock per service (shared with Micro-Upsell and every
	// replica), held without a database connection: the steps below run
	// their own short transactions under it.
	lock, err := h.Provision.LockService(ctx, serviceID)
	if err != nil {
		return "", err
	}
	defer func() { _ = h.Provision.UnlockService(context.WithoutCancel(ctx), lock) }()
	c, ok, err := m.changeWhere(ctx, "", selectChangeByID, id)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", hostapi.Errorf(hostapi.CodeNotFound, "no change %d", id)
	}
	if c.State == ChangePaid {
		cur, err := h.Provision.Read(ctx, c.ServiceID)
		if err != nil {
			return m.failedAttempt(ctx, c, err)
		}
		target, err := changeTarget(cur, c.ResBefore, c.ResAfter)
		if err != nil {
			return m.failedAttempt(ctx, c, err)
		}
		tj, _ := json.Marshal(target)
		bj, _ := json.Marshal(cur)
		if _, err := h.Store.Exec(ctx, "", setChangeApplying, string(tj), string(bj), m.now().UTC(), c.ID); err != nil {
			return "", err
		}
		if c, _, err = m.changeWhere(ctx, "", selectChangeByID, id); err != nil {
			return "", err
		}
	}
	if c.State != ChangeApplying {
		return c.State, nil
	}
	applied := hostapi.Applied{After: c.LimitsBefore}
	if len(c.Target) > 0 {
		// The stored target is absolute: applying it again after a crash
		// is a no-op, never a second step up.
		if applied, err = h.Provision.Apply(ctx, c.ServiceID, c.Target); err != nil {
			return m.failedAttempt(ctx, c, err)
		}
	}
	if err := m.finishChange(ctx, c, applied); errors.Is(err, errHeldChanged) {
		return m.failedAttempt(ctx, c, err)
	} else if err != nil {
		return "", err
	}
	return ChangeApplied, nil
}

// errHeldChanged: the service's selections are no longer what a change was
// priced from. Not reachable through the module (one open change per
// service); an admin edited the selections by hand, and a human decides.
var errHeldChanged = hostapi.Errorf(hostapi.CodePrecondition, "the service's selections changed since the change was priced")

// failedAttempt records a failed attempt: the change is failed once parked,
// otherwise the error is returned for the caller to retry.
func (m *Module) failedAttempt(ctx context.Context, c changeRecord, cause error) (string, error) {
	if err := m.changeAttemptFailed(ctx, c, cause); err != nil {
		return "", err
	}
	return ChangeFailed, nil
}

// changeTarget is the absolute target of a change: each resource the
// options set before and after moves by the difference, on top of the
// server's current value (so add-ons bought since keep their share); a
// resource the options set only now is set to its value. A resource the
// options no longer set is left as it is.
func changeTarget(cur hostapi.Limits, before, after catalog.Resources) (hostapi.Target, error) {
	target := hostapi.Target{}
	for r, n := range after {
		old, had := before[r]
		switch {
		case !had:
			target[r] = n
		case old == n:
		default:
			have, ok := cur[r]
			if !ok {
				return nil, hostapi.Errorf(hostapi.CodeInvalid, "the server's adapter does not report %s", r)
			}
			if have == hostapi.Unlimited {
				continue // unlimited stays unlimited
			}
			v := have + n - old
			if v < 0 {
				return nil, hostapi.Errorf(hostapi.CodePrecondition, "%s would fall to %d (the server has %d, the options take %d off)", r, v, have, old-n)
			}
			target[r] = v
		}
	}
	return target, nil
}

// changeAttemptFailed records a failed attempt and, after the limit, parks
// the change as failed: its price never moves for resources not applied.
func (m *Module) changeAttemptFailed(ctx context.Context, c changeRecord, cause error) error {
	h := m.hostAPI()
	reason := truncate(cause.Error(), 1000)
	now := m.now().UTC()
	if _, err := h.Store.Exec(ctx, "", setChangeAttempt, reason, now, c.ID); err != nil {
		return err
	}
	if c.Attempts+1 >= maxChangeAttempts || hostapi.CodeOf(cause) == hostapi.CodePrecondition {
		if moved, err := m.closeChange(ctx, c, c.State, ChangeFailed, reason); err != nil {
			return err
		} else if moved {
			m.auditChange(ctx, "", c, "configoptions.change_failed", fmt.Sprintf("change %d failed after %d attempts: %s", c.ID, c.Attempts+1, reason), nil)
		}
		return nil
	}
	return fmt.Errorf("apply change %d: %w", c.ID, cause)
}

// finishChange records an applied change in one transaction: the
// selections replaced with their locked prices, the recurring price moved
// (compare-and-set on the price read now), the panel's service properties
// rewritten, the downgrade's credit given, the log written.
func (m *Module) finishChange(ctx context.Context, c changeRecord, applied hostapi.Applied) error {
	h := m.hostAPI()
	svc, err := h.Panel.Service(ctx, c.ServiceID)
	if err != nil {
		return err
	}
	settings, err := h.Panel.Settings(ctx)
	if err != nil {
		return err
	}
	tx, err := h.Store.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	held, byo, err := m.held(ctx, tx.ID(), c.ServiceID)
	if err != nil {
		return err
	}
	if !sameHeld(held, c.Before) {
		return errHeldChanged
	}
	now := m.now().UTC()
	keep := map[uint64]bool{}
	for _, a := range c.After {
		keep[a.OptionID] = true
		var valueID, quantity, text any
		if a.ValueID != 0 {
			valueID = a.ValueID
		}
		if a.Quantity != 0 {
			quantity = a.Quantity
		}
		if a.Text != "" {
			text = a.Text
		}
		if _, err := h.Store.Exec(ctx, tx.ID(), upsertSelection, c.ServiceID, a.OptionID, valueID, quantity, text, a.LockedPrice, a.LockedHourly,
			string(svc.Cycle.Type), svc.Cycle.Period, string(svc.Cycle.Unit), byo, now, now); err != nil {
			return err
		}
	}
	for _, b := range c.Before {
		if !keep[b.OptionID] {
			if _, err := h.Store.Exec(ctx, tx.ID(), deleteSelection, c.ServiceID, b.OptionID); err != nil {
				return err
			}
		}
	}
	priceAfter := svc.Price.Add(c.RecurringDelta)
	if !c.RecurringDelta.IsZero() {
		if _, err := h.Panel.UpdateRecurringPrice(ctx, tx.ID(), hostapi.PriceChange{ServiceID: c.ServiceID, From: svc.Price, To: priceAfter,
			Reason: fmt.Sprintf("configoptions change %d", c.ID)}); err != nil {
			return err
		}
	}
	if len(c.Properties) > 0 {
		keys := make([]string, 0, len(c.Properties))
		for k := range c.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		props := make([]hostapi.ServiceProperty, 0, len(keys))
		for _, k := range keys {
			props = append(props, hostapi.ServiceProperty{Key: k, Name: k, Value: c.Properties[k]})
		}
		if err := h.Panel.SetServiceProperties(ctx, tx.ID(), c.ServiceID, props); err != nil {
			return err
		}
	}
	var credit any
	if c.Due.IsNegative() && settings.CreditsOnDowngrade {
		if _, err := h.Panel.AddCredit(ctx, tx.ID(), hostapi.CreditGrant{UserID: c.UserID, Currency: c.Currency, Amount: c.Due.Neg(),
			Reason: fmt.Sprintf("configoptions change %d: unused days", c.ID)}); err != nil {
			return err
		}
		credit = c.Due.Neg()
	}
	aj, _ := json.Marshal(applied.After)
	res, err := h.Store.Exec(ctx, tx.ID(), setChangeApplied, string(aj), svc.Price, priceAfter, credit, now, now, c.ID)
	if err != nil {
		return err
	}
	if res.RowsAffected != 1 {
		return hostapi.Errorf(hostapi.CodeConflict, "change %d is no longer applying", c.ID)
	}
	data, _ := json.Marshal(map[string]any{
		"target": c.Target, "limits_before": applied.Before, "limits_after": applied.After,
		"price_before": money.Format(svc.Price), "price_after": money.Format(priceAfter), "credit": credit, "due_today": money.Format(c.Due),
	})
	msg := fmt.Sprintf("options changed: recurring %s -> %s %s", money.Format(svc.Price), money.Format(priceAfter), c.Currency)
	if credit != nil {
		msg += fmt.Sprintf(", %s %s credited", money.Format(c.Due.Neg()), c.Currency)
	}
	if _, err := h.Audit.Write(ctx, tx.ID(), hostapi.AuditEntry{Action: "configoptions.change_applied", ServiceID: c.ServiceID, UserID: c.UserID,
		Subject: fmt.Sprintf("change:%d", c.ID), Message: msg, Data: data}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// sameHeld reports whether a service still holds exactly what a change was
// priced from.
func sameHeld(a, b []heldChoice) bool {
	if len(a) != len(b) {
		return false
	}
	byOption := lockedByOption(b)
	for _, x := range a {
		y, ok := byOption[x.OptionID]
		if !ok || x.choice() != y.choice() || !x.LockedPrice.Equal(y.LockedPrice) {
			return false
		}
	}
	return true
}

// cancelChange is POST /change/cancel: the client withdraws the service's
// unpaid upgrade, which frees the service for another change. Paying its
// invoice afterwards flags the change for a refund; it is never applied.
func (m *Module) cancelChange(ctx context.Context, req hostapi.HTTPRequest, _ uint64) (int, any, error) {
	svc, err := linkedService(req)
	if err != nil {
		return 0, nil, err
	}
	v, err := m.cancelOpenChange(ctx, svc)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

// cancelOpenChange withdraws svc's unpaid change.
func (m *Module) cancelOpenChange(ctx context.Context, svc hostapi.Service) (changeView, error) {
	c, ok, err := m.changeWhere(ctx, "", selectOpenChange, svc.ID)
	if err != nil {
		return changeView{}, err
	}
	if !ok {
		return changeView{}, hostapi.Errorf(hostapi.CodeNotFound, "service %d has no change in progress", svc.ID)
	}
	return m.withdrawChange(ctx, c, "the client")
}

// withdrawChange cancels change c, by "the client" or "an admin": only
// while it awaits payment and its invoice is not paid (the one rule for
// both). The invoice is left unpaid, as Paymenter leaves an abandoned one.
func (m *Module) withdrawChange(ctx context.Context, c changeRecord, by string) (changeView, error) {
	if c.State != ChangeAwaitingPayment {
		return changeView{}, hostapi.Errorf(hostapi.CodePrecondition, "change %d is %s: only an unpaid change can be cancelled", c.ID, c.State)
	}
	if inv, err := m.hostAPI().Panel.Invoice(ctx, *c.InvoiceID); err != nil {
		return changeView{}, err
	} else if inv.Status == hostapi.InvoicePaid {
		return changeView{}, hostapi.Errorf(hostapi.CodePrecondition, "invoice %s is paid already: the change is being applied", inv.Number)
	}
	moved, err := m.closeChange(ctx, c, ChangeAwaitingPayment, ChangeCancelled, "cancelled by "+by)
	if err != nil {
		return changeView{}, err
	}
	if !moved {
		return changeView{}, hostapi.Errorf(hostapi.CodeConflict, "change %d moved on meanwhile; look again", c.ID)
	}
	m.auditChange(ctx, "", c, "configoptions.change_cancelled", fmt.Sprintf("change %d cancelled by %s; invoice %d is left unpaid", c.ID, by, *c.InvoiceID), nil)
	c.State = ChangeCancelled
	return c.view(), nil
}

// adminChange is a change as the admin API shows it.
type adminChange struct {
	changeView
	UserID       uint64            `json:"user_id"`
	Attempts     int               `json:"attempts"`
	Before       []heldChoiceView  `json:"selections_before"`
	After        []heldChoiceView  `json:"selections_after"`
	Target       hostapi.Target    `json:"target,omitempty"`
	LimitsBefore hostapi.Limits    `json:"limits_before,omitempty"`
	LimitsAfter  hostapi.Limits    `json:"limits_after,omitempty"`
	Properties   map[string]string `json:"properties"`
	PriceBefore  string            `json:"price_before,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	AppliedAt    *time.Time        `json:"applied_at,omitempty"`
}

// heldChoiceView is a heldChoice on the wire: the locked price with
// exactly 2 decimals, the locked hourly price with 4 ("8.00", "0.0120").
type heldChoiceView struct {
	OptionID     uint64 `json:"option_id"`
	ValueID      uint64 `json:"value_id,omitempty"`
	Quantity     int64  `json:"quantity,omitempty"`
	Text         string `json:"text,omitempty"`
	LockedPrice  string `json:"locked_price"`
	LockedHourly string `json:"locked_hourly"`
}

func heldChoiceViews(held []heldChoice) []heldChoiceView {
	out := make([]heldChoiceView, len(held))
	for i, h := range held {
		out[i] = heldChoiceView{OptionID: h.OptionID, ValueID: h.ValueID, Quantity: h.Quantity, Text: h.Text,
			LockedPrice: money.Format(h.LockedPrice), LockedHourly: hourlyText(h.LockedHourly)}
	}
	return out
}

func adminChangeView(c changeRecord) adminChange {
	a := adminChange{changeView: c.view(), UserID: c.UserID, Attempts: c.Attempts, Before: heldChoiceViews(c.Before), After: heldChoiceViews(c.After), Target: c.Target,
		LimitsBefore: c.LimitsBefore, LimitsAfter: c.LimitsAfter, Properties: c.Properties, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, AppliedAt: c.AppliedAt}
	if c.PriceBefore != nil {
		a.PriceBefore = money.Format(*c.PriceBefore)
	}
	return a
}

// adminListChanges is GET /admin/changes[?state=&service_id=]: the latest
// 200 changes, newest first.
func (m *Module) adminListChanges(ctx context.Context, req hostapi.HTTPRequest, _ uint64) (int, any, error) {
	state := first(req.Query, "state")
	switch state {
	case "", ChangeAwaitingPayment, ChangePaid, ChangeApplying, ChangeApplied, ChangeFailed, ChangeFlagged, ChangeCancelled:
	default:
		return 0, nil, hostapi.Invalid("state", "unknown change state %q", state)
	}
	var serviceID uint64
	if s := first(req.Query, "service_id"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			return 0, nil, hostapi.Invalid("service_id", "%q is not a service id", s)
		}
		serviceID = n
	}
	list, err := m.listChanges(ctx, changeFilter{State: state, ServiceID: serviceID})
	if err != nil {
		return 0, nil, err
	}
	out := make([]adminChange, 0, len(list))
	for _, c := range list {
		out = append(out, adminChangeView(c))
	}
	return http.StatusOK, map[string]any{"changes": out}, nil
}

// changeFilter selects changes for an admin's list; zero fields select
// everything.
type changeFilter struct {
	State             string
	ServiceID, UserID uint64
}

// listChanges is the latest 200 changes f selects, newest first.
func (m *Module) listChanges(ctx context.Context, f changeFilter) ([]changeRecord, error) {
	rows, err := m.hostAPI().Store.Query(ctx, "", listChanges, f.State, f.State, f.ServiceID, f.ServiceID, f.UserID, f.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]changeRecord, 0, rows.Len())
	for i := 0; i < rows.Len(); i++ {
		c, err := scanChange(rows, i)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// adminRetryChange is POST /admin/changes/retry/{id}: a failed change is
// claimed again and applied now (it keeps its locked prices). Only a
// failed change can be retried; a flagged one needs a refund, not a retry.
func (m *Module) adminRetryChange(ctx context.Context, _ hostapi.HTTPRequest, id uint64) (int, any, error) {
	c, ok, err := m.changeWhere(ctx, "", selectChangeByID, id)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, hostapi.Errorf(hostapi.CodeNotFound, "no change %d", id)
	}
	if c.State != ChangeFailed {
		return 0, nil, hostapi.Errorf(hostapi.CodePrecondition, "change %d is %s: only a failed change can be retried", id, c.State)
	}
	res, err := m.hostAPI().Store.Exec(ctx, "", resetChange, "retried by an admin", m.now().UTC(), id)
	if errors.Is(err, hostapi.ErrConflict) {
		return 0, nil, hostapi.Errorf(hostapi.CodeConflict, "service %d has another change in progress", c.ServiceID)
	}
	if err != nil {
		return 0, nil, err
	}
	if res.RowsAffected == 1 {
		m.auditChange(ctx, "", c, "configoptions.change_retried", fmt.Sprintf("change %d retried by an admin", id), nil)
	}
	if _, err := m.applyChange(ctx, id); err != nil {
		// Still failing: the change stays paid and the reconcile round
		// keeps trying.
		c.Reason = new(string)
		*c.Reason = err.Error()
	}
	c, _, err = m.changeWhere(ctx, "", selectChangeByID, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, adminChangeView(c), nil
}

// finishPendingChanges is the reconcile round's part: it applies changes
// left paid or applying (a downgrade whose adapter was down, a crash
// between steps). It returns how many it finished.
func (m *Module) finishPendingChanges(ctx context.Context) (int, error) {
	rows, err := m.hostAPI().Store.Query(ctx, "", selectPendingChanges)
	if err != nil {
		return 0, err
	}
	done := 0
	var errs []error
	for i := 0; i < rows.Len(); i++ {
		var id uint64
		if err := rows.Scan(i, &id); err != nil {
			return done, hostapi.Errorf(hostapi.CodeInternal, "read change id: %w", err)
		}
		state, err := m.applyChange(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if state == ChangeApplied {
			done++
		}
	}
	return done, errors.Join(errs...)
}
