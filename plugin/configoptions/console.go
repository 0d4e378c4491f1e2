package configoptions

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/web"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// The provider's console pages of the module: the option groups, a
// group's editor (options and values inline, one form that works without
// the script) and the option changes. Every write goes through the same
// code as the JSON admin API (createGroup, replaceGroup, deleteGroup,
// withdrawChange), so the rules and the audit entries have one home.

// groupsTab is one tab of the groups list.
type groupsTab struct {
	Label, Href string
	Current     bool
}

type groupsData struct {
	Base   string
	Tabs   []groupsTab
	Groups []groupSummary
}

// consoleGroups is GET /console/groups?mode=all|preset|byo.
func (m *Module) consoleGroups(w http.ResponseWriter, r *http.Request) {
	store, err := m.groups()
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	mode, err := parseModeFilter(r.URL.Query())
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	list, err := store.list(r.Context(), groupFilter{Mode: mode})
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	d := groupsData{Base: pageBase(r), Groups: list}
	for _, t := range []struct {
		label, q string
		mode     catalog.GroupMode
	}{{"All", "all", ""}, {"Preset", "preset", catalog.Preset}, {"Build-Your-Own", "byo", catalog.BuildYourOwn}} {
		d.Tabs = append(d.Tabs, groupsTab{Label: t.label, Href: d.Base + "console/groups?mode=" + t.q, Current: t.mode == mode})
	}
	web.Render(w, r, http.StatusOK, m.pages, "console-groups", "Option groups", d)
}

// Editor buttons: every one but "save" changes the form and saves nothing.
const (
	opField       = "op"
	opSave        = "save"
	opAddOption   = "add_option"
	opRemove      = "remove_option"
	opUp          = "move_up"
	opDown        = "move_down"
	opAddValue    = "add_value"
	opRemoveValue = "remove_value"
	opValueUp     = "value_up"
	opValueDown   = "value_down"
)

// editorData is the group editor page.
type editorData struct {
	Base, CSRF string
	// ID is the group's, 0 for a new one.
	ID       uint64
	Doc      groupDoc
	Products string
	Errors   []fieldError
	// Notice is a refusal that is no field's (a delete refused while
	// services hold options).
	Notice  string
	Saved   bool
	Keys    []string
	Types   []catalog.OptionType
	Preview []optionControl
	// errs are the messages placed at each field of the form.
	errs map[string]string
}

// Err is the message at field ("" for none).
func (d editorData) Err(field string) string { return d.errs[field] }

var optionTypes = []catalog.OptionType{catalog.Dropdown, catalog.Radio, catalog.Quantity, catalog.Checkbox, catalog.Text, catalog.Slider}

var priceTerms = []string{"monthly", "quarterly", "semi_annual", "annual", "hourly"}

// fieldID is a form field's element id: its name with only characters
// a fragment link keeps as they are.
func fieldID(name string) string {
	return strings.NewReplacer("[", "-", "]", "", ".", "-").Replace(name)
}

// consoleGroupNew is GET /console/groups/new: an empty preset group.
func (m *Module) consoleGroupNew(w http.ResponseWriter, r *http.Request) {
	doc := groupDoc{Mode: string(catalog.Preset)}
	m.renderEditor(w, r, http.StatusOK, 0, doc, nil, "")
}

// consoleGroupEdit is GET /console/groups/{id}.
func (m *Module) consoleGroupEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	doc, err := m.groupDocument(r, id)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	d := m.editor(r, id, doc, nil, "")
	d.Saved = r.URL.Query().Get("saved") == "1"
	web.Render(w, r, http.StatusOK, m.pages, "console-group-edit", editorTitle(doc), d)
}

func (m *Module) groupDocument(r *http.Request, id uint64) (groupDoc, error) {
	store, err := m.groups()
	if err != nil {
		return groupDoc{}, err
	}
	rec, counts, err := store.group(r.Context(), id)
	if err != nil {
		return groupDoc{}, err
	}
	if rec.Group.DeletedAt != nil {
		return groupDoc{}, hostapi.Errorf(hostapi.CodeNotFound, "no group %d (deleted)", id)
	}
	return groupView(rec, counts), nil
}

// pathID reads the {id} of the path; a bad one is not found.
func pathID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	s := r.PathValue("id")
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != s {
		hostapi.Fail(w, hostapi.Errorf(hostapi.CodeNotFound, "no such group"))
		return 0, false
	}
	return n, true
}

func editorTitle(doc groupDoc) string {
	if doc.ID == 0 {
		return "New option group"
	}
	return "Option group: " + doc.Name
}

