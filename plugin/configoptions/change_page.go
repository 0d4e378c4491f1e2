package configoptions

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/web"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// changeData is the change-options page of one service.
type changeData struct {
	Base, CSRF, Key string
	ServiceID       uint64
	Service         string
	// The page's addresses, each naming the service (its session cookie
	// is the service's).
	ConfirmURL, ReviewURL, WithdrawURL template.URL
	Held                               []heldView
	Options                            []optionControl
	Errors                             []fieldError
	Open                               *openChange
	Done                               string
	Summary                            changeSummary
}

// openChange is the service's change in progress.
type openChange struct {
	View        changeView
	PayURL      string
	Cancellable bool
}

// changeSummary is the live region: the change as quoteChange prices it.
type changeSummary struct {
	Currency  string
	Lines     []changeLine
	DueToday  string
	Credit    string
	Upgrade   bool
	Recurring string
	Days      string
	Nothing   bool
	Error     string
}

// changePage is GET /change (the service's options as it holds them) and
// POST /change/review (the new selection priced, for the page's script or
// the no-script "Update total").
func (m *Module) changePage(w http.ResponseWriter, r *http.Request) {
	d, _, status, err := m.changeForm(r)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	m.render(w, r, status, "change", "Change options", d)
}

// changeForm reads the page's form (or, on a GET, what the service
// holds) and prices the change.
func (m *Module) changeForm(r *http.Request) (changeData, changeRequest, int, error) {
	req := hostapi.RequestOf(r)
	svc, err := linkedService(*req)
	if err != nil {
		return changeData{}, changeRequest{}, 0, err
	}
	st, err := m.serviceState(r.Context(), svc)
	if err != nil {
		return changeData{}, changeRequest{}, 0, err
	}
	d := changeData{Base: pageBase(r), CSRF: web.CSRF(r), ServiceID: svc.ID, Service: svc.ProductName, Held: st.Held}
	d.ConfirmURL, d.ReviewURL, d.WithdrawURL = changeURL(d.Base, "change/confirm", svc.ID, ""), changeURL(d.Base, "change/review", svc.ID, ""), changeURL(d.Base, "change/withdraw", svc.ID, "")
	if svc.Label != "" {
		d.Service = svc.Label
	}
	switch r.URL.Query().Get("done") {
	case "applied":
		d.Done = "Your options were changed."
	case "cancelled":
		d.Done = "The change was cancelled; its invoice is no longer due."
	}
	term, err := catalog.TermFor(svc.Cycle)
	if err != nil {
		return changeData{}, changeRequest{}, 0, err
	}
	held := map[uint64]choiceInput{}
	var choices []choiceInput
	for _, h := range st.held {
		c := choiceInput{OptionID: h.OptionID, ValueID: h.ValueID, Quantity: h.Quantity, Text: h.Text}
		held[h.OptionID] = c
		choices = append(choices, c)
	}
	bad := map[uint64]string{}
	var in changeRequest
	if r.Method == http.MethodPost {
		v, err := web.Form(r)
		if err != nil {
			return changeData{}, changeRequest{}, 0, err
		}
		d.Key = strings.TrimSpace(v.Get(fieldKey))
		choices, bad = parseChoices(st.groups, v)
		in.Choices = changedChoices(st.groups, held, choices)
	}
	if d.Key == "" || len(d.Key) > maxIdempotencyKey {
		d.Key = newKey()
	}
	if st.Open != nil {
		o := &openChange{View: *st.Open, Cancellable: st.Open.State == ChangeAwaitingPayment}
		if st.Open.InvoiceID != 0 {
			if inv, err := m.hostAPI().Panel.Invoice(r.Context(), st.Open.InvoiceID); err == nil {
				o.PayURL = inv.PayURL
			}
		}
		d.Open = o
	}
	status := http.StatusOK
	errs := bad
	d.Summary.Currency = svc.Currency
	switch {
	case len(bad) > 0:
		status = http.StatusUnprocessableEntity
		d.Summary.Error = "Check the values marked; the price is shown once they are valid."
	case len(in.Choices) == 0:
		d.Summary.Nothing = true
	default:
		view, err := m.quoteChange(r.Context(), svc, req.Settings, in)
		switch {
		case err != nil && userFacing(err):
			status = hostapi.CodeOf(err).HTTPStatus()
			errs = changeOptionErrors(st.groups, held, in.Choices)
			if len(errs) == 0 {
				d.Summary.Error = errorMessage(err)
			} else {
				d.Summary.Error = "Check the values marked; the price is shown once they are valid."
			}
		case err != nil:
			return changeData{}, changeRequest{}, 0, err
		default:
			d.Summary = changeSummaryOf(view)
		}
	}
	d.Options = controls(st.groups, choices, term, svc.Currency, errs)
	d.Errors = errorList(d.Options, nil, nil)
	return d, in, status, nil
}

