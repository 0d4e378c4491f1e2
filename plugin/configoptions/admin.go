package configoptions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// groupDoc is a group as the admin API reads and writes it: GET returns it,
// POST and PUT take it. Read-only fields (created_at, updated_at, the
// selection counts) are accepted and ignored, so an admin UI can send back
// what it read; any other unknown field is refused. Field names follow the
// catalog's, so the field of a catalog.ValidateGroup error
// ("options[2].values[0].default") points into this document.
type groupDoc struct {
	ID          uint64      `json:"id,omitempty"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Mode        string      `json:"mode"`
	ServiceType *string     `json:"service_type"`
	Active      *bool       `json:"active"`
	Sort        int         `json:"sort"`
	ProductIDs  []uint64    `json:"product_ids"`
	Options     []optionDoc `json:"options"`
	CreatedAt   *time.Time  `json:"created_at,omitempty"`
	UpdatedAt   *time.Time  `json:"updated_at,omitempty"`
}

type optionDoc struct {
	ID              uint64     `json:"id,omitempty"`
	Name            string     `json:"name"`
	Description     string     `json:"description"`
	Type            string     `json:"type"`
	ProvisioningKey string     `json:"provisioning_key"`
	Required        bool       `json:"required"`
	Active          *bool      `json:"active"`
	Min             int64      `json:"min"`
	Max             int64      `json:"max"`
	Step            int64      `json:"step"`
	Unit            string     `json:"unit"`
	UnitPrices      pricesDoc  `json:"unit_prices"`
	Sort            int        `json:"sort"`
	Values          []valueDoc `json:"values"`
	// Selections is read-only: how many services hold the option.
	Selections int64 `json:"selections"`
}

type valueDoc struct {
	ID      uint64    `json:"id,omitempty"`
	Label   string    `json:"label"`
	Raw     string    `json:"raw"`
	Prices  pricesDoc `json:"prices"`
	Default bool      `json:"default"`
	Active  *bool     `json:"active"`
	Sort    int       `json:"sort"`
	// Selections is read-only: how many services hold the value.
	Selections int64 `json:"selections"`
}

// pricesDoc carries prices as decimal strings ("2.00"; hourly "0.0015"),
// never JSON numbers, which would pass through binary floating point. null
// or absent means "not offered on that cycle".
type pricesDoc struct {
	Hourly     *string `json:"hourly"`
	Monthly    *string `json:"monthly"`
	Quarterly  *string `json:"quarterly"`
	SemiAnnual *string `json:"semi_annual"`
	Annual     *string `json:"annual"`
}

// groupSummaryDoc is one group of the admin list.
type groupSummaryDoc struct {
	ID             uint64    `json:"id"`
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	Mode           string    `json:"mode"`
	ServiceType    *string   `json:"service_type"`
	Active         bool      `json:"active"`
	Sort           int       `json:"sort"`
	ProductIDs     []uint64  `json:"product_ids"`
	OptionCount    int64     `json:"option_count"`
	ValueCount     int64     `json:"value_count"`
	SelectionCount int64     `json:"selection_count"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Decimal places of the price columns: DECIMAL(17,4) for hourly prices,
// DECIMAL(17,2) for the others.
const (
	hourlyPlaces = 4
	cyclePlaces  = money.Places
)

// parsePrice reads a price with money.ParseScale, the one price syntax: a
// plain decimal that fits DECIMAL(17, places) exactly (more decimals are
// refused, not rounded, so what is stored is what was sent). A negative
// price parses here and is refused by catalog.ValidateGroup, by field.
func parsePrice(field string, s *string, places int32) (*decimal.Decimal, error) {
	if s == nil {
		return nil, nil
	}
	d, err := money.ParseScale(*s, places)
	if err != nil {
		return nil, hostapi.Invalid(field, "must be a decimal string such as \"2.00\": %v", err)
	}
	return &d, nil
}

func (p pricesDoc) prices(field string) (catalog.Prices, error) {
	var (
		out  catalog.Prices
		errs [5]error
	)
	out.Hourly, errs[0] = parsePrice(field+".hourly", p.Hourly, hourlyPlaces)
	out.Monthly, errs[1] = parsePrice(field+".monthly", p.Monthly, cyclePlaces)
	out.Quarterly, errs[2] = parsePrice(field+".quarterly", p.Quarterly, cyclePlaces)
	out.SemiAnnual, errs[3] = parsePrice(field+".semi_annual", p.SemiAnnual, cyclePlaces)
	out.Annual, errs[4] = parsePrice(field+".annual", p.Annual, cyclePlaces)
	return out, hostapi.JoinInvalid(errs[:]...)
}

func formatPrice(d *decimal.Decimal, places int32) *string {
	if d == nil {
		return nil
	}
	s := d.StringFixed(places)
	return &s
}

func pricesView(p catalog.Prices) pricesDoc {
	return pricesDoc{
		Hourly: formatPrice(p.Hourly, hourlyPlaces), Monthly: formatPrice(p.Monthly, cyclePlaces), Quarterly: formatPrice(p.Quarterly, cyclePlaces),
		SemiAnnual: formatPrice(p.SemiAnnual, cyclePlaces), Annual: formatPrice(p.Annual, cyclePlaces),
	}
}

// activeOr is an "active" flag that defaults to true when not sent: a new
// group, option or value is offered unless said otherwise.
func activeOr(b *bool) bool { return b == nil || *b }

// group turns the document into the domain group, parsing prices. Ids are
// kept; the caller decides whether they are allowed. Every price that does
// not parse is reported at once (hostapi.JoinInvalid), with the group as
// far as it could be read.
func (d groupDoc) group() (catalog.Group, error) {
	g := catalog.Group{
		ID: d.ID, Name: d.Name, Description: d.Description, Mode: catalog.GroupMode(d.Mode), Active: activeOr(d.Active),
		Sort: d.Sort, ProductIDs: d.ProductIDs,
	}
	if d.ServiceType != nil {
		g.ServiceType = *d.ServiceType
	}
	var errs []error
	for i, od := range d.Options {
		field := fmt.Sprintf("options[%d]", i)
		unit, err := od.UnitPrices.prices(field + ".unit_prices")
		errs = append(errs, err)
		o := catalog.Option{
			ID: od.ID, GroupID: d.ID, Name: od.Name, Description: od.Description, Type: catalog.OptionType(od.Type),
			ProvisioningKey: od.ProvisioningKey, Required: od.Required, Active: activeOr(od.Active),
			Min: od.Min, Max: od.Max, Step: od.Step, Unit: od.Unit, UnitPrices: unit, Sort: od.Sort,
		}
		for j, vd := range od.Values {
			prices, err := vd.Prices.prices(fmt.Sprintf("%s.values[%d].prices", field, j))
			errs = append(errs, err)
			o.Values = append(o.Values, catalog.Value{
				ID: vd.ID, OptionID: od.ID, Label: vd.Label, Raw: vd.Raw, Prices: prices, Default: vd.Default,
				Active: activeOr(vd.Active), Sort: vd.Sort,
			})
		}
		g.Options = append(g.Options, o)
	}
	return g, hostapi.JoinInvalid(errs...)
}

// groupView is the admin's document of a stored group. Soft-deleted values
// are left out: they exist only for the selections that hold them.
func groupView(rec groupRecord, counts selectionCounts) groupDoc {
	g := rec.Group
	d := groupDoc{
		ID: g.ID, Name: g.Name, Description: g.Description, Mode: string(g.Mode), ServiceType: optionalString(g.ServiceType),
		Active: &g.Active, Sort: g.Sort, ProductIDs: nonNil(g.ProductIDs), Options: []optionDoc{},
		CreatedAt: &rec.CreatedAt, UpdatedAt: &rec.UpdatedAt,
	}
	for _, o := range g.Options {
		od := optionDoc{
			ID: o.ID, Name: o.Name, Description: o.Description, Type: string(o.Type), ProvisioningKey: o.ProvisioningKey,
			Required: o.Required, Active: &o.Active, Min: o.Min, Max: o.Max, Step: o.Step, Unit: o.Unit,
			UnitPrices: pricesView(o.UnitPrices), Sort: o.Sort, Values: []valueDoc{}, Selections: counts.ByOption[o.ID],
		}
		for _, v := range o.Values {
			if v.Deleted {
				continue
			}
			od.Values = append(od.Values, valueDoc{
				ID: v.ID, Label: v.Label, Raw: v.Raw, Prices: pricesView(v.Prices), Default: v.Default, Active: &v.Active,
				Sort: v.Sort, Selections: counts.ByValue[v.ID],
			})
		}
		d.Options = append(d.Options, od)
	}
	return d
}

func summaryView(s groupSummary) groupSummaryDoc {
	g := s.Group
	return groupSummaryDoc{
		ID: g.ID, Name: g.Name, Description: g.Description, Mode: string(g.Mode), ServiceType: optionalString(g.ServiceType),
		Active: g.Active, Sort: g.Sort, ProductIDs: nonNil(g.ProductIDs), OptionCount: s.OptionCount, ValueCount: s.ValueCount,
		SelectionCount: s.SelectionCount, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// validate runs the catalog's rules and the columns' limits on g, and
// reports every refusal of either at once. An untyped error from them is
// still the caller's input at fault: it becomes CodeInvalid.
func validate(g catalog.Group) error {
	err := catalog.ValidateGroup(g)
	if err != nil {
		var typed *hostapi.Error
		if !errors.As(err, &typed) {
			return hostapi.Errorf(hostapi.CodeInvalid, "group: %w", err)
		}
	}
	return hostapi.JoinInvalid(err, checkStorable(g))
}

// checkNew refuses ids in a group to create: the server assigns them, and an
// id sent here is a document copied from another group by mistake.
func checkNew(g catalog.Group) error {
	if g.ID != 0 {
		return hostapi.Invalid("id", "a new group has no id")
	}
	for i, o := range g.Options {
		if o.ID != 0 {
			return hostapi.Invalid(fmt.Sprintf("options[%d].id", i), "a new option has no id")
		}
		for j, v := range o.Values {
			if v.ID != 0 {
				return hostapi.Invalid(fmt.Sprintf("options[%d].values[%d].id", i, j), "a new value has no id")
			}
		}
	}
	return nil
}

// parseModeFilter reads ?mode=all|preset|byo (build_your_own is accepted
// too); all or absent lists every mode.
func parseModeFilter(q map[string][]string) (catalog.GroupMode, error) {
	switch v := first(q, "mode"); v {
	case "", "all":
		return "", nil
	case "preset":
		return catalog.Preset, nil
	case "byo", string(catalog.BuildYourOwn):
		return catalog.BuildYourOwn, nil
	default:
		return "", hostapi.Invalid("mode", "must be all, preset or byo, not %q", v)
	}
}

// parseActiveFilter reads ?active=true|false; absent lists both.
func parseActiveFilter(q map[string][]string) (*bool, error) {
	v := first(q, "active")
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, hostapi.Invalid("active", "must be true or false, not %q", v)
	}
	return &b, nil
}

func first(q map[string][]string, key string) string {
	if vs := q[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// adminListGroups serves GET /admin/groups?mode=all|preset|byo&active=true|false.
func (m *Module) adminListGroups(ctx context.Context, req hostapi.HTTPRequest, _ uint64) (int, any, error) {
	store, err := m.groups()
	if err != nil {
		return 0, nil, err
	}
	var f groupFilter
	if f.Mode, err = parseModeFilter(req.Query); err != nil {
		return 0, nil, err
	}
	if f.Active, err = parseActiveFilter(req.Query); err != nil {
		return 0, nil, err
	}
	groups, err := store.list(ctx, f)
	if err != nil {
		return 0, nil, err
	}
	out := make([]groupSummaryDoc, len(groups))
	for i, g := range groups {
		out[i] = summaryView(g)
	}
	return http.StatusOK, map[string]any{"groups": out}, nil
}

// adminGetGroup serves GET /admin/groups/{id}. A deleted group is not found.
func (m *Module) adminGetGroup(ctx context.Context, _ hostapi.HTTPRequest, id uint64) (int, any, error) {
	store, err := m.groups()
	if err != nil {
		return 0, nil, err
	}
	return m.respondGroup(ctx, store, http.StatusOK, id)
}

func (m *Module) respondGroup(ctx context.Context, store *groupStore, status int, id uint64) (int, any, error) {
	rec, counts, err := store.group(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	if rec.Group.DeletedAt != nil {
		return 0, nil, hostapi.Errorf(hostapi.CodeNotFound, "no group %d (deleted)", id)
	}
	return status, groupView(rec, counts), nil
}

// adminCreateGroup serves POST /admin/groups: the group with its options
// and values, validated, written in one transaction.
func (m *Module) adminCreateGroup(ctx context.Context, req hostapi.HTTPRequest, _ uint64) (int, any, error) {
	var doc groupDoc
	if err := hostapi.DecodeJSON(req.Body, &doc); err != nil {
		return 0, nil, err
	}
	id, err := m.createGroup(ctx, doc)
	if err != nil {
		return 0, nil, err
	}
	store, err := m.groups()
	if err != nil {
		return 0, nil, err
	}
	return m.respondGroup(ctx, store, http.StatusCreated, id)
}

// createGroup is the one way a group is created (the JSON API and the
// console): every refusal of the document at once, else the group with
// its options and values and its audit entry in one transaction.
func (m *Module) createGroup(ctx context.Context, doc groupDoc) (uint64, error) {
	defer m.forgetCatalog() // this replica quotes the new catalog at once
	store, err := m.groups()
	if err != nil {
		return 0, err
	}
	g, err := doc.group()
	if err = hostapi.JoinInvalid(err, checkNew(g), validate(g)); err != nil {
		return 0, err
	}
	return store.create(ctx, g)
}

// adminReplaceGroup serves PUT /admin/groups/{id}: the whole group as it
// should be (see groupStore.replace for what happens to what is left out).
func (m *Module) adminReplaceGroup(ctx context.Context, req hostapi.HTTPRequest, id uint64) (int, any, error) {
	var doc groupDoc
	if err := hostapi.DecodeJSON(req.Body, &doc); err != nil {
		return 0, nil, err
	}
	if err := m.replaceGroup(ctx, id, doc); err != nil {
		return 0, nil, err
	}
	store, err := m.groups()
	if err != nil {
		return 0, nil, err
	}
	return m.respondGroup(ctx, store, http.StatusOK, id)
}

// replaceGroup is the one way a group is changed (the JSON API and the
// console): every refusal at once, else the replacement and its audit
// entry in one transaction.
func (m *Module) replaceGroup(ctx context.Context, id uint64, doc groupDoc) error {
	defer m.forgetCatalog() // this replica quotes the new catalog at once
	store, err := m.groups()
	if err != nil {
		return err
	}
	if doc.ID != 0 && doc.ID != id {
		return hostapi.Invalid("id", "the body's id %d is not the path's %d", doc.ID, id)
	}
	doc.ID = id
	g, err := doc.group()
	if err = hostapi.JoinInvalid(err, validate(g)); err != nil {
		return err
	}
	return store.replace(ctx, g)
}

// adminDeleteGroup serves DELETE /admin/groups/{id}: a soft delete, refused
// while services hold any of the group's options.
func (m *Module) adminDeleteGroup(ctx context.Context, _ hostapi.HTTPRequest, id uint64) (int, any, error) {
	at, err := m.deleteGroup(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": id, "deleted_at": at}, nil
}

// deleteGroup soft-deletes group id (see groupStore.softDelete).
func (m *Module) deleteGroup(ctx context.Context, id uint64) (time.Time, error) {
	defer m.forgetCatalog() // this replica quotes the new catalog at once
	store, err := m.groups()
	if err != nil {
		return time.Time{}, err
	}
	return store.softDelete(ctx, id)
}

// seedGroupDoc reports one group of a seed.
type seedGroupDoc struct {
	ID      uint64 `json:"id"`
	Name    string `json:"name"`
	Mode    string `json:"mode"`
	Created bool   `json:"created"`
}

// adminSeed serves POST /admin/seed: it creates the catalog's example groups
// that do not exist yet (same name and mode, not deleted), all in one
// transaction. Seeding again changes nothing.
func (m *Module) adminSeed(ctx context.Context, req hostapi.HTTPRequest, _ uint64) (int, any, error) {
	defer m.forgetCatalog() // this replica quotes the new catalog at once
	store, err := m.groups()
	if err != nil {
		return 0, nil, err
	}
	if len(bytes.TrimSpace(req.Body)) > 0 {
		// Nothing to configure yet; a body is a mistaken request.
		var none struct{}
		if err := hostapi.DecodeJSON(req.Body, &none); err != nil {
			return 0, nil, err
		}
	}
	groups := catalog.SeedGroups()
	for i, g := range groups {
		if err := checkNew(g); err != nil {
			return 0, nil, hostapi.Errorf(hostapi.CodeInternal, "seed group %d (%q): %w", i, g.Name, err)
		}
		if err := validate(g); err != nil {
			// The seed is ours, not the caller's: a seed that fails
			// validation is a bug.
			return 0, nil, hostapi.Errorf(hostapi.CodeInternal, "seed group %d (%q) is invalid: %w", i, g.Name, err)
		}
	}
	outcomes, err := store.seed(ctx, groups)
	if err != nil {
		return 0, nil, err
	}
	out := make([]seedGroupDoc, len(outcomes))
	created := 0
	for i, o := range outcomes {
		out[i] = seedGroupDoc{ID: o.ID, Name: o.Name, Mode: string(o.Mode), Created: o.Created}
		if o.Created {
			created++
		}
	}
	return http.StatusOK, map[string]any{"groups": out, "created": created}, nil
}
