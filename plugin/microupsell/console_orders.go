package microupsell

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/web"
)

// The console's add-on orders and drift pages. They read through the
// admin API's code (orders, history, adminRetry, adminReconcile) and
// only put its answers in words; a retry or a fix is the API's own path,
// with its audit entries.

// orderStates are the states an order can be in, with their words.
var orderStates = []struct{ State, Label, Class string }{
	{StateAwaitingPayment, "Awaiting payment", "wait"},
	{StatePaid, "Paid", "wait"},
	{StateApplying, "Applying", "wait"},
	{StateApplied, "Applied", "ok"},
	{StateFailed, "Failed", "bad"},
	{StateFlagged, "Flagged", "bad"},
	{StateCancelled, "Cancelled", "muted"},
}

func stateWords(state string) (string, string) {
	for _, s := range orderStates {
		if s.State == state {
			return s.Label, s.Class
		}
	}
	return state, "wait"
}

// consoleOrderRow is one order in the console's list.
type consoleOrderRow struct {
	ID                                     uint64
	Created, Package, Adds, Due, Recurring string
	ServiceID, UserID                      uint64
	State, StateClass, Invoice             string
}

type orderOption struct {
	Value, Label string
	Selected     bool
}

// orderList is the data of the orders page.
type orderList struct {
	page
	Service, User, From, To string
	States                  []orderOption
	Rows                    []consoleOrderRow
	Errors                  formErrors
	Limit                   int
}

const consoleOrderLimit = 200

// consoleOrders is GET /console/orders: orders newest first, searched by
// service, user, state and the day they were placed (the panel's days).
func (m *Module) consoleOrders(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	v := orderList{page: newPage(r, 0), Service: strings.TrimSpace(q.Get("service_id")), User: strings.TrimSpace(q.Get("user_id")),
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")), Limit: consoleOrderLimit}
	f := orderFilter{Limit: consoleOrderLimit}
	for _, id := range []struct {
		field, label, value string
		dst                 *uint64
	}{{"service_id", "Service id", v.Service, &f.ServiceID}, {"user_id", "User id", v.User, &f.UserID}} {
		if id.value == "" {
			continue
		}
		n, err := strconv.ParseUint(id.value, 10, 64)
		if err != nil || n == 0 {
			v.Errors.add(id.field, id.label, "must be an id (a whole number)")
		}
		*id.dst = n
	}
	state := q.Get("state")
	v.States = append(v.States, orderOption{Value: "", Label: "Any state", Selected: state == ""})
	known := state == ""
	for _, s := range orderStates {
		v.States = append(v.States, orderOption{Value: s.State, Label: s.Label, Selected: s.State == state})
		known = known || s.State == state
	}
	if !known {
		v.Errors.add("state", "State", "is not a state an order can be in")
	}
	f.State = state
	settings, err := m.panelSettings(ctx)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	loc := settings.Location()
	for _, d := range []struct {
		field, label, value string
		dst                 *time.Time
		next                bool
	}{{"from", "From", v.From, &f.From, false}, {"to", "To", v.To, &f.To, true}} {
		if d.value == "" {
			continue
		}
		day, err := time.ParseInLocation("2006-01-02", d.value, loc)
		if err != nil {
			v.Errors.add(d.field, d.label, "must be a date such as 2026-01-31")
			continue
		}
		if d.next {
			day = day.AddDate(0, 0, 1) // the whole last day
		}
		*d.dst = day
	}
	status := http.StatusOK
	if len(v.Errors.List) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		os, err := m.orders(ctx, f)
		if err != nil {
			hostapi.Fail(w, err)
			return
		}
		for _, o := range os {
			label, class := stateWords(o.State)
			v.Rows = append(v.Rows, consoleOrderRow{ID: o.ID, Created: o.CreatedAt.In(loc).Format("2 Jan 2006 15:04"), Package: o.PackageName,
				Adds: amountWords(o.Resource, o.Amount), Due: web.Money(o.DueToday, o.Currency), Recurring: "+" + web.Money(o.RecurringIncrease, o.Currency),
				ServiceID: o.ServiceID, UserID: o.UserID, State: label, StateClass: class, Invoice: o.InvoiceNumber})
		}
	}
	web.Render(w, r, status, shopTemplates, "console_orders.html", "Add-on orders", v)
}

