package configoptions

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/web"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// The module's pages: the Build-Your-Own configurator (public), the
// checkout (a signed-in user's) and a service's option change (the
// service's client). Every figure on them comes from the module's own
// server-side pricing (quote, priceCheckout, quoteChange), rendered again
// on every change the page's script sends; the page computes nothing.
// Every page works without the script: its forms post, and the server
// answers with the page.

//go:embed templates/*.html
var templateFS embed.FS

var pageTemplates = template.Must(template.New("pages").Funcs(web.Funcs()).Funcs(consoleFuncs).ParseFS(templateFS, "templates/*.html"))

// Form fields. An option's control is "o<id>"; a slider's number box is
// "o<id>n" and the value the page showed "o<id>p", so that without the
// script the control the client moved wins.
const (
	fieldType     = "type"
	fieldCycle    = "cycle"
	fieldProduct  = "product"
	fieldPlan     = "plan"
	fieldCurrency = "currency"
	fieldCoupon   = "coupon"
	fieldKey      = "key"
)

// optionControl is one option as a form shows it.
type optionControl struct {
	ID          uint64
	Name        string
	Description string
	Type        catalog.OptionType
	Required    bool
	Min, Max    int64
	Step        int64
	MinText     string
	MaxText     string
	UnitPrice   string // "2.00 EUR a month per core"
	Values      []valueControl
	Quantity    int64
	Text        string
	// ValueText is the slider's aria-valuetext: the value in its unit and
	// what it costs on the page's cycle.
	ValueText string
	Error     string
}

func (o optionControl) Field() string { return "o" + strconv.FormatUint(o.ID, 10) }

type valueControl struct {
	ID       uint64
	Label    string
	Price    string
	Selected bool
}

// fieldError is a refused input as the error summary lists it.
type fieldError struct {
	Field, Label, Message string
}

// pageBase is the relative way back to the module's root from r's path
// ("" for /checkout, "../" for /checkout/place): links and forms then work
// behind any proxy prefix, without the page knowing it.
func pageBase(r *http.Request) string {
	return strings.Repeat("../", strings.Count(r.URL.Path, "/")-1)
}

// pageValues is the request's fields: the query of a GET, the form of a
// POST.
func pageValues(r *http.Request) (url.Values, error) {
	if r.Method == http.MethodGet {
		return r.URL.Query(), nil
	}
	return web.Form(r)
}

// newKey is a fresh idempotency key for a form: one order per form shown,
// whatever the number of times it is posted.
func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// parseChoices reads the options of groups from a form. Fields left empty
// are not chosen (the catalog's defaults and required rules apply); a
// field that is not a number is reported by option id.
func parseChoices(groups []catalog.Group, v url.Values) ([]choiceInput, map[uint64]string) {
	var out []choiceInput
	bad := map[uint64]string{}
	for _, g := range groups {
		for _, o := range g.Options {
			name := "o" + strconv.FormatUint(o.ID, 10)
			raw := strings.TrimSpace(v.Get(name))
			switch o.Type {
			case catalog.Text:
				if t := v.Get(name); t != "" {
					out = append(out, choiceInput{OptionID: o.ID, Text: t})
				}
				continue
			case catalog.Slider, catalog.Quantity:
				if n := strings.TrimSpace(v.Get(name + "n")); n != "" && (raw == "" || n != strings.TrimSpace(v.Get(name+"p"))) {
					raw = n
				}
			}
			if raw == "" {
				continue
			}
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || n < 0 {
				bad[o.ID] = "enter a whole number"
				if o.Type == catalog.Dropdown || o.Type == catalog.Radio || o.Type == catalog.Checkbox {
					bad[o.ID] = "choose one of the offered values"
				}
				continue
			}
			c := choiceInput{OptionID: o.ID}
			if o.Type == catalog.Slider || o.Type == catalog.Quantity {
				c.Quantity = n
			} else {
				c.ValueID = uint64(n)
			}
			out = append(out, c)
		}
	}
	return out, bad
}

// optionErrors checks every option on its own, so that a refused form
// names each option that fails, not only the first.
func optionErrors(groups []catalog.Group, choices []choiceInput) map[uint64]string {
	out := map[uint64]string{}
	for _, g := range groups {
		for _, o := range g.Options {
			one := g
			one.Options = []catalog.Option{o}
			var cs []catalog.Choice
			for _, c := range choices {
				if c.OptionID == o.ID {
					cs = append(cs, catalog.Choice{OptionID: c.OptionID, ValueID: c.ValueID, Quantity: c.Quantity, Text: c.Text})
				}
			}
			if _, err := catalog.Validate([]catalog.Group{one}, cs); err != nil {
				out[o.ID] = errorMessage(err)
			}
		}
	}
	return out
}

// errorMessage is a typed error's message without its field.
func errorMessage(err error) string {
	var e *hostapi.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}

