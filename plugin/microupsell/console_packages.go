package microupsell

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
	"github.com/upsell-io/upsell/hostapi/proration"
	"github.com/upsell-io/upsell/hostapi/web"
)

// The provider's console pages for add-on packages: the list with its
// filters, the create and edit forms and a preview of what a service
// would be quoted. The forms are the admin JSON API's body in form fields:
// they go through preparePackage and savePackage, the API's own code, so
// the rules and the audit entry have one home. Amounts are typed in the
// units a provider thinks in (memory in GB) and converted here.

// amountUnit is the unit the admin types a resource's amount in: Per
// resource units make one (1024 MiB a GB).
type amountUnit struct {
	Label string
	Per   int64
}

// consoleResources are the sellable resources in the order the console
// offers them, with the unit of their amount field.
var consoleResources = []struct {
	Resource hostapi.Resource
	Label    string
	Unit     amountUnit
}{
	{hostapi.MemoryMiB, "Memory (RAM)", amountUnit{"GB", 1024}},
	{hostapi.DiskMiB, "Disk", amountUnit{"GB", 1024}},
	{hostapi.CPUPercent, "CPU", amountUnit{"% of one core", 1}},
	{hostapi.Ports, "Ports", amountUnit{"ports", 1}},
	{hostapi.Databases, "Databases", amountUnit{"databases", 1}},
	{hostapi.Backups, "Backups", amountUnit{"backups", 1}},
	{hostapi.SwapMiB, "Swap", amountUnit{"GB", 1024}},
}

func unitOf(r hostapi.Resource) (amountUnit, bool) {
	for _, c := range consoleResources {
		if c.Resource == r {
			return c.Unit, true
		}
	}
	return amountUnit{}, false
}

func resourceLabel(r hostapi.Resource) string {
	for _, c := range consoleResources {
		if c.Resource == r {
			return c.Label
		}
	}
	return string(r)
}

// inUnit is an amount as the admin typed it: 1536 MiB is "1.5" (GB).
func inUnit(r hostapi.Resource, amount int64) string {
	u, ok := unitOf(r)
	if !ok || u.Per == 1 {
		return strconv.FormatInt(amount, 10)
	}
	return decimal.New(amount, 0).Div(decimal.New(u.Per, 0)).String()
}

// Form fields of the package form.
const (
	fieldName     = "name"
	fieldResource = "resource"
	fieldAmount   = "amount"
	fieldProduct  = "product_id"
	fieldCap      = "max_per_service"
	fieldSort     = "sort"
	fieldActive   = "active"
	fieldPrices   = "prices"
	// pricePrefix + a currency code is the monthly price in it.
	pricePrefix = "price_"
)

// fieldOfAPI is the form field of a field the package rules refuse.
func fieldOfAPI(apiField string) string {
	if cur, ok := strings.CutPrefix(apiField, "monthly_prices."); ok {
		return pricePrefix + cur
	}
	if apiField == "monthly_prices" {
		return fieldPrices
	}
	return apiField
}

// fieldError is one refused field of a console form.
type fieldError struct {
	Field, Label, Message string
}

// formErrors are a form's refusals by field, in the order found.
type formErrors struct {
	List    []fieldError
	byField map[string]string
}

func (f *formErrors) add(field, label, msg string) {
	if f.byField == nil {
		f.byField = map[string]string{}
	}
	if _, dup := f.byField[field]; dup {
		return // the first reason for a field is the one to fix
	}
	f.byField[field] = msg
	f.List = append(f.List, fieldError{Field: field, Label: label, Message: msg})
}

// Of is the refusal of field, "" when it was accepted.
func (f formErrors) Of(field string) string { return f.byField[field] }

// refusals are the refused fields in err: each of a hostapi.JoinInvalid,
// or err itself. ok is false when err is not a refusal (a failure).
func refusals(err error) ([]*hostapi.Error, bool) {
	var e *hostapi.Error
	if !errors.As(err, &e) || e.Code != hostapi.CodeInvalid {
		return nil, false
	}
	joined, isJoin := e.Err.(interface{ Unwrap() []error })
	if !isJoin {
		return []*hostapi.Error{e}, true
	}
	var out []*hostapi.Error
	for _, x := range joined.Unwrap() {
		var xe *hostapi.Error
		if errors.As(x, &xe) {
			out = append(out, xe)
		}
	}
	return out, true
}