// orderDetail is the data of one order's page.
type orderDetail struct {
	page
	ID                               uint64
	Package, Adds, State, StateClass string
	Reason                           string
	ServiceID, UserID                uint64
	Created, Due, Recurring, Monthly string
	PriceBefore, PriceAfter          string
	Invoice                          *invoiceFacts
	InvoiceError                     string
	Limits                           []limitChange
	History                          []historyRow
	Attempts                         int
	CanRetry, CanCancel              bool
	Notice, NoticeClass              string
}

type invoiceFacts struct {
	Number, Status, Total, Paid, PayURL string
}

type limitChange struct {
	Label, Before, Target, After string
}

type historyRow struct {
	At, State, StateClass, Message string
}

// consoleOrder is GET /console/orders/{id}.
func (m *Module) consoleOrder(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	notice, class := "", ""
	switch {
	case r.URL.Query().Get("retried") != "":
		notice, class = "Retried: the order's state below is the outcome.", "info"
	case r.URL.Query().Get("cancelled") != "":
		notice, class = "Cancelled, with its invoice: the client can no longer pay it.", "info"
	}
	m.renderOrder(w, r, id, http.StatusOK, notice, class)
}

func (m *Module) renderOrder(w http.ResponseWriter, r *http.Request, id uint64, status int, notice, noticeClass string) {
	ctx := r.Context()
	o, err := m.order(ctx, "", id)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	if o.History, err = m.history(ctx, id); err != nil {
		hostapi.Fail(w, err)
		return
	}
	settings, err := m.panelSettings(ctx)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	loc := settings.Location()
	label, class := stateWords(o.State)
	v := orderDetail{page: newPage(r, 0), ID: o.ID, Package: o.PackageName, Adds: amountWords(o.Resource, o.Amount), State: label, StateClass: class,
		Reason: o.Reason, ServiceID: o.ServiceID, UserID: o.UserID, Created: o.CreatedAt.In(loc).Format("2 Jan 2006 15:04"),
		Due: web.Money(o.DueToday, o.Currency), Recurring: "+" + web.Money(o.RecurringIncrease, o.Currency),
		Monthly: web.Money(o.MonthlyPrice, o.Currency) + " / month", Attempts: o.Attempts, CanRetry: o.State == StateFailed,
		CanCancel: o.State == StateAwaitingPayment,
		Notice:    notice, NoticeClass: noticeClass}
	if o.PriceBefore != nil {
		v.PriceBefore = web.Money(*o.PriceBefore, o.Currency)
	}
	if o.PriceAfter != nil {
		v.PriceAfter = web.Money(*o.PriceAfter, o.Currency)
	}
	if o.InvoiceID != 0 {
		h, _ := m.deps()
		inv, err := h.Panel.Invoice(ctx, o.InvoiceID)
		if err != nil {
			// The order's own facts still help; the invoice is shown when
			// the panel answers.
			v.InvoiceError = "Invoice " + o.InvoiceNumber + " cannot be read from the panel right now."
		} else {
			v.Invoice = &invoiceFacts{Number: inv.Number, Status: string(inv.Status), Total: web.Money(inv.Total, inv.Currency),
				Paid: web.Money(inv.Paid, inv.Currency), PayURL: inv.PayURL}
		}
	}
	resources := map[hostapi.Resource]bool{}
	for _, l := range []map[hostapi.Resource]int64{o.LimitsBefore, o.Target, o.LimitsAfter} {
		for r := range l {
			resources[r] = true
		}
	}
	var rs []hostapi.Resource
	for r := range resources {
		// The resources the order set, and any that moved meanwhile; the
		// rest of the server's limits are not the order's.
		_, targeted := o.Target[r]
		if targeted || o.LimitsAfter != nil && o.LimitsBefore[r] != o.LimitsAfter[r] {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] })
	words := func(l map[hostapi.Resource]int64, r hostapi.Resource) string {
		if n, ok := l[r]; ok {
			return limitWords(r, n)
		}
		return "—"
	}
	for _, r := range rs {
		v.Limits = append(v.Limits, limitChange{Label: resourceLabel(r), Before: words(o.LimitsBefore, r), Target: words(o.Target, r), After: words(o.LimitsAfter, r)})
	}
	for _, e := range o.History {
		l, c := stateWords(e.State)
		v.History = append(v.History, historyRow{At: e.At.In(loc).Format("2 Jan 2006 15:04:05"), State: l, StateClass: c, Message: e.Message})
	}
	web.Render(w, r, status, shopTemplates, "console_order.html", "Add-on order "+strconv.FormatUint(o.ID, 10), v)
}