// userFacing says whether err is about the client's input (shown on the
// form, with its status) rather than a failure (the host's error page).
func userFacing(err error) bool {
	switch hostapi.CodeOf(err) {
	case hostapi.CodeInvalid, hostapi.CodePrecondition, hostapi.CodeConflict, hostapi.CodeNotFound:
		return true
	}
	return false
}

// controls turns groups into form controls holding the client's choices,
// priced on term in currency, with the errors by option id.
func controls(groups []catalog.Group, choices []choiceInput, term catalog.Term, currency string, errs map[uint64]string) []optionControl {
	chosen := map[uint64]choiceInput{}
	for _, c := range choices {
		chosen[c.OptionID] = c
	}
	var out []optionControl
	for _, g := range groups {
		for _, o := range g.Options {
			if !o.Active {
				continue
			}
			c, picked := chosen[o.ID]
			oc := optionControl{ID: o.ID, Name: o.Name, Description: o.Description, Type: o.Type, Required: o.Required,
				Min: o.Min, Max: o.Max, Step: o.Step, Error: errs[o.ID], Text: c.Text}
			switch o.Type {
			case catalog.Slider, catalog.Quantity:
				oc.Quantity = o.Min
				if picked {
					oc.Quantity = c.Quantity
				}
				oc.MinText, oc.MaxText = catalog.QuantityText(o, o.Min), catalog.QuantityText(o, o.Max)
				if p := o.UnitPrices.For(term); p != nil {
					oc.UnitPrice = priceText(*p, currency) + " " + termText(term) + " per " + catalog.SingularUnit(o.Unit)
					oc.ValueText = catalog.QuantityText(o, oc.Quantity) + ", " + priceText(p.Mul(decimal.NewFromInt(oc.Quantity)), currency) + " " + termText(term)
				} else {
					oc.ValueText = catalog.QuantityText(o, oc.Quantity)
				}
				if oc.Step <= 0 {
					oc.Step = 1
				}
			default:
				for _, v := range o.Values {
					if !v.Active || v.Deleted {
						continue
					}
					vc := valueControl{ID: v.ID, Label: v.Label}
					if p := v.Prices.For(term); p != nil && !p.IsZero() {
						vc.Price = "+" + priceText(*p, currency) + " " + termText(term)
					}
					if picked {
						vc.Selected = c.ValueID == v.ID
					} else {
						vc.Selected = v.Default
					}
					oc.Values = append(oc.Values, vc)
				}
			}
			out = append(out, oc)
		}
	}
	return out
}

// priceText is an amount with the currency when the page knows it.
func priceText(d decimal.Decimal, currency string) string {
	if currency == "" {
		return d.StringFixed(2)
	}
	return web.Money(d, currency)
}

// figure is a quote's amount string as the page shows it (two places).
func figure(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return d.StringFixed(2)
}

var termNames = map[catalog.Term]string{
	catalog.Hourly: "an hour", catalog.Monthly: "a month", catalog.Quarterly: "every 3 months",
	catalog.SemiAnnual: "every 6 months", catalog.Annual: "a year",
}

var cycleLabels = map[catalog.Term]string{
	catalog.Monthly: "Monthly", catalog.Quarterly: "Every 3 months", catalog.SemiAnnual: "Every 6 months", catalog.Annual: "Yearly",
}

func termText(t catalog.Term) string { return termNames[t] }

// errorList is the summary of a refused form, in the order of its fields.
func errorList(opts []optionControl, other map[string]string, labels map[string]string) []fieldError {
	var out []fieldError
	for _, o := range opts {
		if o.Error != "" {
			out = append(out, fieldError{Field: o.Field(), Label: o.Name, Message: o.Error})
		}
	}
	keys := make([]string, 0, len(other))
	for k := range other {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, fieldError{Field: k, Label: labels[k], Message: other[k]})
	}
	return out
}

// render answers with the page name, or only its fragment for the page's
// script.
func (m *Module) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	if web.Live(r) != "" {
		name += "-summary"
	}
	web.Render(w, r, status, m.pages, name, title, data)
}

// byoGroups is the live Build-Your-Own groups, the configurator's tabs.
func byoGroups(all []catalog.Group) []catalog.Group {
	var out []catalog.Group
	for _, g := range all {
		if g.Mode == catalog.BuildYourOwn && g.Active {
			out = append(out, g)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Sort < out[j].Sort })
	return out
}

// parseID reads a positive id field; "" is 0.
func parseID(v url.Values, name string) (uint64, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, hostapi.Invalid(name, "%q is not an id", s)
	}
	return n, nil
}

// parseTerm reads the billing cycle field, monthly by default.
func parseTerm(v url.Values) catalog.Term {
	t := catalog.Term(v.Get(fieldCycle))
	if _, ok := cycleLabels[t]; ok {
		return t
	}
	return catalog.Monthly
}
