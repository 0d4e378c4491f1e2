package configoptions

import (
	"net/http"
	"net/url"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// configureData is the configurator page.
type configureData struct {
	Base     string
	Tabs     []configureTab
	Group    catalog.Group
	Type     string
	Cycle    catalog.Term
	Cycles   []cycleChoice
	Options  []optionControl
	Errors   []fieldError
	Summary  configureSummary
	Product  uint64
	Plan     uint64
	Currency string
}

type configureTab struct {
	Name, Href string
	Current    bool
}

type cycleChoice struct {
	Term     catalog.Term
	Label    string
	Selected bool
}

// configureSummary is the live region: the quote's figures.
type configureSummary struct {
	Currency   string
	HourlyRate string
	MonthlyCap string
	CycleLabel string
	Total      string
	Lines      []summaryLine
	Unpriced   string
	Error      string
	ValueTexts []valueText
}

type summaryLine struct {
	Option, Value, Price string
}

type valueText struct {
	Field, Text string
}

// configurePage is GET /configure: the Build-Your-Own configurator of the
// service type in ?type= (the first one without), priced by the module's
// quote on every change; "Deploy Now" takes the selection to the checkout.
// The storefront's link may name the product, plan and currency the
// checkout orders (product, plan, currency); they ride along.
func (m *Module) configurePage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	all, err := m.catalog(r.Context())
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	groups := byoGroups(all)
	if len(groups) == 0 {
		hostapi.Fail(w, hostapi.Errorf(hostapi.CodeNotFound, "no build-your-own configurator is offered"))
		return
	}
	g := groups[0]
	if t := v.Get(fieldType); t != "" {
		found := false
		for _, x := range groups {
			if x.ServiceType == t {
				g, found = x, true
			}
		}
		if !found {
			hostapi.Fail(w, hostapi.Errorf(hostapi.CodeNotFound, "no build-your-own configurator for %q", t))
			return
		}
	}
	d := configureData{Base: pageBase(r), Group: g, Type: g.ServiceType, Cycle: parseTerm(v), Currency: currencyOf(v)}
	d.Product, _ = parseID(v, fieldProduct)
	d.Plan, _ = parseID(v, fieldPlan)
	for _, x := range groups {
		d.Tabs = append(d.Tabs, configureTab{Name: x.Name, Href: d.Base + "configure?" + url.Values{fieldType: {x.ServiceType}}.Encode(), Current: x.ID == g.ID})
	}
	for _, t := range cycleTerms {
		d.Cycles = append(d.Cycles, cycleChoice{Term: t, Label: cycleLabels[t], Selected: t == d.Cycle})
	}
	choices, bad := parseChoices([]catalog.Group{g}, v)
	status := http.StatusOK
	// Without choices the page shows each slider at its minimum: quote
	// exactly that.
	choices = withMinimums([]catalog.Group{g}, choices)
	q, err := m.quote(r.Context(), quoteRequest{ServiceType: g.ServiceType, Choices: choices})
	errs := bad
	switch {
	case len(bad) > 0:
		status = http.StatusUnprocessableEntity
	case err != nil && userFacing(err):
		status = hostapi.CodeOf(err).HTTPStatus()
		errs = optionErrors([]catalog.Group{g}, choices)
		if len(errs) == 0 {
			d.Summary.Error = errorMessage(err)
		}
	case err != nil:
		hostapi.Fail(w, err)
		return
	}
	d.Options = controls([]catalog.Group{g}, choices, d.Cycle, d.Currency, errs)
	d.Errors = errorList(d.Options, nil, nil)
	if status == http.StatusOK {
		d.Summary = summaryOf(q, d.Cycle, d.Currency)
	} else if d.Summary.Error == "" {
		d.Summary.Error = "Check the values marked above; the total is shown once they are valid."
	}
	for _, o := range d.Options {
		if o.ValueText != "" {
			d.Summary.ValueTexts = append(d.Summary.ValueTexts, valueText{Field: o.Field(), Text: o.ValueText})
		}
	}
	m.render(w, r, status, "configure", g.Name, d)
}

// withMinimums adds a slider or quantity the form left out at its
// minimum, as the page shows it.
func withMinimums(groups []catalog.Group, choices []choiceInput) []choiceInput {
	have := map[uint64]bool{}
	for _, c := range choices {
		have[c.OptionID] = true
	}
	for _, g := range groups {
		for _, o := range g.Options {
			if o.Active && !have[o.ID] && (o.Type == catalog.Slider || o.Type == catalog.Quantity) && o.Required {
				choices = append(choices, choiceInput{OptionID: o.ID, Quantity: o.Min})
			}
		}
	}
	return choices
}

// summaryOf is the quote's figures for the page: hourly rate, monthly
// cap, and the lines and total of the cycle shown.
func summaryOf(q quoteResponse, cycle catalog.Term, currency string) configureSummary {
	s := configureSummary{Currency: currency, HourlyRate: q.HourlyRate, CycleLabel: cycleLabels[cycle]}
	if q.MonthlyCap != "" {
		s.MonthlyCap = figure(q.MonthlyCap)
	}
	if t, ok := q.Totals[string(cycle)]; ok {
		s.Total = figure(t)
	} else {
		s.Unpriced = "Not offered " + termText(cycle) + "."
	}
	for _, l := range q.Lines {
		line := summaryLine{Option: l.Option, Value: l.Value}
		if p, ok := l.Prices[string(cycle)]; ok {
			line.Price = figure(p)
		}
		s.Lines = append(s.Lines, line)
	}
	return s
}

// currencyOf is the currency field, "" when absent or not a code.
func currencyOf(v url.Values) string {
	c := v.Get(fieldCurrency)
	if len(c) != 3 {
		return ""
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return ""
		}
	}
	return c
}
