package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const groupsPath = "/m/configoptions/console/groups"

// sixOptions is the editor's form of a preset group with one option of
// each type, linked to product.
func sixOptions(csrf string, product uint64) url.Values {
	v := url.Values{"csrf": {csrf}, "op": {"save"}, "name": {"Console extras"}, "description": {"Made in the console"}, "mode": {"preset"},
		"product_ids": {strconv.FormatUint(product, 10)}, "active": {"1"}}
	opt := func(i int, name, typ string, extra map[string]string) {
		f := fmt.Sprintf("options[%d]", i)
		v.Set(f+".id", "")
		v.Set(f+".name", name)
		v.Set(f+".type", typ)
		v.Set(f+".active", "1")
		for k, x := range extra {
			v.Set(f+"."+k, x)
		}
	}
	val := func(i, j int, label, raw, monthly string, def bool) {
		f := fmt.Sprintf("options[%d].values[%d]", i, j)
		v.Set(f+".id", "")
		v.Set(f+".label", label)
		v.Set(f+".raw", raw)
		v.Set(f+".prices.monthly", monthly)
		v.Set(f+".active", "1")
		if def {
			v.Set(f+".default", "1")
		}
	}
	opt(0, "Location", "dropdown", map[string]string{"required": "1"})
	val(0, 0, "Frankfurt", "fra", "0.00", true)
	val(0, 1, "Helsinki", "hel", "1.00", false)
	opt(1, "Support", "radio", nil)
	val(1, 0, "Standard", "", "0.00", true)
	val(1, 1, "Priority", "", "5.00", false)
	opt(2, "Extra backups", "quantity", map[string]string{"provisioning_key": "backups", "min": "0", "max": "10", "step": "1", "unit": "backups", "unit_prices.monthly": "0.50"})
	opt(3, "DDoS shield", "checkbox", nil)
	val(3, 0, "On", "", "3.00", false)
	opt(4, "Server name", "text", map[string]string{"provisioning_key": "servername"})
	opt(5, "Extra RAM", "slider", map[string]string{"provisioning_key": "ram_gb", "min": "0", "max": "16", "step": "2", "unit": "GB", "unit_prices.monthly": "2.00", "unit_prices.hourly": "0.0030"})
	return v
}