// consoleRetry is POST /console/orders/{id}/retry: adminRetry, then the
// order's page with the outcome. A refusal (the order is no longer
// failed) is said on the page; nothing was changed.
func (m *Module) consoleRetry(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	if _, _, err := m.adminRetry(r.Context(), id); err != nil {
		msg := "The retry did not finish: " + sentence(message(err)) + " The order's state below is where it stands."
		switch hostapi.CodeOf(err) {
		case hostapi.CodePrecondition, hostapi.CodeConflict:
			msg = sentence(message(err)) + " Nothing was changed."
		case hostapi.CodeNotFound:
			hostapi.Fail(w, err)
			return
		}
		m.renderOrder(w, r, id, hostapi.CodeOf(err).HTTPStatus(), msg, "bad")
		return
	}
	web.SeeOther(w, newPage(r, 0).Root+"console/orders/"+strconv.FormatUint(id, 10)+"?retried=1")
}

// consoleCancel is POST /console/orders/{id}/cancel: the order awaiting
// payment and its invoice are cancelled together, then the order's page.
// A refusal (paid meanwhile, no longer awaiting payment) is said on the
// page; nothing was changed.
func (m *Module) consoleCancel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	if _, err := m.cancelOrder(r.Context(), id, "the admin"); err != nil {
		switch hostapi.CodeOf(err) {
		case hostapi.CodePrecondition, hostapi.CodeConflict:
			m.renderOrder(w, r, id, hostapi.CodeOf(err).HTTPStatus(), sentence(message(err))+" Nothing was changed.", "bad")
		default:
			hostapi.Fail(w, err)
		}
		return
	}
	web.SeeOther(w, newPage(r, 0).Root+"console/orders/"+strconv.FormatUint(id, 10)+"?cancelled=1")
}

// driftView is the data of the drift page.
type driftView struct {
	page
	Report   reconcileReport
	Services []driftService
	Fixed    bool
}

type driftService struct {
	ServiceID, UserID             uint64
	Status, Prices, AddOnIncrease string
	Limits                        []limitChange
	Findings                      []driftFinding
	Error                         string
}

type driftFinding struct {
	Verdict, VerdictClass, Message, Repair, Outcome string
}

// outcomeWords say what the fix did about a finding.
var outcomeWords = map[string]string{outcomeFixed: "Fixed.", outcomeLeft: "Left as it is.", outcomeNoted: "Noted as expected from now on."}

// verdictWords are the reconcile verdicts in words.
func verdictWords(v Verdict) (string, string) {
	switch v {
	case Restorable:
		return "Restorable", "wait"
	case NeedsHuman:
		return "Needs a human", "bad"
	case Failed:
		return "Could not check", "bad"
	}
	return "Info", "ok"
}

// consoleDrift is GET /console/reconcile (the report, nothing changed)
// and POST (fix what is safe, then the report of what the fix did).
func (m *Module) consoleDrift(w http.ResponseWriter, r *http.Request) {
	fix := r.Method == http.MethodPost
	_, rep, err := m.adminReconcile(r.Context(), fix)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	report := rep.(reconcileReport)
	v := driftView{page: newPage(r, 0), Report: report, Fixed: fix}
	for _, d := range report.Services {
		s := driftService{ServiceID: d.ServiceID, UserID: d.UserID, Status: d.Status, Error: d.Error}
		if d.Currency != "" {
			s.AddOnIncrease = d.AddOnIncrease + " " + d.Currency
			s.Prices = "panel " + d.PanelPrice + " " + d.Currency
			if d.ExpectedPrice != "" {
				s.Prices += ", upsell set " + d.ExpectedPrice + " " + d.Currency
			}
		} else {
			s.AddOnIncrease = d.AddOnIncrease
		}
		for _, l := range d.Limits {
			c := limitChange{Label: resourceLabel(l.Resource), Before: amountWords(l.Resource, l.AddOns), Target: "—", After: "—"}
			if l.Expected != nil {
				c.Target = limitWords(l.Resource, *l.Expected)
			}
			if l.Current != nil {
				c.After = limitWords(l.Resource, *l.Current)
			}
			s.Limits = append(s.Limits, c)
		}
		for _, f := range d.Findings {
			label, class := verdictWords(f.Verdict)
			df := driftFinding{Verdict: label, VerdictClass: class, Message: sentence(f.Message), Repair: f.Repair}
			if fix {
				df.Outcome = outcomeWords[f.Outcome]
			}
			s.Findings = append(s.Findings, df)
		}
		v.Services = append(v.Services, s)
	}
	web.Render(w, r, http.StatusOK, shopTemplates, "console_drift.html", "Drift", v)
}
