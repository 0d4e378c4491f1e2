package configoptions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/upsell-io/upsell/adapters/paymenter"
	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/hostapitest"
	"github.com/upsell-io/upsell/internal/host"
	"github.com/upsell-io/upsell/internal/migrate"
	"github.com/upsell-io/upsell/internal/testdb"
	"github.com/upsell-io/upsell/plugin/configoptions"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// fixture is a Paymenter database with the host's and the module's tables,
// and the module served in-process over a real broker with the real host
// API of that database.
type fixture struct {
	t      *testing.T
	db     *testdb.DB
	seeded schema.Seeded
	module *hostapi.ModuleClient
	info   hostapi.ModuleInfo
}

var admin = hostapi.Principal{Kind: hostapi.Admin}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := testdb.New(t)
	if err := schema.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	seeded, err := schema.Seed(ctx, db, schema.SeedOptions{Timezone: "Europe/Berlin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Host(ctx, db.DB.DB); err != nil {
		t.Fatal(err)
	}
	binding, err := paymenter.New(ctx, db.DB, paymenter.Config{BaseURL: "https://panel.example"})
	if err != nil {
		t.Fatal(err)
	}
	svcs := host.New(host.Deps{DB: db.DB, Panel: binding}, configoptions.Name, configoptions.TablePrefix)
	t.Cleanup(svcs.Close)
	mc := hostapitest.InProcessModule(t, configoptions.New(), svcs.Host(), nil)
	// Describe over the wire, as the daemon collects migrations.
	info, err := mc.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Module(ctx, db.DB.DB, info.Name, info.Migrations); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, db: db, seeded: seeded, module: mc, info: info}
}

// call sends one request as p and returns the status and body, or the
// module's typed error.
func (f *fixture) call(p hostapi.Principal, method, path string, body any, query map[string][]string) (int, []byte, error) {
	f.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			f.t.Fatal(err)
		}
	}
	resp, err := f.module.HandleHTTP(context.Background(), hostapi.HTTPRequest{Method: method, Path: path, Body: raw, Query: query, Principal: p})
	return resp.Status, resp.Body, err
}