// packageForm is the create or edit form as shown: the values as typed.
type packageForm struct {
	page
	ID                      uint64
	Name, Resource, Amount  string
	Product, Cap, Sort      string
	Active                  bool
	Prices                  []priceField
	Resources               []resourceOption
	Errors                  formErrors
	Preview                 *preview
	PreviewService          string
	PreviewError            string
	UnitOf                  map[string]string
	AmountHint, CurrentAdds string
}

type priceField struct {
	Currency, Field, Value, Error string
}

type resourceOption struct {
	Value, Label, Unit string
	Selected           bool
}

// preview is what one service (or the sample) would be quoted.
type preview struct {
	Title   string
	Refusal string
	Lines   []previewLine
}

type previewLine struct {
	Currency, DueToday, DueWhy, Recurring string
}

// currencies are the panel's currencies, the default one for a host that
// does not list them.
func currencies(s hostapi.PanelSettings) []string {
	if len(s.Currencies) > 0 {
		return s.Currencies
	}
	if s.DefaultCurrency != "" {
		return []string{s.DefaultCurrency}
	}
	return nil
}

// formOf is the form showing a saved package (or a new one's defaults).
func formOf(p Package, settings hostapi.PanelSettings) packageForm {
	f := packageForm{ID: p.ID, Name: p.Name, Resource: string(p.Resource), Active: p.Active, Sort: strconv.Itoa(p.Sort)}
	if p.Amount != 0 {
		f.Amount = inUnit(p.Resource, p.Amount)
		f.CurrentAdds = amountWords(p.Resource, p.Amount)
	}
	if p.ProductID != 0 {
		f.Product = strconv.FormatUint(p.ProductID, 10)
	}
	if p.MaxPerService != 0 {
		f.Cap = strconv.Itoa(p.MaxPerService)
	}
	for _, cur := range currencies(settings) {
		pf := priceField{Currency: cur, Field: pricePrefix + cur}
		if d, ok := p.MonthlyPrices[cur]; ok {
			pf.Value = money.Format(d)
		}
		f.Prices = append(f.Prices, pf)
	}
	return f
}

// finish fills what every rendering of the form shows.
func (f *packageForm) finish(r *http.Request) {
	f.page = newPage(r, 0)
	f.UnitOf = map[string]string{}
	for _, c := range consoleResources {
		f.Resources = append(f.Resources, resourceOption{Value: string(c.Resource), Label: c.Label, Unit: c.Unit.Label, Selected: string(c.Resource) == f.Resource})
		f.UnitOf[string(c.Resource)] = c.Unit.Label
	}
	for i := range f.Prices {
		f.Prices[i].Error = f.Errors.Of(f.Prices[i].Field)
	}
	f.AmountHint = "Memory, disk and swap in GB (1.5 is 1536 MB), CPU in % of one core (100 is a core), ports, databases and backups as a count."
}