// consoleGroupPost is POST /console/groups/new and /console/groups/{id}:
// a button of the form. "save" writes the group (every refusal shown at
// its field, nothing written); the others change the form and re-render
// it; a live request (the script) gets the preview alone.
func (m *Module) consoleGroupPost(w http.ResponseWriter, r *http.Request) {
	var id uint64
	if r.PathValue("id") != "" {
		var ok bool
		if id, ok = pathID(w, r); !ok {
			return
		}
	}
	v, err := web.Form(r)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	doc, products, parseErrs := parseEditor(v)
	doc.ID = id
	op := v.Get(opField)
	if web.Live(r) != "" || op != opSave {
		if err := editForm(&doc, op); err != nil {
			hostapi.Fail(w, err)
			return
		}
		m.renderEditorProducts(w, r, http.StatusOK, id, doc, products, nil, "")
		return
	}
	err = hostapi.JoinInvalid(parseErrs...)
	if err == nil {
		if id == 0 {
			id, err = m.createGroup(r.Context(), doc)
		} else {
			err = m.replaceGroup(r.Context(), id, doc)
		}
	} else {
		// Refused fields of the form itself, with the rules' refusals
		// of everything else, so every error shows at once.
		g, gerr := doc.group()
		err = hostapi.JoinInvalid(err, gerr, validate(g))
	}
	switch {
	case err == nil:
		web.SeeOther(w, pageBase(r)+"console/groups/"+strconv.FormatUint(id, 10)+"?saved=1")
	case hostapi.CodeOf(err) == hostapi.CodeInvalid:
		m.renderEditorProducts(w, r, http.StatusUnprocessableEntity, id, doc, products, catalog.Refusals(err), "")
	case userFacing(err):
		m.renderEditorProducts(w, r, hostapi.CodeOf(err).HTTPStatus(), id, doc, products, nil, errorMessage(err))
	default:
		hostapi.Fail(w, err)
	}
}

// consoleGroupDelete is POST /console/groups/{id}/delete. A refusal (the
// group still has selections) is shown on the editor, with its reason.
func (m *Module) consoleGroupDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	_, err := m.deleteGroup(r.Context(), id)
	switch {
	case err == nil:
		web.SeeOther(w, pageBase(r)+"console/groups")
	case hostapi.CodeOf(err) == hostapi.CodeConflict:
		doc, derr := m.groupDocument(r, id)
		if derr != nil {
			hostapi.Fail(w, derr)
			return
		}
		m.renderEditor(w, r, http.StatusConflict, id, doc, nil, errorMessage(err))
	default:
		hostapi.Fail(w, err)
	}
}

func (m *Module) renderEditor(w http.ResponseWriter, r *http.Request, status int, id uint64, doc groupDoc, refused []*hostapi.Error, notice string) {
	m.renderEditorProducts(w, r, status, id, doc, joinIDs(doc.ProductIDs), refused, notice)
}

func (m *Module) renderEditorProducts(w http.ResponseWriter, r *http.Request, status int, id uint64, doc groupDoc, products string, refused []*hostapi.Error, notice string) {
	d := m.editor(r, id, doc, refused, notice)
	d.Products = products
	name := "console-group-edit"
	if web.Live(r) != "" {
		name = "console-preview"
	}
	web.Render(w, r, status, m.pages, name, editorTitle(doc), d)
}

// editor is the page's data: the form as doc says, each refusal placed at
// the nearest field the form shows, and the preview.
func (m *Module) editor(r *http.Request, id uint64, doc groupDoc, refused []*hostapi.Error, notice string) editorData {
	doc.ID = id
	d := editorData{Base: pageBase(r), CSRF: web.CSRF(r), ID: id, Doc: doc, Products: joinIDs(doc.ProductIDs), Notice: notice,
		Keys: catalog.Keys(), Types: optionTypes, errs: map[string]string{}}
	slots := editorSlots(doc)
	for _, e := range refused {
		f := placeField(e.Field, slots)
		if d.errs[f] != "" {
			d.errs[f] += "; "
		}
		d.errs[f] += e.Message
	}
	// The summary lists them in the form's order.
	for _, f := range slots {
		if msg := d.errs[f]; msg != "" {
			d.Errors = append(d.Errors, fieldError{Field: fieldID(f), Label: slotLabel(doc, f), Message: msg})
		}
	}
	d.Preview = preview(doc)
	return d
}

// editorSlots is every field of the form that can show an error, in the
// form's order; "form" is the form as a whole.
func editorSlots(doc groupDoc) []string {
	out := []string{"form", "name", "description", "mode", "service_type", "product_ids", "id"}
	for i, o := range doc.Options {
		f := fmt.Sprintf("options[%d]", i)
		out = append(out, f, f+".id", f+".name", f+".type", f+".provisioning_key", f+".description", f+".min", f+".max", f+".step", f+".unit", f+".unit_prices")
		for _, t := range priceTerms {
			out = append(out, f+".unit_prices."+t)
		}
		out = append(out, f+".values")
		for j := range o.Values {
			vf := fmt.Sprintf("%s.values[%d]", f, j)
			out = append(out, vf, vf+".id", vf+".label", vf+".raw", vf+".default", vf+".prices")
			for _, t := range priceTerms {
				out = append(out, vf+".prices."+t)
			}
		}
	}
	return out
}