// ok calls as admin and fails the test unless the answer has status want;
// it decodes the body into out when out is not nil.
func (f *fixture) ok(want int, method, path string, body any, out any) {
	f.t.Helper()
	status, raw, err := f.call(admin, method, path, body, nil)
	if err != nil || status != want {
		f.t.Fatalf("%s %s: %d %s %v; want %d", method, path, status, raw, err, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			f.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// refused calls as admin and fails the test unless the module answers an
// error of code want; it returns the error.
func (f *fixture) refused(want hostapi.Code, method, path string, body any) error {
	f.t.Helper()
	status, raw, err := f.call(admin, method, path, body, nil)
	if hostapi.CodeOf(err) != want {
		f.t.Fatalf("%s %s: %d %s %v; want %s", method, path, status, raw, err, want)
	}
	return err
}

// snapshot is the content of every table of the module, for "nothing
// changed" assertions.
func (f *fixture) snapshot() string {
	f.t.Helper()
	return f.snapshotOf("groups", "group_products", "options", "values", "selections", "checkouts")
}

func (f *fixture) snapshotOf(tables ...string) string {
	f.t.Helper()
	var b strings.Builder
	for _, table := range tables {
		rows, err := f.db.Queryx("SELECT * FROM ext_configoptions_" + table + " ORDER BY 1, 2")
		if err != nil {
			f.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:\n", table)
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				f.t.Fatal(err)
			}
			for i, v := range vals {
				if raw, ok := v.([]byte); ok {
					vals[i] = string(raw)
				}
			}
			fmt.Fprintf(&b, "  %v\n", vals)
		}
		if err := rows.Err(); err != nil {
			f.t.Fatal(err)
		}
		rows.Close()
	}
	return b.String()
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.Get(&n, query, args...); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// selectValue records that service holds value of option, as the checkout
// will; written directly while there is no checkout yet.
func (f *fixture) selectValue(service, option, value uint64) {
	f.t.Helper()
	if _, err := f.db.Exec(`INSERT INTO ext_configoptions_selections (service_id, option_id, value_id, locked_price, locked_hourly,
cycle_type, cycle_period, cycle_unit, custom_build, created_at, updated_at) VALUES (?, ?, ?, '2.00', '0.0030', 'recurring', 1, 'month', 0, NOW(), NOW())`,
		service, option, value); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) selectQuantity(service, option uint64, quantity int64) {
	f.t.Helper()
	if _, err := f.db.Exec(`INSERT INTO ext_configoptions_selections (service_id, option_id, quantity, locked_price, locked_hourly,
cycle_type, cycle_period, cycle_unit, custom_build, created_at, updated_at) VALUES (?, ?, ?, '4.00', '0.0060', 'recurring', 1, 'month', 1, NOW(), NOW())`,
		service, option, quantity); err != nil {
		f.t.Fatal(err)
	}
}

// The JSON documents, as an admin UI sends and reads them.
type prices struct {
	Hourly     *string `json:"hourly"`
	Monthly    *string `json:"monthly"`
	Quarterly  *string `json:"quarterly"`
	SemiAnnual *string `json:"semi_annual"`
	Annual     *string `json:"annual"`
}

type value struct {
	ID         uint64 `json:"id,omitempty"`
	Label      string `json:"label"`
	Raw        string `json:"raw"`
	Prices     prices `json:"prices"`
	Default    bool   `json:"default"`
	Active     *bool  `json:"active,omitempty"`
	Sort       int    `json:"sort"`
	Selections int64  `json:"selections,omitempty"`
}

type option struct {
	ID              uint64  `json:"id,omitempty"`
	Name            string  `json:"name"`
	Description     string  `json:"description"`
	Type            string  `json:"type"`
	ProvisioningKey string  `json:"provisioning_key"`
	Required        bool    `json:"required"`
	Active          *bool   `json:"active,omitempty"`
	Min             int64   `json:"min"`
	Max             int64   `json:"max"`
	Step            int64   `json:"step"`
	Unit            string  `json:"unit"`
	UnitPrices      prices  `json:"unit_prices"`
	Sort            int     `json:"sort"`
	Values          []value `json:"values"`
	Selections      int64   `json:"selections,omitempty"`
}

type group struct {
	ID          uint64   `json:"id,omitempty"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Mode        string   `json:"mode"`
	ServiceType *string  `json:"service_type"`
	Active      *bool    `json:"active,omitempty"`
	Sort        int      `json:"sort"`
	ProductIDs  []uint64 `json:"product_ids"`
	Options     []option `json:"options"`
	CreatedAt   string   `json:"created_at,omitempty"`
	UpdatedAt   string   `json:"updated_at,omitempty"`
}

type summary struct {
	ID             uint64   `json:"id"`
	Name           string   `json:"name"`
	Mode           string   `json:"mode"`
	Active         bool     `json:"active"`
	ProductIDs     []uint64 `json:"product_ids"`
	OptionCount    int64    `json:"option_count"`
	ValueCount     int64    `json:"value_count"`
	SelectionCount int64    `json:"selection_count"`
}

func str(s string) *string { return &s }
func boolean(b bool) *bool { return &b }

func monthly(s string) prices { return prices{Monthly: str(s)} }

// gameExtras is a preset group: a location dropdown and extra RAM by the GB.
func gameExtras(productID uint64) group {
	return group{
		Name: "Game server extras", Description: "Options for every game server", Mode: "preset", ProductIDs: []uint64{productID}, Sort: 1,
		Options: []option{
			{Name: "Location", Type: "dropdown", Required: true, Values: []value{
				{Label: "Frankfurt", Raw: "fra", Default: true, Prices: monthly("0.00")},
				{Label: "Helsinki", Raw: "hel", Prices: prices{Hourly: str("0.0015"), Monthly: str("1.00"), Annual: str("10.00")}, Sort: 1},
			}},
			{Name: "Extra RAM", Type: "quantity", ProvisioningKey: "ram_gb", Min: 0, Max: 16, Step: 1, Unit: "GB", Sort: 1,
				UnitPrices: prices{Hourly: str("0.0030"), Monthly: str("2.00"), Quarterly: str("5.70")}},
		},
	}
}

// vps is a Build-Your-Own group.
func vps() group {
	return group{
		Name: "VPS", Mode: "build_your_own", ServiceType: str("vps"), Sort: 2,
		Options: []option{
			{Name: "Cores", Type: "slider", ProvisioningKey: "cpu_cores", Required: true, Min: 1, Max: 16, Step: 1, Unit: "cores",
				UnitPrices: prices{Hourly: str("0.0040"), Monthly: str("3.00")}},
		},
	}
}

func (f *fixture) create(g group) group {
	f.t.Helper()
	var out group
	f.ok(http.StatusCreated, "POST", "/admin/groups", g, &out)
	return out
}

func (f *fixture) get(id uint64) group {
	f.t.Helper()
	var out group
	f.ok(http.StatusOK, "GET", fmt.Sprintf("/admin/groups/%d", id), nil, &out)
	return out
}

func (f *fixture) list(query map[string][]string) []summary {
	f.t.Helper()
	status, raw, err := f.call(admin, "GET", "/admin/groups", nil, query)
	if err != nil || status != http.StatusOK {
		f.t.Fatalf("list %v: %d %s %v", query, status, raw, err)
	}
	var out struct{ Groups []summary }
	if err := json.Unmarshal(raw, &out); err != nil {
		f.t.Fatal(err)
	}
	return out.Groups
}

func path(id uint64) string { return fmt.Sprintf("/admin/groups/%d", id) }

func TestCreateReadUpdateRoundTrip(t *testing.T) {
	f := setup(t)
	created := f.create(gameExtras(f.seeded.ProductID))

	if created.ID == 0 || len(created.Options) != 2 || created.Options[0].ID == 0 || len(created.Options[0].Values) != 2 || created.Options[0].Values[1].ID == 0 {
		t.Fatalf("ids not assigned: %+v", created)
	}
	if !reflect.DeepEqual(created.ProductIDs, []uint64{f.seeded.ProductID}) || created.ServiceType != nil || created.Active == nil || !*created.Active {
		t.Fatalf("group fields: %+v", created)
	}
	hel := created.Options[0].Values[1]
	wantHel := prices{Hourly: str("0.0015"), Monthly: str("1.00"), Annual: str("10.00")}
	if hel.Label != "Helsinki" || hel.Raw != "hel" || !reflect.DeepEqual(hel.Prices, wantHel) || hel.Active == nil || !*hel.Active {
		t.Fatalf("value round trip: %+v", hel)
	}
	ram := created.Options[1]
	wantRAM := prices{Hourly: str("0.0030"), Monthly: str("2.00"), Quarterly: str("5.70")}
	if ram.Name != "Extra RAM" || ram.Type != "quantity" || ram.Max != 16 || ram.Step != 1 || ram.Unit != "GB" || !reflect.DeepEqual(ram.UnitPrices, wantRAM) {
		t.Fatalf("option round trip: %+v", ram)
	}
	if got := f.get(created.ID); !reflect.DeepEqual(got, created) {
		t.Fatalf("GET differs from the POST answer:\n%+v\n%+v", got, created)
	}

	// What GET returns can be sent back unchanged: nothing but updated_at moves.
	before := f.snapshotOf("group_products", "options", "values")
	var same group
	f.ok(http.StatusOK, "PUT", path(created.ID), created, &same)
	same.UpdatedAt = created.UpdatedAt
	if !reflect.DeepEqual(same, created) {
		t.Fatalf("PUT of the GET document changed it:\n%+v\n%+v", same, created)
	}
	if after := f.snapshotOf("group_products", "options", "values"); after != before {
		t.Fatalf("PUT of the same document changed rows:\n%s\n%s", before, after)
	}

	// Edit: rename, reprice Helsinki, drop Frankfurt, add Oslo, drop the RAM
	// option, add a text option.
	edit := created
	edit.Name = "Game extras"
	loc := edit.Options[0]
	loc.Values = []value{
		{ID: hel.ID, Label: "Helsinki", Raw: "hel", Prices: monthly("1.50"), Default: true},
		{Label: "Oslo", Raw: "osl", Prices: monthly("2.25"), Sort: 2},
	}
	edit.Options = []option{loc, {Name: "Server name", Type: "text", ProvisioningKey: "servername", Sort: 3}}
	var updated group
	f.ok(http.StatusOK, "PUT", path(created.ID), edit, &updated)

	if updated.Name != "Game extras" || len(updated.Options) != 2 || updated.Options[0].ID != loc.ID || updated.Options[1].Name != "Server name" || updated.Options[1].ID == 0 {
		t.Fatalf("after update: %+v", updated)
	}
	vals := updated.Options[0].Values
	if len(vals) != 2 || vals[0].ID != hel.ID || *vals[0].Prices.Monthly != "1.50" || vals[0].Prices.Hourly != nil || !vals[0].Default || vals[1].Label != "Oslo" || vals[1].ID == 0 {
		t.Fatalf("values after update: %+v", vals)
	}
	// Without selections, removed options and values are really gone.
	if n := f.count("SELECT COUNT(*) FROM ext_configoptions_values"); n != 2 {
		t.Fatalf("%d value rows, want 2", n)
	}
	if n := f.count("SELECT COUNT(*) FROM ext_configoptions_options WHERE id = ?", ram.ID); n != 0 {
		t.Fatalf("removed option still stored")
	}
	if got := f.get(created.ID); !reflect.DeepEqual(got, updated) {
		t.Fatalf("GET differs from the PUT answer:\n%+v\n%+v", got, updated)
	}

	// A BYO group keeps its service type; ordering is by sort, then id.
	byo := f.create(vps())
	if byo.ServiceType == nil || *byo.ServiceType != "vps" || byo.Mode != "build_your_own" || len(byo.ProductIDs) != 0 {
		t.Fatalf("byo: %+v", byo)
	}
}

func TestValidationFailuresChangeNothing(t *testing.T) {
	f := setup(t)
	stored := f.create(gameExtras(f.seeded.ProductID))
	other := f.create(vps())
	before := f.snapshot()

	bad := map[string]func(g *group){
		"no name":       func(g *group) { g.Name = "" },
		"unknown mode":  func(g *group) { g.Mode = "weekly" },
		"unknown type":  func(g *group) { g.Options[1].Type = "colour-picker" },
		"option name":   func(g *group) { g.Options[0].Name = "" },
		"3 decimals":    func(g *group) { g.Options[1].UnitPrices.Monthly = str("2.005") },
		"5 decimals":    func(g *group) { g.Options[0].Values[1].Prices.Hourly = str("0.00155") },
		"exponent":      func(g *group) { g.Options[1].UnitPrices.Annual = str("1e3") },
		"too large":     func(g *group) { g.Options[1].UnitPrices.Annual = str("1000000000000000.00") },
		"long name":     func(g *group) { g.Name = strings.Repeat("n", 256) },
		"product twice": func(g *group) { g.ProductIDs = []uint64{f.seeded.ProductID, f.seeded.ProductID} },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			g := gameExtras(f.seeded.ProductID)
			mutate(&g)
			f.refused(hostapi.CodeInvalid, "POST", "/admin/groups", g)

			g = stored
			g.Options = append([]option(nil), stored.Options...)
			g.Options[0].Values = append([]value(nil), stored.Options[0].Values...)
			mutate(&g)
			f.refused(hostapi.CodeInvalid, "PUT", path(stored.ID), g)
		})
	}

	// Ids that are not the group's own.
	foreign := stored
	foreign.Options = append([]option(nil), stored.Options...)
	foreign.Options[1].ID = other.Options[0].ID
	f.refused(hostapi.CodeInvalid, "PUT", path(stored.ID), foreign)
	foreign = stored
	foreign.Options = append([]option(nil), stored.Options...)
	foreign.Options[0].Values = []value{stored.Options[0].Values[0], {ID: other.Options[0].ID + 1000, Label: "x", Prices: monthly("1.00")}}
	f.refused(hostapi.CodeInvalid, "PUT", path(stored.ID), foreign)
	mismatch := stored
	mismatch.ID = other.ID
	f.refused(hostapi.CodeInvalid, "PUT", path(stored.ID), mismatch)
	// Ids on a create: a copied document.
	f.refused(hostapi.CodeInvalid, "POST", "/admin/groups", stored)
	// A price as a JSON number.
	f.refused(hostapi.CodeInvalid, "POST", "/admin/groups", `{"name":"x","mode":"preset","options":[{"name":"a","type":"quantity","min":0,"max":1,"step":1,"unit_prices":{"monthly":2.5}}]}`)
	f.refused(hostapi.CodeNotFound, "PUT", path(other.ID+1000), vps())

	if after := f.snapshot(); after != before {
		t.Fatalf("refused requests changed the tables:\n%s\n%s", before, after)
	}
}

func TestUnknownJSONFieldsRefused(t *testing.T) {
	f := setup(t)
	stored := f.create(gameExtras(f.seeded.ProductID))
	before := f.snapshot()
	good, err := json.Marshal(gameExtras(f.seeded.ProductID))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"group field":  strings.Replace(string(good), `"name":`, `"colour":"red","name":`, 1),
		"option field": strings.Replace(string(good), `"max":`, `"maxx":3,"max":`, 1),
		"value field":  strings.Replace(string(good), `"label":`, `"lable":"x","label":`, 1),
		"price field":  strings.Replace(string(good), `"monthly":`, `"biennial":"1.00","monthly":`, 1),
		"trailing":     string(good) + `{}`,
		"not json":     `name=x`,
	} {
		t.Run(name, func(t *testing.T) {
			if body == string(good) {
				t.Fatal("the test body was not altered")
			}
			f.refused(hostapi.CodeInvalid, "POST", "/admin/groups", body)
			f.refused(hostapi.CodeInvalid, "PUT", path(stored.ID), body)
		})
	}
	f.refused(hostapi.CodeInvalid, "POST", "/admin/seed", `{"force":true}`)
	if after := f.snapshot(); after != before {
		t.Fatalf("refused requests changed the tables:\n%s\n%s", before, after)
	}
}

// Each admin rule refuses by field, and neither the create nor the replace
// of a stored group changes a row.
func TestAdminFieldErrors(t *testing.T) {
	f := setup(t)
	stored := f.create(gameExtras(f.seeded.ProductID))
	before := f.snapshot()
	tests := []struct {
		name   string
		mutate func(g *group)
		field  string
	}{
		{"group name with a newline", func(g *group) { g.Name = "Game\nextras" }, "name"},
		{"group name with NUL", func(g *group) { g.Name = "Game\x00" }, "name"},
		{"group name with a right-to-left override", func(g *group) { g.Name = "Game \u202eextras" }, "name"},
		{"option name with an escape sequence", func(g *group) { g.Options[1].Name = "\x1b[31mRAM" }, "options[1].name"},
		{"value label with a C1 control", func(g *group) { g.Options[0].Values[1].Label = "Hel\u0085sinki" }, "options[0].values[1].label"},
		{"raw value with a tab", func(g *group) { g.Options[0].Values[0].Raw = "fra\t" }, "options[0].values[0].raw"},
		{"unit with a carriage return", func(g *group) { g.Options[1].Unit = "GB\r" }, "options[1].unit"},
		{"description with an escape sequence", func(g *group) { g.Description = "see \x1b]8;;http://x\x07" }, "description"},
		{"option description with NUL", func(g *group) { g.Options[0].Description = "a\x00" }, "options[0].description"},
		{"negative price", func(g *group) { g.Options[1].UnitPrices.Monthly = str("-1.00") }, "options[1].unit_prices.monthly"},
		{"three decimals", func(g *group) { g.Options[0].Values[1].Prices.Monthly = str("1.005") }, "options[0].values[1].prices.monthly"},
		{"exponent", func(g *group) { g.Options[1].UnitPrices.Annual = str("1e3") }, "options[1].unit_prices.annual"},
		{"price beyond DECIMAL(17,2)", func(g *group) { g.Options[1].UnitPrices.Quarterly = str("1000000000000000") }, "options[1].unit_prices.quarterly"},
		{"hourly beyond DECIMAL(17,4)", func(g *group) { g.Options[0].Values[1].Prices.Hourly = str("10000000000000") }, "options[0].values[1].prices.hourly"},
		{"sort beyond INT", func(g *group) { g.Sort = 1 << 31 }, "sort"},
		{"value sort below INT", func(g *group) { g.Options[0].Values[0].Sort = -1<<31 - 1 }, "options[0].values[0].sort"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := gameExtras(f.seeded.ProductID)
			tc.mutate(&g)
			refusedField(t, f, "POST", "/admin/groups", g, tc.field)

			g = f.get(stored.ID)
			g.CreatedAt, g.UpdatedAt = "", ""
			tc.mutate(&g)
			refusedField(t, f, "PUT", path(stored.ID), g, tc.field)
		})
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("refused requests changed the tables:\n%s\n%s", before, after)
	}
	// A description may span lines.
	ok := f.get(stored.ID)
	ok.CreatedAt, ok.UpdatedAt = "", ""
	ok.Description = "line one\n\tline two"
	f.ok(http.StatusOK, "PUT", path(stored.ID), ok, nil)
}

// The body's shape is refused before anything is read or written: a null
// body, data after the document, a key given twice at any depth.
func TestAdminBodyShapeRefused(t *testing.T) {
	f := setup(t)
	stored := f.create(gameExtras(f.seeded.ProductID))
	before := f.snapshot()
	good, err := json.Marshal(stored)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body, field string
	}{
		{"null", `null`, "body"},
		{"empty", ``, "body"},
		{"a list", `[]`, "body"},
		{"a second document", string(good) + ` {"name":"other"}`, "body"},
		{"name twice", strings.Replace(string(good), `"name":`, `"name":"Renamed","name":`, 1), "name"},
		{"name twice in another case", strings.Replace(string(good), `"name":`, `"NAME":"Renamed","name":`, 1), "name"},
		{"option key twice", strings.Replace(string(good), `"max":16`, `"max":16,"max":99`, 1), "options[1].max"},
		{"price key twice", strings.Replace(string(good), `"monthly":"2.00"`, `"monthly":"2.00","monthly":"0.01"`, 1), "options[1].unit_prices.monthly"},
		{"a price as a number", strings.Replace(string(good), `"monthly":"2.00"`, `"monthly":2`, 1), "options.unit_prices.monthly"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.body == string(good) {
				t.Fatal("the test body was not altered")
			}
			refusedField(t, f, "PUT", path(stored.ID), tc.body, tc.field)
			refusedField(t, f, "POST", "/admin/groups", tc.body, tc.field)
		})
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("refused requests changed the tables:\n%s\n%s", before, after)
	}
}

// refusedField calls as admin and fails t unless the module refuses field
// (CodeInvalid).
func refusedField(t *testing.T, f *fixture, method, path string, body any, field string) {
	t.Helper()
	status, raw, err := f.call(admin, method, path, body, nil)
	var e *hostapi.Error
	if !errors.As(err, &e) || e.Code != hostapi.CodeInvalid || e.Field != field {
		t.Fatalf("%s %s: %d %s %v; want a refusal of %s", method, path, status, raw, err, field)
	}
}

func TestOptionWithSelectionsCannotBeRemoved(t *testing.T) {
	f := setup(t)
	stored := f.create(gameExtras(f.seeded.ProductID))
	ram := stored.Options[1]
	f.selectQuantity(f.seeded.ServiceID, ram.ID, 4)
	before := f.snapshot()

	without := stored
	without.Options = stored.Options[:1]
	err := f.refused(hostapi.CodeConflict, "PUT", path(stored.ID), without)
	if !strings.Contains(err.Error(), `"Extra RAM"`) || !strings.Contains(err.Error(), fmt.Sprint(ram.ID)) {
		t.Fatalf("the refusal does not name the option: %v", err)
	}
	// Nor may it become a dropdown: its selections hold quantities.
	retyped := stored
	retyped.Options = append([]option(nil), stored.Options...)
	retyped.Options[1].Type = "dropdown"
	retyped.Options[1].UnitPrices = prices{}
	retyped.Options[1].Values = []value{{Label: "4 GB", Raw: "4", Prices: monthly("8.00")}}
	f.refused(hostapi.CodeConflict, "PUT", path(stored.ID), retyped)
	if after := f.snapshot(); after != before {
		t.Fatalf("the refused update changed the tables:\n%s\n%s", before, after)
	}

	got := f.get(stored.ID)
	if got.Options[1].Selections != 1 || got.Options[0].Selections != 0 {
		t.Fatalf("selection counts: %+v", got.Options)
	}
	// Deactivating it is the way out, and a slider keeps quantities.
	deactivated := got
	deactivated.Options[1].Active = boolean(false)
	deactivated.Options[1].Type = "slider"
	var after group
	f.ok(http.StatusOK, "PUT", path(stored.ID), deactivated, &after)
	if *after.Options[1].Active || after.Options[1].Type != "slider" {
		t.Fatalf("not deactivated: %+v", after.Options[1])
	}
}

func TestValueWithSelectionsIsSoftDeleted(t *testing.T) {
	f := setup(t)
	stored := f.create(gameExtras(f.seeded.ProductID))
	loc := stored.Options[0]
	fra, hel := loc.Values[0], loc.Values[1]
	f.selectValue(f.seeded.ServiceID, loc.ID, hel.ID)

	// Drop both: Helsinki is held by a service, Frankfurt is not.
	edit := stored
	edit.Options = append([]option(nil), stored.Options...)
	edit.Options[0].Values = []value{{Label: "Oslo", Raw: "osl", Default: true, Prices: monthly("2.00")}}
	var updated group
	f.ok(http.StatusOK, "PUT", path(stored.ID), edit, &updated)
	if vals := updated.Options[0].Values; len(vals) != 1 || vals[0].Label != "Oslo" {
		t.Fatalf("the admin still sees removed values: %+v", vals)
	}
	if n := f.count("SELECT COUNT(*) FROM ext_configoptions_values WHERE id = ?", fra.ID); n != 0 {
		t.Fatal("a value without selections was kept")
	}
	if n := f.count("SELECT COUNT(*) FROM ext_configoptions_values WHERE id = ? AND deleted_at IS NOT NULL AND is_default = 0", hel.ID); n != 1 {
		t.Fatal("the held value was not soft-deleted")
	}
	// The selection still reads its value, price included.
	var held struct {
		Label   string `db:"label"`
		Raw     string `db:"raw"`
		Monthly string `db:"monthly_price"`
	}
	if err := f.db.Get(&held, `SELECT v.label, v.raw, v.monthly_price FROM ext_configoptions_selections s
JOIN ext_configoptions_values v ON v.id = s.value_id WHERE s.service_id = ? AND s.option_id = ?`, f.seeded.ServiceID, loc.ID); err != nil {
		t.Fatal(err)
	}
	if held.Label != "Helsinki" || held.Raw != "hel" || held.Monthly != "1.00" {
		t.Fatalf("selection reads %+v", held)
	}
	// The option still counts the selection, and the retired value cannot
	// be addressed by id any more.
	if got := f.get(stored.ID); got.Options[0].Selections != 1 {
		t.Fatalf("option selections: %+v", got.Options[0])
	}
	revive := updated
	revive.Options = append([]option(nil), updated.Options...)
	revive.Options[0].Values = append(revive.Options[0].Values, value{ID: hel.ID, Label: "Helsinki", Prices: monthly("1.00")})
	f.refused(hostapi.CodeInvalid, "PUT", path(stored.ID), revive)

	// A second save leaves the retired value as it is.
	before := f.snapshotOf("options", "values", "selections")
	f.ok(http.StatusOK, "PUT", path(stored.ID), updated, nil)
	if after := f.snapshotOf("options", "values", "selections"); after != before {
		t.Fatalf("a second save changed rows:\n%s\n%s", before, after)
	}
}

func TestSoftDeleteRefusedWhileSelectionsExist(t *testing.T) {
	f := setup(t)
	stored := f.create(gameExtras(f.seeded.ProductID))
	kept := f.create(vps())
	f.selectValue(f.seeded.ServiceID, stored.Options[0].ID, stored.Options[0].Values[0].ID)
	f.selectQuantity(f.seeded.ServiceID, stored.Options[1].ID, 2)
	before := f.snapshot()

	err := f.refused(hostapi.CodeConflict, "DELETE", path(stored.ID), nil)
	if !strings.Contains(err.Error(), "2 selections") {
		t.Fatalf("refusal: %v", err)
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("the refused delete changed the tables:\n%s\n%s", before, after)
	}

	if _, err := f.db.Exec("DELETE FROM ext_configoptions_selections WHERE service_id = ?", f.seeded.ServiceID); err != nil {
		t.Fatal(err)
	}
	var deleted struct {
		ID        uint64 `json:"id"`
		DeletedAt string `json:"deleted_at"`
	}
	f.ok(http.StatusOK, "DELETE", path(stored.ID), nil, &deleted)
	if deleted.ID != stored.ID || deleted.DeletedAt == "" {
		t.Fatalf("delete answer: %+v", deleted)
	}
	// Soft: the rows stay, the group is gone from the API.
	if n := f.count("SELECT COUNT(*) FROM ext_configoptions_groups WHERE id = ? AND deleted_at IS NOT NULL", stored.ID); n != 1 {
		t.Fatal("group row not soft-deleted")
	}
	if n := f.count("SELECT COUNT(*) FROM ext_configoptions_options WHERE group_id = ?", stored.ID); n != 2 {
		t.Fatalf("%d options kept, want 2", n)
	}
	f.refused(hostapi.CodeNotFound, "GET", path(stored.ID), nil)
	f.refused(hostapi.CodeNotFound, "PUT", path(stored.ID), gameExtras(f.seeded.ProductID))
	f.refused(hostapi.CodeNotFound, "DELETE", path(stored.ID), nil)
	if l := f.list(nil); len(l) != 1 || l[0].ID != kept.ID {
		t.Fatalf("list after delete: %+v", l)
	}
}

func TestListCountsAndFilters(t *testing.T) {
	f := setup(t)
	extras := f.create(gameExtras(f.seeded.ProductID))
	byo := f.create(vps())
	inactive := gameExtras(f.seeded.ProductID)
	inactive.Name, inactive.Active, inactive.Sort = "Old extras", boolean(false), 0
	old := f.create(inactive)
	gone := f.create(vps())
	f.ok(http.StatusOK, "DELETE", path(gone.ID), nil, nil)

	f.selectValue(f.seeded.ServiceID, extras.Options[0].ID, extras.Options[0].Values[1].ID)
	f.selectQuantity(f.seeded.ServiceID, extras.Options[1].ID, 3)
	f.selectQuantity(f.seeded.ServiceID+1, byo.Options[0].ID, 4)
	// A retired value no longer counts as a value.
	edit := f.get(extras.ID)
	edit.Options[0].Values = edit.Options[0].Values[1:]
	f.ok(http.StatusOK, "PUT", path(extras.ID), edit, nil)

	all := f.list(nil)
	want := []summary{
		{ID: old.ID, Name: "Old extras", Mode: "preset", Active: false, ProductIDs: []uint64{f.seeded.ProductID}, OptionCount: 2, ValueCount: 2},
		{ID: extras.ID, Name: "Game server extras", Mode: "preset", Active: true, ProductIDs: []uint64{f.seeded.ProductID}, OptionCount: 2, ValueCount: 1, SelectionCount: 2},
		{ID: byo.ID, Name: "VPS", Mode: "build_your_own", Active: true, ProductIDs: []uint64{}, OptionCount: 1, ValueCount: 0, SelectionCount: 1},
	}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("list:\n%+v\nwant\n%+v", all, want)
	}
	if l := f.list(map[string][]string{"mode": {"all"}}); !reflect.DeepEqual(l, want) {
		t.Fatalf("mode=all: %+v", l)
	}
	if l := f.list(map[string][]string{"mode": {"preset"}}); !reflect.DeepEqual(l, want[:2]) {
		t.Fatalf("mode=preset: %+v", l)
	}
	if l := f.list(map[string][]string{"mode": {"byo"}}); !reflect.DeepEqual(l, want[2:]) {
		t.Fatalf("mode=byo: %+v", l)
	}
	if l := f.list(map[string][]string{"mode": {"preset"}, "active": {"true"}}); !reflect.DeepEqual(l, want[1:2]) {
		t.Fatalf("mode=preset&active=true: %+v", l)
	}
	if l := f.list(map[string][]string{"active": {"false"}}); !reflect.DeepEqual(l, want[:1]) {
		t.Fatalf("active=false: %+v", l)
	}
	for _, q := range []map[string][]string{{"mode": {"weekly"}}, {"active": {"maybe"}}} {
		if _, _, err := f.call(admin, "GET", "/admin/groups", nil, q); !errors.Is(err, hostapi.ErrInvalid) {
			t.Errorf("%v: %v", q, err)
		}
	}
}

func TestSeedIsIdempotent(t *testing.T) {
	f := setup(t)
	seeds := catalog.SeedGroups()
	if len(seeds) == 0 {
		t.Fatal("catalog.SeedGroups is empty")
	}
	type seeded struct {
		Created int `json:"created"`
		Groups  []struct {
			ID      uint64 `json:"id"`
			Name    string `json:"name"`
			Mode    string `json:"mode"`
			Created bool   `json:"created"`
		} `json:"groups"`
	}
	var first seeded
	f.ok(http.StatusOK, "POST", "/admin/seed", nil, &first)
	if first.Created != len(seeds) || len(first.Groups) != len(seeds) {
		t.Fatalf("first seed: %+v", first)
	}
	for i, g := range first.Groups {
		if !g.Created || g.Name != seeds[i].Name || g.Mode != string(seeds[i].Mode) {
			t.Fatalf("first seed group %d: %+v", i, g)
		}
		stored := f.get(g.ID)
		if len(stored.Options) != len(seeds[i].Options) {
			t.Fatalf("seeded group %q has %d options, want %d", g.Name, len(stored.Options), len(seeds[i].Options))
		}
	}
	before := f.snapshot()

	var second seeded
	f.ok(http.StatusOK, "POST", "/admin/seed", "", &second)
	if second.Created != 0 || len(second.Groups) != len(seeds) {
		t.Fatalf("second seed: %+v", second)
	}
	for i, g := range second.Groups {
		if g.Created || g.ID != first.Groups[i].ID {
			t.Fatalf("second seed group %d: %+v, first %+v", i, g, first.Groups[i])
		}
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("a second seed changed the tables:\n%s\n%s", before, after)
	}
	if n := len(f.list(nil)); n != len(seeds) {
		t.Fatalf("%d groups listed after two seeds, want %d", n, len(seeds))
	}
}

func TestNonAdminIsRefusedAdminRoutes(t *testing.T) {
	f := setup(t)
	stored := f.create(gameExtras(f.seeded.ProductID))
	before := f.snapshot()
	client := hostapi.Principal{Kind: hostapi.Client, UserID: f.seeded.UserID, ServiceID: f.seeded.ServiceID}
	anonymous := hostapi.Principal{Kind: hostapi.Anonymous}
	for _, p := range []hostapi.Principal{client, anonymous} {
		for _, r := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/admin/groups", nil},
			{"GET", path(stored.ID), nil},
			{"POST", "/admin/groups", vps()},
			{"PUT", path(stored.ID), vps()},
			{"DELETE", path(stored.ID), nil},
			{"POST", "/admin/seed", nil},
		} {
			if status, raw, err := f.call(p, r.method, r.path, r.body, nil); !errors.Is(err, hostapi.ErrPermission) {
				t.Errorf("%s %s %s: %d %s %v; want permission_denied", p.Kind, r.method, r.path, status, raw, err)
			}
		}
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("refused requests changed the tables:\n%s\n%s", before, after)
	}

	// Unknown routes are a JSON 404, for anyone.
	for _, r := range [][2]string{{"GET", "/nope"}, {"PATCH", path(stored.ID)}, {"GET", "/admin/groups/abc"}, {"GET", "/admin/groups/0"}, {"GET", path(stored.ID) + "/x"}} {
		status, raw, err := f.call(admin, r[0], r[1], nil, nil)
		var body struct{ Error struct{ Code string } }
		if err != nil || status != http.StatusNotFound || json.Unmarshal(raw, &body) != nil || body.Error.Code != "not_found" {
			t.Errorf("%s %s: %d %s %v; want a JSON 404", r[0], r[1], status, raw, err)
		}
	}
}

func TestDescribeAndMigrations(t *testing.T) {
	f := setup(t)
	if f.info.Name != "configoptions" || f.info.TablePrefix != "ext_configoptions_" || !reflect.DeepEqual(f.info.Events, []hostapi.EventKind{hostapi.InvoicePaidEvent, hostapi.ReconcileEvent}) || len(f.info.Migrations) != 8 {
		t.Fatalf("describe: %+v", f.info)
	}
	want := []hostapi.Route{
		{Method: "GET", Path: "/admin/groups", Access: hostapi.AccessAdmin},
		{Method: "POST", Path: "/admin/groups", Access: hostapi.AccessAdmin},
		{Method: "GET", Path: "/admin/groups/", Access: hostapi.AccessAdmin},
		{Method: "PUT", Path: "/admin/groups/", Access: hostapi.AccessAdmin},
		{Method: "DELETE", Path: "/admin/groups/", Access: hostapi.AccessAdmin},
		{Method: "POST", Path: "/admin/seed", Access: hostapi.AccessAdmin},
		{Method: "POST", Path: "/quote", Access: hostapi.AccessPublic},
		{Method: "POST", Path: "/checkout", Access: hostapi.AccessUser},
		{Method: "GET", Path: "/service", Access: hostapi.AccessClient},
		{Method: "POST", Path: "/change/quote", Access: hostapi.AccessClient},
		{Method: "POST", Path: "/change", Access: hostapi.AccessClient},
		{Method: "POST", Path: "/change/cancel", Access: hostapi.AccessClient},
		{Method: "GET", Path: "/admin/changes", Access: hostapi.AccessAdmin},
		{Method: "POST", Path: "/admin/changes/retry/", Access: hostapi.AccessAdmin},
		{Method: "GET", Path: "/configure", Access: hostapi.AccessPublic, Page: true},
		{Method: "GET", Path: "/checkout", Access: hostapi.AccessUser, Page: true},
		{Method: "POST", Path: "/checkout/summary", Access: hostapi.AccessUser, Page: true},
		{Method: "POST", Path: "/checkout/place", Access: hostapi.AccessUser, Page: true},
		{Method: "GET", Path: "/change", Access: hostapi.AccessClient, Page: true},
		{Method: "POST", Path: "/change/review", Access: hostapi.AccessClient, Page: true},
		{Method: "POST", Path: "/change/confirm", Access: hostapi.AccessClient, Page: true},
		{Method: "POST", Path: "/change/withdraw", Access: hostapi.AccessClient, Page: true},
		{Method: "GET", Path: "/console/groups", Access: hostapi.AccessAdmin, Page: true, Nav: "Option groups"},
		{Method: "GET", Path: "/console/groups/new", Access: hostapi.AccessAdmin, Page: true},
		{Method: "POST", Path: "/console/groups/new", Access: hostapi.AccessAdmin, Page: true},
		{Method: "GET", Path: "/console/groups/", Access: hostapi.AccessAdmin, Page: true},
		{Method: "POST", Path: "/console/groups/", Access: hostapi.AccessAdmin, Page: true},
		{Method: "GET", Path: "/console/changes", Access: hostapi.AccessAdmin, Page: true, Nav: "Option changes"},
		{Method: "POST", Path: "/console/changes/", Access: hostapi.AccessAdmin, Page: true},
	}
	if !reflect.DeepEqual(f.info.Routes, want) {
		t.Fatalf("routes: %+v", f.info.Routes)
	}
	for _, table := range []string{"groups", "group_products", "options", "values", "selections", "checkouts"} {
		if n := f.count("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?", "ext_configoptions_"+table); n != 1 {
			t.Errorf("table ext_configoptions_%s missing", table)
		}
	}
	// The module's own lock table gave way to the host's one lock per
	// service (migration 008).
	if n := f.count("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'ext_configoptions_service_locks'"); n != 0 {
		t.Error("ext_configoptions_service_locks is still there")
	}
	// A second migrate run applies nothing.
	res, err := migrate.Module(context.Background(), f.db.DB.DB, f.info.Name, f.info.Migrations)
	if err != nil || len(res.Applied) != 0 {
		t.Fatalf("second migrate: %+v %v", res, err)
	}
	// A paid invoice that is no checkout's is not handled.
	res2, err := f.module.HandleEvent(context.Background(), hostapi.Event{Kind: hostapi.InvoicePaidEvent, InvoiceID: 1})
	if err != nil || res2.Handled {
		t.Fatalf("event: %+v %v", res2, err)
	}
}

// Seeds running at once on several replicas create each group once: the
// locking read of a missing group locks the gap where it would go, so all
// but one of the racing transactions deadlock and fail as unavailable
// (retry later), and none inserts a duplicate.
func TestConcurrentSeedsCreateEachGroupOnce(t *testing.T) {
	f := setup(t)
	f.db.RequireMySQL(t)
	const racers = 4
	errs := make(chan error, racers)
	for range racers {
		go func() {
			_, err := f.module.HandleHTTP(context.Background(), hostapi.HTTPRequest{Method: "POST", Path: "/admin/seed", Principal: admin})
			errs <- err
		}()
	}
	succeeded := 0
	for range racers {
		switch err := <-errs; {
		case err == nil:
			succeeded++
		case !errors.Is(err, hostapi.ErrUnavailable):
			t.Errorf("a racing seed failed with %v; want success or unavailable", err)
		}
	}
	if succeeded == 0 {
		t.Fatal("no seed succeeded")
	}
	t.Logf("%d of %d racing seeds succeeded", succeeded, racers)
	for _, g := range catalog.SeedGroups() {
		if n := f.count("SELECT COUNT(*) FROM ext_configoptions_groups WHERE name = ? AND mode = ?", g.Name, string(g.Mode)); n != 1 {
			t.Errorf("%d groups %q, want 1", n, g.Name)
		}
	}
}