// readPackageForm turns the posted form into the JSON API's body. What
// cannot even be read (a word where a number goes) is refused here, by
// field; the rest is left to the package rules.
func readPackageForm(form url.Values, settings hostapi.PanelSettings) (packageForm, []byte, formErrors) {
	var errs formErrors
	f := packageForm{Name: form.Get(fieldName), Resource: form.Get(fieldResource), Amount: strings.TrimSpace(form.Get(fieldAmount)),
		Product: strings.TrimSpace(form.Get(fieldProduct)), Cap: strings.TrimSpace(form.Get(fieldCap)), Sort: strings.TrimSpace(form.Get(fieldSort)),
		Active: form.Get(fieldActive) != ""}
	in := packageInput{Name: &f.Name, Resource: &f.Resource, Active: &f.Active, MonthlyPrices: map[string]string{}}
	for name := range form {
		switch {
		case name == web.CSRFField, name == fieldName, name == fieldResource, name == fieldAmount, name == fieldProduct,
			name == fieldCap, name == fieldSort, name == fieldActive, strings.HasPrefix(name, pricePrefix):
		default:
			errs.add(name, name, "is not a field of this form")
		}
		if len(form[name]) != 1 {
			errs.add(name, name, "was given more than once")
		}
	}
	if f.Amount != "" {
		if u, ok := unitOf(hostapi.Resource(f.Resource)); ok {
			d, err := decimal.NewFromString(f.Amount)
			n := d.Mul(decimal.New(u.Per, 0))
			switch {
			case err != nil || strings.ContainsAny(f.Amount, "eE"):
				errs.add(fieldAmount, "Amount", "must be a number of "+u.Label+", such as 1 or 1.5")
			case !n.IsInteger():
				errs.add(fieldAmount, "Amount", "must be a whole number of "+unitBase(hostapi.Resource(f.Resource))+" ("+f.Amount+" "+u.Label+" is "+n.String()+")")
			case !n.IsPositive() || n.GreaterThan(decimal.New(maxAmount, 0)):
				errs.add(fieldAmount, "Amount", "must be more than 0 and at most "+decimal.New(maxAmount, 0).Div(decimal.New(u.Per, 0)).String()+" "+u.Label)
			default:
				v := n.IntPart()
				in.Amount = &v
			}
		}
	} else {
		errs.add(fieldAmount, "Amount", "is required")
	}
	if f.Product != "" {
		id, err := strconv.ParseUint(f.Product, 10, 64)
		if err != nil || id == 0 {
			errs.add(fieldProduct, "Product", "must be a product id (a whole number), or empty for every product")
		} else {
			in.ProductID = &id
		}
	} else {
		var every uint64
		in.ProductID = &every
	}
	if f.Cap != "" {
		n, err := strconv.Atoi(f.Cap)
		if err != nil {
			errs.add(fieldCap, "Cap per service", "must be a whole number, or empty for no cap")
		} else {
			in.MaxPerService = &n
		}
	} else {
		var none int
		in.MaxPerService = &none
	}
	if f.Sort == "" {
		f.Sort = "0"
	}
	if n, err := strconv.Atoi(f.Sort); err != nil {
		errs.add(fieldSort, "Sort order", "must be a whole number")
	} else {
		in.Sort = &n
	}
	shown := map[string]bool{}
	for _, cur := range currencies(settings) {
		field := pricePrefix + cur
		shown[field] = true
		v := strings.TrimSpace(form.Get(field))
		f.Prices = append(f.Prices, priceField{Currency: cur, Field: field, Value: v})
		if v != "" {
			in.MonthlyPrices[cur] = v
		}
	}
	// A price field the form did not show goes to the rules, which refuse
	// a currency the panel lacks.
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if cur, ok := strings.CutPrefix(name, pricePrefix); ok && !shown[name] {
			in.MonthlyPrices[cur] = form.Get(name)
		}
	}
	body, _ := json.Marshal(in)
	return f, body, errs
}

// unitBase names the resource's own unit: MB for sizes.
func unitBase(r hostapi.Resource) string {
	switch r {
	case hostapi.MemoryMiB, hostapi.DiskMiB, hostapi.SwapMiB:
		return "MB"
	}
	return "units"
}

// fieldLabels name the form's fields in the list of things to fix.
var fieldLabels = map[string]string{
	fieldName: "Name", fieldResource: "Resource", fieldAmount: "Amount", fieldProduct: "Product",
	fieldCap: "Cap per service", fieldSort: "Sort order", fieldPrices: "Monthly prices",
}

func labelOf(field string) string {
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	if cur, ok := strings.CutPrefix(field, pricePrefix); ok {
		return "Monthly price in " + cur
	}
	return field
}