// TestCConsoleGroupEditor builds a preset group with one option of each
// type through the console's form (rows added without script, nothing
// saved until "Save"), and the client's checkout shows every option.
func TestCConsoleGroupEditor(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, 7)
	groups := func() int { return e.count(t, "SELECT COUNT(*) FROM ext_configoptions_groups") }

	p := b.get(groupsPath+"/new", nil)
	if p.code != http.StatusOK || !strings.Contains(p.body, `name="op" value="add_option"`) {
		t.Fatalf("new group: %d %s", p.code, p.body)
	}
	csrf := csrfOf(t, p.body)
	// Add an option, then a value to it: each re-renders the form, saves
	// nothing.
	form := url.Values{"csrf": {csrf}, "name": {"Draft"}, "mode": {"preset"}, "op": {"add_option"}}
	p = b.post(groupsPath+"/new", form, nil)
	if p.code != http.StatusOK || !strings.Contains(p.body, `name="options[0].name"`) || !strings.Contains(p.body, `name="options[0].values[0].label"`) {
		t.Fatalf("add_option: %d %s", p.code, p.body)
	}
	form.Set("options[0].id", "")
	form.Set("options[0].name", "First")
	form.Set("options[1].id", "")
	form.Set("options[1].name", "Second")
	form.Set("op", "move_up=1")
	p = b.post(groupsPath+"/new", form, nil)
	if i, j := strings.Index(p.body, `value="Second"`), strings.Index(p.body, `value="First"`); p.code != http.StatusOK || i < 0 || j < 0 || i > j {
		t.Fatalf("move_up=1: %d, Second at %d, First at %d", p.code, i, j)
	}
	form.Set("op", "remove_option=0")
	p = b.post(groupsPath+"/new", form, nil)
	if p.code != http.StatusOK || strings.Contains(p.body, `name="options[1].name"`) || !strings.Contains(p.body, `value="Second"`) {
		t.Fatalf("remove_option=0: %d", p.code)
	}
	if n := groups(); n != 0 {
		t.Fatalf("%d groups after editing the form; the buttons saved", n)
	}

	audit := e.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'configoptions.group_created' AND actor = 'admin:7'")
	p = b.post(groupsPath+"/new", sixOptions(csrf, e.seeded.ProductID), nil)
	if p.code != http.StatusSeeOther || !strings.Contains(p.location, "?saved=1") {
		t.Fatalf("save: %d %q %s", p.code, p.location, p.body)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'configoptions.group_created' AND actor = 'admin:7'"); n != audit+1 {
		t.Errorf("%d audit entries of the creation stamped admin:7, want %d", n, audit+1)
	}
	edit := groupsPath + "/" + strings.TrimSuffix(p.location[strings.LastIndex(p.location, "/")+1:], "?saved=1")
	p = b.get(edit+"?saved=1", nil)
	for _, want := range []string{"Saved.", `value="Extra RAM"`, "Preview: what a client sees", `type="range"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the saved group's page lacks %q", want)
		}
	}
	if n := e.count(t, "SELECT COUNT(*) FROM ext_configoptions_options"); n != 6 {
		t.Errorf("%d options stored, want 6", n)
	}
	p = b.get(groupsPath+"?mode=preset", nil)
	if !strings.Contains(p.body, "Console extras") || !strings.Contains(p.body, `aria-current="page">Preset`) {
		t.Errorf("the preset tab: %s", p.body)
	}
	if p = b.get(groupsPath+"?mode=byo", nil); strings.Contains(p.body, "Console extras") {
		t.Errorf("a preset group under Build-Your-Own")
	}

	c := e.browser(t)
	q := url.Values{"product": {strconv.FormatUint(e.seeded.ProductID, 10)}, "plan": {strconv.FormatUint(e.seeded.PlanID, 10)}, "currency": {"EUR"},
		"link": {e.link(e.seeded.UserID, 0, time.Hour)}}
	p = c.open("/m/configoptions/checkout?" + q.Encode())
	for _, want := range []string{"Location", "Support", "Extra backups", "DDoS shield", "Server name", "Extra RAM", "Helsinki"} {
		if p.code != http.StatusOK || !strings.Contains(p.body, want) {
			t.Errorf("the checkout (%d) lacks %q", p.code, want)
		}
	}
}

// TestCConsoleGroupRefusals: a form with many problems names every one
// at its field and writes nothing; a delete while services hold the
// group's options is refused with the reason; a forged CSRF is refused.
func TestCConsoleGroupRefusals(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, 7)
	csrf := csrfOf(t, b.get(groupsPath+"/new", nil).body)
	rows := func() [4]int {
		return [4]int{e.count(t, "SELECT COUNT(*) FROM ext_configoptions_groups"), e.count(t, "SELECT COUNT(*) FROM ext_configoptions_options"),
			e.count(t, "SELECT COUNT(*) FROM ext_configoptions_values"), e.count(t, "SELECT COUNT(*) FROM upsell_audit")}
	}
	before := rows()
	bad := sixOptions(csrf, e.seeded.ProductID)
	bad.Set("name", " ")
	bad.Set("product_ids", "3, x")
	bad.Set("options[0].values[1].default", "1")         // two defaults
	bad.Set("options[1].values[1].prices.monthly", "-1") // negative
	bad.Set("options[2].max", "ten")                     // not a number
	bad.Set("options[4].provisioning_key", "ram_gb")     // a numeric key on text, and memory twice
	bad.Set("options[5].step", "3")                      // 0..16 not in steps of 3
	bad.Set("options[5].unit_prices.hourly", "0.00001")  // 5 decimals
	p := b.post(groupsPath+"/new", bad, nil)
	if p.code != http.StatusUnprocessableEntity || !strings.Contains(p.body, "9 things to fix") || !strings.Contains(p.body, `<a href="#name">Name</a>`) {
		t.Fatalf("invalid group: %d %s", p.code, p.body)
	}
	for _, id := range []string{"name", "product_ids", "options-0-values-1-default", "options-1-values-1-prices-monthly", "options-2-max",
		"options-4-provisioning_key", "options-5-provisioning_key", "options-5-step", "options-5-unit_prices-hourly"} {
		if !strings.Contains(p.body, `id="`+id+`-error"`) || !strings.Contains(p.body, `aria-describedby="`+id+`-error"`) || !strings.Contains(p.body, `href="#`+id+`"`) {
			t.Errorf("no error at %s", id)
		}
	}
	if n := strings.Count(p.body, `aria-invalid="true"`); n != 9 {
		t.Errorf("%d fields marked invalid, want 9", n)
	}
	if after := rows(); after != before {
		t.Fatalf("rows %v after a refused save, %v before", after, before)
	}

	// A group a service holds an option of cannot be deleted.
	g := e.createGroup(t, map[string]any{"name": "Held", "mode": "preset", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{{"name": "Extra RAM", "type": "quantity", "provisioning_key": "ram_gb", "min": 0, "max": 8, "step": 1, "unit": "GB",
			"unit_prices": map[string]string{"monthly": "2.00"}}}})
	r := e.do("POST", "/m/configoptions/checkout", withKey(e.userLink(), "console-held"), map[string]any{
		"product_id": e.seeded.ProductID, "plan_id": e.seeded.PlanID, "currency": "EUR",
		"choices": []map[string]any{{"option_id": g.option(t, "Extra RAM"), "quantity": 2}}})
	if r.code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", r.code, r.body)
	}
	del := groupsPath + "/" + strconv.FormatUint(g.ID, 10) + "/delete"
	p = b.post(del, url.Values{"csrf": {csrf}}, nil)
	if p.code != http.StatusConflict || !strings.Contains(p.body, "cannot be deleted while services hold them") {
		t.Fatalf("delete while held: %d %s", p.code, p.body)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM ext_configoptions_groups WHERE id = "+strconv.FormatUint(g.ID, 10)+" AND deleted_at IS NULL"); n != 1 {
		t.Fatal("the held group is gone")
	}
	// Forged or missing CSRF: refused by the host, nothing reaches the
	// module.
	for _, token := range []string{"", "forged" + csrf[6:]} {
		p = b.post(del, url.Values{"csrf": {token}}, nil)
		if p.code != http.StatusForbidden {
			t.Errorf("delete with CSRF %q: %d", token, p.code)
		}
		p = b.post(groupsPath+"/new", sixOptions(token, e.seeded.ProductID), nil)
		if p.code != http.StatusForbidden {
			t.Errorf("save with CSRF %q: %d", token, p.code)
		}
	}
	if n := e.count(t, "SELECT COUNT(*) FROM ext_configoptions_groups"); n != 1 {
		t.Errorf("%d groups after forged requests, want 1", n)
	}
	// The changes page lists and searches.
	p = b.get("/m/configoptions/console/changes?state=awaiting_payment&service="+strconv.FormatUint(e.seeded.ServiceID, 10), nil)
	if p.code != http.StatusOK || !strings.Contains(p.body, "No changes match.") {
		t.Errorf("changes: %d", p.code)
	}
	if p = b.get("/m/configoptions/console/changes?user=x", nil); p.code != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="user-error"`) {
		t.Errorf("changes with a bad user: %d", p.code)
	}
}
