package configoptions

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/web"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// checkoutData is the checkout page.
type checkoutData struct {
	Base, CSRF, Key        string
	Title                  string
	Product, Plan          uint64
	Currency, Type, Coupon string
	Options                []optionControl
	Errors                 []fieldError
	CouponError            string
	Summary                checkoutSummary
}

// checkoutSummary is the live region: the checkout's own pricing (plan,
// options, coupon, tax) and, for a Build-Your-Own service, the quote's
// hourly rate and cap.
type checkoutSummary struct {
	Currency   string
	Cycle      string
	PlanPrice  string
	BYO        bool
	Lines      []summaryLine
	Coupon     string
	Discount   string
	SetupFee   string
	Recurring  string
	DueToday   string
	HourlyRate string
	MonthlyCap string
	Error      string
	Priced     bool
	// ValueTexts update the sliders' aria-valuetext with the figures.
	ValueTexts []valueText
}

// checkoutLabels name the checkout's own fields in the error summary.
var checkoutLabels = map[string]string{
	fieldCoupon: "Coupon", fieldPlan: "Plan", fieldProduct: "Product", fieldCurrency: "Currency", "form": "Order",
}

// checkoutForm reads and prices the checkout form in v: the page's data,
// the request the order would send, and the status to answer (422 and
// the like with every refused field marked).
func (m *Module) checkoutForm(r *http.Request, v url.Values) (checkoutData, checkoutRequest, int, error) {
	req := hostapi.RequestOf(r)
	d := checkoutData{Base: pageBase(r), CSRF: web.CSRF(r), Key: strings.TrimSpace(v.Get(fieldKey)),
		Type: v.Get(fieldType), Coupon: strings.TrimSpace(v.Get(fieldCoupon)), Currency: currencyOf(v)}
	if d.Key == "" || len(d.Key) > maxIdempotencyKey {
		d.Key = newKey()
	}
	other := map[string]string{}
	var err error
	if d.Product, err = parseID(v, fieldProduct); err != nil {
		return d, checkoutRequest{}, 0, err
	}
	if d.Plan, err = parseID(v, fieldPlan); err != nil {
		return d, checkoutRequest{}, 0, err
	}
	if d.Product == 0 || d.Plan == 0 {
		return d, checkoutRequest{}, 0, hostapi.Invalid(fieldPlan, "this checkout link names no product or plan: order from the shop")
	}
	if d.Currency == "" {
		s, err := m.hostAPI().Panel.Settings(r.Context())
		if err != nil {
			return d, checkoutRequest{}, 0, err
		}
		d.Currency = s.DefaultCurrency
	}
	all, err := m.loadCatalog(r.Context())
	if err != nil {
		return d, checkoutRequest{}, 0, err
	}
	sel := quoteRequest{ProductID: d.Product}
	if d.Type != "" {
		sel = quoteRequest{ServiceType: d.Type}
	}
	groups, mode, err := selectGroups(all, sel)
	if err != nil {
		return d, checkoutRequest{}, 0, err
	}
	d.Title = "Order a configured service"
	if mode == catalog.BuildYourOwn {
		d.Title = "Order: " + groups[0].Name
	}
	choices, bad := parseChoices(groups, v)
	if mode == catalog.BuildYourOwn {
		choices = withMinimums(groups, choices)
	}
	in := checkoutRequest{ProductID: d.Product, PlanID: d.Plan, ServiceType: d.Type, Currency: d.Currency, Choices: choices, Coupon: d.Coupon}
	status := http.StatusOK
	errs := bad
	term := parseTerm(v)
	if len(bad) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		_, view, err := m.priceCheckout(r.Context(), req.Principal.UserID, in)
		switch {
		case err != nil && userFacing(err):
			status = hostapi.CodeOf(err).HTTPStatus()
			errs = optionErrors(groups, choices)
			d.failed(err, errs, other)
		case err != nil:
			return d, in, 0, err
		default:
			d.Summary = checkoutSummaryOf(view)
			term = view.term
			if mode == catalog.BuildYourOwn {
				if q, err := m.quote(r.Context(), quoteRequest{ServiceType: d.Type, Choices: choices}); err == nil {
					d.Summary.HourlyRate, d.Summary.MonthlyCap = q.HourlyRate, figure(q.MonthlyCap)
				}
			}
		}
	}
	if status != http.StatusOK && r.Method == http.MethodGet {
		// The form as first shown: nothing was sent yet, so nothing is
		// marked wrong; the summary says what the total waits for.
		status, errs, other = http.StatusOK, nil, map[string]string{}
		d.Summary = checkoutSummary{Error: "Choose your options to see the total."}
	}
	if status != http.StatusOK && d.Summary.Error == "" {
		d.Summary.Error = "Check the fields marked; the total is shown once they are valid."
	}
	d.Options = controls(groups, choices, term, d.Currency, errs)
	for _, o := range d.Options {
		if o.ValueText != "" {
			d.Summary.ValueTexts = append(d.Summary.ValueTexts, valueText{Field: o.Field(), Text: o.ValueText})
		}
	}
	d.Errors = errorList(d.Options, other, checkoutLabels)
	d.CouponError = other[fieldCoupon]
	return d, in, status, nil
}