// placeField is the slot a refused field is shown at: the field itself,
// else the nearest enclosing one ("product_ids[2]" at "product_ids",
// "options[1].sort" at "options[1]"), else the form.
func placeField(field string, slots []string) string {
	for f := field; f != ""; {
		if slices.Contains(slots, f) {
			return f
		}
		i := strings.LastIndexAny(f, ".[")
		if i <= 0 {
			break
		}
		f = f[:i]
	}
	return "form"
}

// slotLabel names a field in the error summary: "Option 2 (RAM): max".
func slotLabel(doc groupDoc, f string) string {
	var i, j int
	if n, _ := fmt.Sscanf(f, "options[%d].values[%d]", &i, &j); n == 2 && i < len(doc.Options) {
		rest := strings.TrimPrefix(f, fmt.Sprintf("options[%d].values[%d]", i, j))
		return fmt.Sprintf("Option %d, value %d%s", i+1, j+1, labelRest(rest))
	}
	if n, _ := fmt.Sscanf(f, "options[%d]", &i); n == 1 && i < len(doc.Options) {
		rest := strings.TrimPrefix(f, fmt.Sprintf("options[%d]", i))
		name := doc.Options[i].Name
		if name == "" {
			name = "unnamed"
		}
		return fmt.Sprintf("Option %d (%s)%s", i+1, name, labelRest(rest))
	}
	if f == "form" {
		return "Group"
	}
	words := strings.ReplaceAll(f, "_", " ")
	return strings.ToUpper(words[:1]) + words[1:]
}

func labelRest(rest string) string {
	rest = strings.TrimPrefix(rest, ".")
	if rest == "" {
		return ""
	}
	return ": " + strings.ReplaceAll(strings.ReplaceAll(rest, "_", " "), ".", " ")
}

// preview is the group as a client's form shows it, with the client's own
// controls: options not saved yet get stand-in ids.
func preview(doc groupDoc) []optionControl {
	g, _ := doc.group()
	next := uint64(1 << 40)
	for i := range g.Options {
		if g.Options[i].ID == 0 {
			next++
			g.Options[i].ID = next
		}
		for j := range g.Options[i].Values {
			if g.Options[i].Values[j].ID == 0 {
				next++
				g.Options[i].Values[j].ID = next
			}
		}
	}
	return controls([]catalog.Group{g}, nil, catalog.Monthly, "", nil)
}

func joinIDs(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatUint(id, 10)
	}
	return strings.Join(s, ", ")
}

// parseEditor reads the editor's form into a document, with a refusal for
// each field that is not even the right kind (a number that is not one).
// The options and values keep the order of the form; their sort is their
// position.
func parseEditor(v url.Values) (groupDoc, string, []error) {
	var errs []error
	doc := groupDoc{Name: v.Get("name"), Description: v.Get("description"), Mode: v.Get("mode"), Options: []optionDoc{}}
	if st := strings.TrimSpace(v.Get("service_type")); st != "" {
		doc.ServiceType = &st
	}
	active := v.Get("active") != ""
	doc.Active = &active
	products := v.Get("product_ids")
	for _, p := range strings.FieldsFunc(products, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil || n == 0 {
			errs = append(errs, hostapi.Invalid("product_ids", "%q is not a product id: list ids such as 3, 7", p))
			continue
		}
		doc.ProductIDs = append(doc.ProductIDs, n)
	}
	num := func(field string) int64 {
		s := strings.TrimSpace(v.Get(field))
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			errs = append(errs, hostapi.Invalid(field, "%q is not a whole number", s))
		}
		return n
	}
	prices := func(field string) pricesDoc {
		get := func(t string) *string {
			s := strings.TrimSpace(v.Get(field + "." + t))
			if s == "" {
				return nil
			}
			return &s
		}
		return pricesDoc{Monthly: get("monthly"), Quarterly: get("quarterly"), SemiAnnual: get("semi_annual"), Annual: get("annual"), Hourly: get("hourly")}
	}
	for i := 0; v.Has(fmt.Sprintf("options[%d].id", i)); i++ {
		f := fmt.Sprintf("options[%d]", i)
		oActive := v.Get(f+".active") != ""
		o := optionDoc{
			ID: uint64(num(f + ".id")), Name: v.Get(f + ".name"), Description: v.Get(f + ".description"), Type: v.Get(f + ".type"),
			ProvisioningKey: v.Get(f + ".provisioning_key"), Required: v.Get(f+".required") != "", Active: &oActive,
			Min: num(f + ".min"), Max: num(f + ".max"), Step: num(f + ".step"), Unit: v.Get(f + ".unit"),
			UnitPrices: prices(f + ".unit_prices"), Sort: i, Values: []valueDoc{},
		}
		for j := 0; v.Has(fmt.Sprintf("%s.values[%d].id", f, j)); j++ {
			vf := fmt.Sprintf("%s.values[%d]", f, j)
			vActive := v.Get(vf+".active") != ""
			o.Values = append(o.Values, valueDoc{
				ID: uint64(num(vf + ".id")), Label: v.Get(vf + ".label"), Raw: v.Get(vf + ".raw"), Prices: prices(vf + ".prices"),
				Default: v.Get(vf+".default") != "", Active: &vActive, Sort: j,
			})
		}
		doc.Options = append(doc.Options, o)
	}
	return doc, products, errs
}