// changedChoices is the form's choices that differ from what the service
// holds: the change names only those. An unticked checkbox the service
// holds ticked is a choice of no value.
func changedChoices(groups []catalog.Group, held map[uint64]choiceInput, form []choiceInput) []choiceInput {
	sent := map[uint64]choiceInput{}
	for _, c := range form {
		sent[c.OptionID] = c
	}
	var out []choiceInput
	for _, g := range groups {
		for _, o := range g.Options {
			c, ok := sent[o.ID]
			h, holds := held[o.ID]
			switch {
			case ok && (!holds || c != h):
				out = append(out, c)
			case !ok && holds && o.Type == catalog.Checkbox && h.ValueID != 0:
				out = append(out, choiceInput{OptionID: o.ID})
			}
		}
	}
	return out
}

// changeOptionErrors checks each changed option on its own against the
// groups, so that every refused option is named.
func changeOptionErrors(groups []catalog.Group, held map[uint64]choiceInput, changed []choiceInput) map[uint64]string {
	out := map[uint64]string{}
	for _, c := range changed {
		for _, g := range groups {
			for _, o := range g.Options {
				if o.ID != c.OptionID {
					continue
				}
				one := g
				one.Options = []catalog.Option{o}
				var cur []catalog.Choice
				if h, ok := held[o.ID]; ok {
					cur = append(cur, catalog.Choice{OptionID: h.OptionID, ValueID: h.ValueID, Quantity: h.Quantity, Text: h.Text})
				}
				next := []catalog.Choice{{OptionID: c.OptionID, ValueID: c.ValueID, Quantity: c.Quantity, Text: c.Text}}
				if _, err := catalog.ValidateChange([]catalog.Group{one}, cur, next); err != nil {
					out[o.ID] = errorMessage(err)
				}
			}
		}
	}
	return out
}

func changeSummaryOf(v changeView) changeSummary {
	s := changeSummary{Currency: v.Currency, Lines: v.Lines, Recurring: v.RecurringAfter,
		Days: strconv.Itoa(v.DaysLeft) + " of " + strconv.Itoa(v.DaysInCycle) + " days left in this cycle"}
	due := v.DueToday
	if strings.HasPrefix(due, "-") {
		s.Credit = strings.TrimPrefix(due, "-")
	} else {
		s.DueToday, s.Upgrade = due, due != "0.00"
	}
	return s
}

// changeConfirm is POST /change/confirm: the change placed by the JSON
// route's code path (one per form key), then the invoice of an upgrade,
// or the page again for a change applied at once.
func (m *Module) changeConfirm(w http.ResponseWriter, r *http.Request) {
	d, in, status, err := m.changeForm(r)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	req := hostapi.RequestOf(r)
	svc, _ := linkedService(*req)
	_, view, err := m.changeOptions(r.Context(), svc, req.Settings, d.Key, func() (changeRequest, error) {
		if status != http.StatusOK {
			return in, hostapi.Invalid("choices", "%s", d.Summary.Error)
		}
		return in, nil
	})
	switch {
	case err != nil && userFacing(err):
		if status == http.StatusOK {
			status = hostapi.CodeOf(err).HTTPStatus()
			d.Summary = changeSummary{Currency: d.Summary.Currency, Error: errorMessage(err)}
		}
		m.render(w, r, status, "change", "Change options", d)
	case err != nil:
		hostapi.Fail(w, err)
	case view.InvoiceID != 0 && view.State == ChangeAwaitingPayment:
		if view.PayURL == "" {
			// A replayed form: the first answer's invoice, read again.
			inv, err := m.hostAPI().Panel.Invoice(r.Context(), view.InvoiceID)
			if err != nil {
				hostapi.Fail(w, err)
				return
			}
			view.PayURL = inv.PayURL
		}
		web.SeeOther(w, view.PayURL)
	default:
		web.SeeOther(w, string(changeURL(d.Base, "change", svc.ID, "applied")))
	}
}

// changeWithdraw is POST /change/withdraw: the service's unpaid change
// cancelled (the JSON cancel's code path), then the page again.
func (m *Module) changeWithdraw(w http.ResponseWriter, r *http.Request) {
	svc, err := linkedService(*hostapi.RequestOf(r))
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	if _, err := m.cancelOpenChange(r.Context(), svc); err != nil {
		hostapi.Fail(w, err)
		return
	}
	web.SeeOther(w, string(changeURL(pageBase(r), "change", svc.ID, "cancelled")))
}

// changeURL is the relative address of a change route for the service,
// with what was done for the page to say.
func changeURL(base, path string, serviceID uint64, done string) template.URL {
	q := url.Values{"service": {strconv.FormatUint(serviceID, 10)}}
	if done != "" {
		q.Set("done", done)
	}
	return template.URL(base + path + "?" + q.Encode())
}