// consolePackageSave is POST /console/packages (id 0) and
// /console/packages/{id}: the form checked by the package rules, every
// refusal shown next to its field and nothing written, or the package
// saved and the browser sent to the list.
func (m *Module) consolePackageSave(w http.ResponseWriter, r *http.Request, id uint64) {
	ctx := r.Context()
	form, err := web.Form(r)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	settings, err := m.panelSettings(ctx)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	f, body, errs := readPackageForm(form, settings)
	f.ID = id
	p, err := m.preparePackage(ctx, id, body)
	if err != nil {
		refused, ok := refusals(err)
		if !ok {
			hostapi.Fail(w, err)
			return
		}
		for _, e := range refused {
			field := fieldOfAPI(e.Field)
			msg := e.Message
			if field == fieldAmount && errs.Of(fieldAmount) == "" {
				if u, known := unitOf(hostapi.Resource(f.Resource)); known {
					msg = "must be more than 0 and at most " + decimal.New(maxAmount, 0).Div(decimal.New(u.Per, 0)).String() + " " + u.Label
				}
			}
			errs.add(field, labelOf(field), msg)
		}
	}
	if len(errs.List) > 0 {
		// Nothing is written while any field is refused.
		f.Errors = errs
		m.renderPackageForm(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if p.ID, err = m.savePackage(ctx, p, id == 0); err != nil {
		hostapi.Fail(w, err)
		return
	}
	web.SeeOther(w, newPage(r, 0).Root+"console/packages?saved="+strconv.FormatUint(p.ID, 10))
}

func (m *Module) renderPackageForm(w http.ResponseWriter, r *http.Request, status int, f packageForm) {
	f.finish(r)
	title := "New add-on package"
	if f.ID != 0 {
		title = "Edit " + f.Name
	}
	web.Render(w, r, status, shopTemplates, "console_package.html", title, f)
}

// consolePackageNew is GET /console/packages/new.
func (m *Module) consolePackageNew(w http.ResponseWriter, r *http.Request) {
	settings, err := m.panelSettings(r.Context())
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	f := formOf(Package{Active: true, Resource: hostapi.MemoryMiB}, settings)
	m.renderPackageForm(w, r, http.StatusOK, f)
}

// previewServiceParam names the service the edit page's preview quotes.
const previewServiceParam = "preview_service"

// consolePackageEdit is GET /console/packages/{id}: the form with the
// package as saved, and the preview.
func (m *Module) consolePackageEdit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	ctx := r.Context()
	p, err := m.packageByID(ctx, "", id)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	settings, err := m.panelSettings(ctx)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	f := formOf(p, settings)
	f.PreviewService = strings.TrimSpace(r.URL.Query().Get(previewServiceParam))
	if f.PreviewService == "" {
		f.Preview, err = m.samplePreview(p)
	} else if sid, perr := strconv.ParseUint(f.PreviewService, 10, 64); perr != nil || sid == 0 {
		f.PreviewError = "Type a service id (a whole number), or leave it empty for the sample service."
	} else {
		f.Preview, err = m.servicePreview(ctx, p, sid, settings)
	}
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	status := http.StatusOK
	if f.PreviewError != "" {
		status = http.StatusUnprocessableEntity
	}
	m.renderPackageForm(w, r, status, f)
}

// samplePreview quotes the package for the sample service: a monthly
// cycle counted as 30 days with 15 left, in every currency it has a price
// in, from the module's pricing rules.
func (m *Module) samplePreview(p Package) (*preview, error) {
	now := m.now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	cycle := hostapi.Cycle{Type: hostapi.PlanRecurring, Period: 1, Unit: hostapi.UnitMonth}
	out := &preview{Title: "A sample monthly service (30-day cycle, 15 days left, no tax)"}
	curs := make([]string, 0, len(p.MonthlyPrices))
	for c := range p.MonthlyPrices {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	for _, cur := range curs {
		q, err := proration.Compute(proration.Input{MonthlyPrice: p.MonthlyPrices[cur], Cycle: cycle, ExpiresAt: today.AddDate(0, 0, 15),
			Now: now, Location: time.UTC, Method: proration.Paymenter})
		if err != nil {
			return nil, err
		}
		out.Lines = append(out.Lines, previewLine{Currency: cur, DueToday: web.Money(q.DueToday, cur),
			DueWhy:    strconv.Itoa(q.DaysLeft) + " of " + strconv.Itoa(q.DaysInCycle) + " days left",
			Recurring: "the service's price + " + web.Money(q.RecurringIncrease, cur) + " " + per(cycle)})
	}
	if len(out.Lines) == 0 {
		out.Refusal = "The package has no price, so nothing can be quoted."
	}
	return out, nil
}

// servicePreview quotes the package for one service exactly as its client
// would be quoted (its cycle, currency, tax, holdings and the module's
// proration), or says why it would not be offered.
func (m *Module) servicePreview(ctx context.Context, p Package, serviceID uint64, settings hostapi.PanelSettings) (*preview, error) {
	h, _ := m.deps()
	svc, err := h.Panel.Service(ctx, serviceID)
	if hostapi.CodeOf(err) == hostapi.CodeNotFound {
		return &preview{Title: "Service " + strconv.FormatUint(serviceID, 10), Refusal: "The panel has no service " + strconv.FormatUint(serviceID, 10) + "."}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &preview{Title: serviceLabel(svc) + " (service " + strconv.FormatUint(svc.ID, 10) + ", " + cycleWords(svc.Cycle) + ")"}
	if svc.Status != hostapi.ServiceActive {
		out.Refusal = whyNot(svc, hostapi.Errorf(hostapi.CodePrecondition, "the service is %s", svc.Status))
		return out, nil
	}
	if err := proration.Eligible(svc.Cycle); err != nil {
		out.Refusal = whyNot(svc, err)
		return out, nil
	}
	if refusal := expiryRefusal(svc, m.now()); refusal != "" {
		out.Refusal = refusal
		return out, nil
	}
	held, err := m.held(ctx, "", svc.ID)
	if err != nil {
		return nil, err
	}
	tax, err := m.taxRate(ctx, settings, svc.UserID)
	if err != nil {
		return nil, err
	}
	q, err := m.quote(p, svc, settings, tax, held[p.ID])
	switch hostapi.CodeOf(err) {
	case "":
	case hostapi.CodeNotFound, hostapi.CodePrecondition, hostapi.CodeInvalid:
		out.Refusal = "Not offered to this service: " + sentence(message(err))
		return out, nil
	default:
		return nil, err
	}
	out.Lines = []previewLine{{Currency: svc.Currency, DueToday: web.Money(q.DueToday, svc.Currency),
		DueWhy:    strconv.Itoa(q.DaysLeft) + " of " + strconv.Itoa(q.DaysInCycle) + " days left",
		Recurring: web.Money(svc.Price.Add(q.RecurringIncrease), svc.Currency) + " " + per(svc.Cycle) + " (now " + web.Money(svc.Price, svc.Currency) + ")"}}
	return out, nil
}

// packageRow is one package in the console's list.
type packageRow struct {
	ID                                  uint64
	Name, Resource, Adds, Products, Cap string
	Prices                              []string
	Sort                                int
	Active                              bool
}

// packageList is the data of the list page.
type packageList struct {
	page
	Rows      []packageRow
	Total     int
	Resources []resourceOption
	Active    string
	Product   string
	Errors    formErrors
	Saved     string
}

// consolePackages is GET /console/packages: every package, filtered by
// resource, state and product.
func (m *Module) consolePackages(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	v := packageList{page: newPage(r, 0), Active: q.Get("active"), Product: strings.TrimSpace(q.Get("product"))}
	resource := q.Get("resource")
	v.Resources = append(v.Resources, resourceOption{Value: "", Label: "Any resource", Selected: resource == ""})
	known := resource == ""
	for _, c := range consoleResources {
		v.Resources = append(v.Resources, resourceOption{Value: string(c.Resource), Label: c.Label, Selected: string(c.Resource) == resource})
		known = known || string(c.Resource) == resource
	}
	if !known {
		v.Errors.add("resource", "Resource", "is not a resource packages add")
	}
	switch v.Active {
	case "", "yes", "no":
	default:
		v.Errors.add("active", "State", "must be any, active or disabled")
	}
	var product uint64
	if v.Product != "" {
		var err error
		if product, err = strconv.ParseUint(v.Product, 10, 64); err != nil || product == 0 {
			v.Errors.add("product", "Product", "must be a product id (a whole number)")
		}
	}
	ps, err := m.packages(ctx)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	v.Total = len(ps)
	status := http.StatusOK
	if len(v.Errors.List) > 0 {
		status = http.StatusUnprocessableEntity
		ps = nil
	}
	for _, p := range ps {
		switch {
		case resource != "" && string(p.Resource) != resource,
			v.Active == "yes" && !p.Active, v.Active == "no" && p.Active,
			product != 0 && p.ProductID != 0 && p.ProductID != product:
			continue
		}
		if saved := q.Get("saved"); saved == strconv.FormatUint(p.ID, 10) {
			v.Saved = p.Name
		}
		v.Rows = append(v.Rows, rowOf(p))
	}
	web.Render(w, r, status, shopTemplates, "console_packages.html", "Add-on packages", v)
}

func rowOf(p Package) packageRow {
	row := packageRow{ID: p.ID, Name: p.Name, Resource: resourceLabel(p.Resource), Adds: amountWords(p.Resource, p.Amount),
		Products: "Every product", Cap: "No cap", Sort: p.Sort, Active: p.Active}
	if p.ProductID != 0 {
		row.Products = "Product " + strconv.FormatUint(p.ProductID, 10)
	}
	if p.MaxPerService != 0 {
		row.Cap = strconv.Itoa(p.MaxPerService) + " per service"
	}
	curs := make([]string, 0, len(p.MonthlyPrices))
	for c := range p.MonthlyPrices {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	for _, c := range curs {
		row.Prices = append(row.Prices, web.Money(p.MonthlyPrices[c], c)+" / month")
	}
	return row
}