// failed puts a refused checkout's error where it belongs: next to its
// option, its field (the coupon), or above the form.
func (d *checkoutData) failed(err error, byOption map[uint64]string, other map[string]string) {
	var e *hostapi.Error
	field := ""
	if errors.As(err, &e) {
		field = e.Field
	}
	switch {
	case strings.HasPrefix(field, "options."):
		if len(byOption) == 0 {
			other["form"] = errorMessage(err)
		}
	case field == fieldCoupon || (field == "" && d.Coupon != "" && strings.Contains(strings.ToLower(errorMessage(err)), "coupon")):
		other[fieldCoupon] = errorMessage(err)
	case len(byOption) == 0:
		d.Summary.Error = errorMessage(err)
	}
}

func checkoutSummaryOf(v checkoutView) checkoutSummary {
	cycle := cycleLabels[v.term]
	if cycle == "" {
		cycle = "Every " + v.Cycle
	}
	s := checkoutSummary{Priced: true, Currency: v.Currency, Cycle: cycle, PlanPrice: v.PlanPrice, BYO: v.Mode == catalog.BuildYourOwn,
		Coupon: v.Coupon, Discount: v.Discount, SetupFee: v.SetupFee, Recurring: v.RecurringPrice, DueToday: v.DueToday}
	for _, l := range v.Lines {
		line := summaryLine{Option: l.Option, Value: l.Value}
		for _, p := range l.Prices {
			line.Price = figure(p)
		}
		s.Lines = append(s.Lines, line)
	}
	return s
}

// checkoutPage is GET /checkout (the form, from a product's order button
// or the configurator's Deploy Now) and POST /checkout/summary (its
// figures again, for the page's script or the no-script "Update total").
func (m *Module) checkoutPage(w http.ResponseWriter, r *http.Request) {
	v, err := pageValues(r)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	d, _, status, err := m.checkoutForm(r, v)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	m.render(w, r, status, "checkout", d.Title, d)
}

// checkoutPlace is POST /checkout/place: the checkout's one code path
// (order, as the JSON checkout), then on to the panel's invoice. The
// form's key makes a double submit or a reload one order.
func (m *Module) checkoutPlace(w http.ResponseWriter, r *http.Request) {
	v, err := web.Form(r)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	key := strings.TrimSpace(v.Get(fieldKey))
	if key == "" || len(key) > maxIdempotencyKey {
		hostapi.Fail(w, hostapi.Invalid(fieldKey, "the form has no order key: reload the page"))
		return
	}
	userID := hostapi.RequestOf(r).Principal.UserID
	// A replayed form answers the first order, whatever it holds now.
	if done, ok, err := m.findCheckout(r.Context(), userID, key); err != nil {
		hostapi.Fail(w, err)
		return
	} else if ok {
		m.toInvoice(w, done)
		return
	}
	d, in, status, err := m.checkoutForm(r, v)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	if status != http.StatusOK {
		m.render(w, r, status, "checkout", d.Title, d)
		return
	}
	_, view, err := m.order(r.Context(), userID, key, func() (checkoutRequest, error) { return in, nil })
	if err != nil {
		if !userFacing(err) {
			hostapi.Fail(w, err)
			return
		}
		d.failed(err, nil, map[string]string{})
		d.Summary.Priced = false
		if d.Summary.Error == "" {
			d.Summary.Error = errorMessage(err)
		}
		m.render(w, r, hostapi.CodeOf(err).HTTPStatus(), "checkout", d.Title, d)
		return
	}
	m.toInvoice(w, view)
}

// toInvoice sends the client to pay the order's first invoice on the
// panel.
func (m *Module) toInvoice(w http.ResponseWriter, v checkoutView) {
	if v.PayURL == "" {
		hostapi.Fail(w, hostapi.Errorf(hostapi.CodeInternal, "invoice %d has no pay address", v.InvoiceID))
		return
	}
	web.SeeOther(w, v.PayURL)
}