// editForm applies a button other than "save" to the form: "add_option",
// "remove_option=2", "move_up=2", "add_value=2", "remove_value=2.1"...
func editForm(doc *groupDoc, op string) error {
	name, arg, _ := strings.Cut(op, "=")
	if name == opAddOption {
		on := true
		doc.Options = append(doc.Options, optionDoc{Type: string(catalog.Dropdown), Active: &on, Values: []valueDoc{{Active: &on}}})
		return nil
	}
	if name == "" || name == opSave {
		return nil
	}
	i, j := -1, -1
	a, b, two := strings.Cut(arg, ".")
	if n, err := strconv.Atoi(a); err == nil && n >= 0 && n < len(doc.Options) {
		i = n
	}
	if i < 0 {
		return hostapi.Invalid(opField, "the form changed meanwhile: option %q is not on it", arg)
	}
	o := &doc.Options[i]
	if two {
		if n, err := strconv.Atoi(b); err == nil && n >= 0 && n < len(o.Values) {
			j = n
		}
		if j < 0 {
			return hostapi.Invalid(opField, "the form changed meanwhile: value %q is not on it", arg)
		}
	}
	switch name {
	case opRemove:
		doc.Options = slices.Delete(doc.Options, i, i+1)
	case opUp:
		if i > 0 {
			doc.Options[i-1], doc.Options[i] = doc.Options[i], doc.Options[i-1]
		}
	case opDown:
		if i+1 < len(doc.Options) {
			doc.Options[i+1], doc.Options[i] = doc.Options[i], doc.Options[i+1]
		}
	case opAddValue:
		on := true
		o.Values = append(o.Values, valueDoc{Active: &on})
	case opRemoveValue, opValueUp, opValueDown:
		if !two {
			return hostapi.Invalid(opField, "%q names no value", op)
		}
		switch {
		case name == opRemoveValue:
			o.Values = slices.Delete(o.Values, j, j+1)
		case name == opValueUp && j > 0:
			o.Values[j-1], o.Values[j] = o.Values[j], o.Values[j-1]
		case name == opValueDown && j+1 < len(o.Values):
			o.Values[j+1], o.Values[j] = o.Values[j], o.Values[j+1]
		}
	default:
		return hostapi.Invalid(opField, "unknown button %q", op)
	}
	return nil
}

// consoleInput is one labelled input of the editor with its refusal.
type consoleInput struct {
	Name, Label, Value, Kind, Msg string
}

// consolePrices is the five price columns of an option or value.
type consolePrices struct {
	Cells []consoleInput
}

// consoleFuncs are the editor's template helpers.
var consoleFuncs = template.FuncMap{
	"fid": fieldID,
	"inc": func(i int) int { return i + 1 },
	"field": func(d editorData, name, label, value, kind string) consoleInput {
		return consoleInput{Name: name, Label: label, Value: value, Kind: kind, Msg: d.Err(name)}
	},
	"msg": func(field, msg string) consoleInput { return consoleInput{Name: field, Msg: msg} },
	"prices": func(d editorData, field string, p pricesDoc) consolePrices {
		labels := map[string]string{"monthly": "Monthly", "quarterly": "Quarterly", "semi_annual": "Semi-annual", "annual": "Annual", "hourly": "Hourly"}
		values := map[string]*string{"monthly": p.Monthly, "quarterly": p.Quarterly, "semi_annual": p.SemiAnnual, "annual": p.Annual, "hourly": p.Hourly}
		var out consolePrices
		for _, t := range priceTerms {
			name := field + "." + t
			c := consoleInput{Name: name, Label: labels[t], Msg: d.Err(name)}
			if v := values[t]; v != nil {
				c.Value = *v
			}
			out.Cells = append(out.Cells, c)
		}
		return out
	},
	"deref": func(v any) any {
		switch p := v.(type) {
		case *string:
			if p == nil {
				return ""
			}
			return *p
		case *bool:
			return p != nil && *p
		}
		return v
	},
}
