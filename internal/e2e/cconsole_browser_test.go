package e2e

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/upsell-io/upsell/internal/browsertest"
)

// The configurable-options console in a real headless Chromium: signed in
// from a panel-signed admin link, a preset group built with the keyboard
// only (the editor's no-JS buttons add the rows) and then offered at a
// client's checkout, a held group's delete refused on the page, and every
// page checked by axe and photographed.

const cconsoleBase = "/m/configoptions/console/"

// newCConsoleTab opens the console in a browser tab for e's panel, from a
// fresh admin link as the bridge sends it.
func newCConsoleTab(t *testing.T, e *env) *consoleTab {
	b := browsertest.New(t)
	c := &consoleTab{t: t, e: e, b: b}
	b.Navigate(t, e.http.URL+"/console/?link="+url.QueryEscape(e.adminLink(consoleAdmin, 2*time.Minute)))
	if loc := c.location(); loc != e.http.URL+"/console/" {
		t.Fatalf("the admin link landed on %s", loc)
	}
	return c
}

// openOptions shows a console page of the configoptions module and checks
// its heading.
func (c *consoleTab) openOptions(path, heading string) {
	c.t.Helper()
	c.b.Navigate(c.t, c.e.http.URL+cconsoleBase+path)
	c.heading(heading)
}

func (c *consoleTab) heading(want string) {
	c.t.Helper()
	if h := browsertest.Text(c.t, c.ctx(), "h1"); !strings.HasPrefix(h, want) {
		c.t.Fatalf("heading %q, want %q", h, want)
	}
}

// tabToMatch presses Tab until the focused element matches the CSS
// selector: for the editor's buttons, which have a value and no id. The
// editor is long (five prices per value), hence more presses than tabTo.
func (c *consoleTab) tabToMatch(selector string) {
	c.t.Helper()
	var seen []string
	for range 200 {
		browsertest.Press(c.t, c.ctx(), browsertest.KeyTab)
		ok, err := chromedp.Run(c.ctx(), chromedp.Evaluate[bool](`document.activeElement !== null && document.activeElement.matches(`+strconv.Quote(selector)+`)`))
		if err != nil {
			c.t.Fatalf("match the focus against %s: %v", selector, err)
		}
		if ok {
			return
		}
		seen = append(seen, browsertest.Focused(c.t, c.ctx()))
	}
	c.t.Fatalf("Tab never reached %s; focus went %s", selector, strings.Join(seen, ", "))
}

// typeAt tabs to the field matching selector and types text.
func (c *consoleTab) typeAt(selector, text string) {
	c.t.Helper()
	c.tabToMatch(selector)
	browsertest.Press(c.t, c.ctx(), browsertest.Key(text))
}

// press tabs to the button matching selector and presses key on it.
func (c *consoleTab) press(selector string, key browsertest.Key) {
	c.t.Helper()
	c.tabToMatch(selector)
	browsertest.Press(c.t, c.ctx(), key)
}

// textContent is the text of every element matching selector, a
// <select>'s options included (innerText leaves those out).
func (c *consoleTab) textContent(selector string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx(), chromedp.Evaluate[string](`Array.from(document.querySelectorAll(`+strconv.Quote(selector)+`)).map(e => e.textContent).join(' ')`))
	if err != nil {
		c.t.Fatalf("text of %s: %v", selector, err)
	}
	return s
}

// checkOptionsClean fails on CSP violations and console errors, except
// the statuses the tests provoke on purpose: a refused save (422) and a
// refused delete (409), which Chromium logs as failed loads.
func (c *consoleTab) checkOptionsClean() {
	c.t.Helper()
	if v := c.b.CSPViolations(); len(v) > 0 {
		c.t.Errorf("CSP violations: %v", v)
	}
	for _, m := range c.b.ConsoleErrors() {
		if m.Source == "network" && strings.Contains(m.URL, cconsoleBase+"groups/") &&
			(strings.Contains(m.Text, "status of 422") && strings.HasSuffix(m.URL, "groups/new") ||
				strings.Contains(m.Text, "status of 409") && strings.HasSuffix(m.URL, "/delete")) {
			continue
		}
		c.t.Errorf("console error: %v", m)
	}
}

// TestCConsoleBrowserCreateGroupKeyboardOnly builds a preset group with a
// dropdown of two values using Tab, typing, Space and Enter only, and the
// client's checkout offers it.
func TestCConsoleBrowserCreateGroupKeyboardOnly(t *testing.T) {
	e := newEnv(t)
	c := newCConsoleTab(t, e)
	count := func(table string) int { return e.count(t, "SELECT COUNT(*) FROM ext_configoptions_"+table) }

	c.openOptions("groups", "Option groups")
	c.press(`a[href$="console/groups/new"]`, browsertest.KeyEnter)
	c.waitFor("#product_ids")
	c.heading("New option group")
	browsertest.CheckAccessibility(t, c.ctx())

	// Saved empty: every refusal at its field, the editor still usable.
	c.press(`button[value="save"]`, browsertest.KeyEnter)
	c.waitFor("#name-error")
	browsertest.CheckAccessibility(t, c.ctx())
	if n := count("groups"); n != 0 {
		t.Fatalf("a refused save wrote %d groups", n)
	}

	c.typeAt("input#name", "Keyboard extras")
	c.typeAt("input#product_ids", strconv.FormatUint(e.seeded.ProductID, 10))
	c.press(`button[value="add_option"]`, browsertest.KeyEnter)
	c.waitFor("#options-0-name")
	c.typeAt("#options-0-name", "Location")
	c.typeAt("#options-0-values-0-label", "Frankfurt")
	c.typeAt("#options-0-values-0-raw", "fra")
	c.typeAt("#options-0-values-0-prices-monthly", "0.00")
	c.press("#options-0-values-0-default", browsertest.KeySpace)
	// Space on a button presses it as Enter does.
	c.press(`button[value="add_value=0"]`, browsertest.KeySpace)
	c.waitFor("#options-0-values-1-label")
	if n := count("groups"); n != 0 {
		t.Fatalf("adding rows wrote %d groups", n)
	}
	// The rows typed so far came back as they were.
	for id, want := range map[string]string{"name": "Keyboard extras", "options-0-name": "Location", "options-0-values-0-label": "Frankfurt"} {
		got, err := chromedp.Run(c.ctx(), chromedp.Evaluate[string](`document.getElementById(`+strconv.Quote(id)+`).value`))
		if err != nil || got != want {
			t.Fatalf("#%s after adding a value: %q, %v; want %q", id, got, err, want)
		}
	}
	c.typeAt("#options-0-values-1-label", "Helsinki")
	c.typeAt("#options-0-values-1-raw", "hel")
	c.typeAt("#options-0-values-1-prices-monthly", "1.00")
	browsertest.CheckAccessibility(t, c.ctx())
	c.press(`button[value="save"]`, browsertest.KeyEnter)
	c.waitFor(".notice.ok")
	c.heading("Option group: Keyboard extras")
	if loc := c.location(); !strings.HasSuffix(loc, "?saved=1") {
		t.Fatalf("after saving: %s", loc)
	}
	if g, o, v := count("groups"), count("options"), count("values"); g != 1 || o != 1 || v != 2 {
		t.Fatalf("stored %d groups, %d options, %d values; want 1, 1, 2", g, o, v)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM ext_configoptions_values WHERE label = 'Frankfurt' AND is_default = 1"); n != 1 {
		t.Errorf("Frankfurt is not the default (%d rows)", n)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'configoptions.group_created' AND actor = 'admin:7'"); n != 1 {
		t.Errorf("%d creation audit entries stamped admin:7, want 1", n)
	}
	browsertest.CheckAccessibility(t, c.ctx())
	c.checkOptionsClean()

	// The client's checkout for the linked product offers the dropdown.
	q := url.Values{"product": {strconv.FormatUint(e.seeded.ProductID, 10)}, "plan": {strconv.FormatUint(e.seeded.PlanID, 10)}, "currency": {"EUR"},
		"link": {e.link(e.seeded.UserID, 0, time.Hour)}}
	c.b.Navigate(t, e.http.URL+"/m/configoptions/checkout?"+q.Encode())
	if text := c.textContent("main form"); !strings.Contains(text, "Location") || !strings.Contains(text, "Frankfurt") || !strings.Contains(text, "Helsinki") {
		t.Fatalf("the client's checkout does not offer the new option: %q", text)
	}
	c.checkOptionsClean()
}

// TestCConsoleBrowserPages: the groups list (each tab), a held group's
// editor and its refused delete, and the option changes, each checked by
// axe and photographed.
func TestCConsoleBrowserPages(t *testing.T) {
	f := newChangeFixture(t) // "Game server extras", its RAM held by the seeded service
	e := f.env
	if code, a := f.change(t, "console-up", 6); code != 201 || a.State != "awaiting_payment" {
		t.Fatalf("change: %d %+v", code, a)
	}
	e.createGroup(t, map[string]any{"name": "VPS builder", "mode": "build_your_own", "service_type": "vps",
		"options": []map[string]any{{"name": "Cores", "type": "quantity", "provisioning_key": "cpu_cores", "min": 1, "max": 8, "step": 1, "unit": "cores",
			"unit_prices": map[string]string{"monthly": "3.00"}}}})
	var held uint64
	if err := e.db.Get(&held, "SELECT id FROM ext_configoptions_groups WHERE name = 'Game server extras'"); err != nil {
		t.Fatal(err)
	}
	c := newCConsoleTab(t, e)

	for _, tab := range []struct{ mode, want, absent string }{
		{"all", "Game server extras", ""},
		{"preset", "Game server extras", "VPS builder"},
		{"byo", "VPS builder", "Game server extras"},
	} {
		c.openOptions("groups?mode="+tab.mode, "Option groups")
		if cur := browsertest.Text(t, c.ctx(), `nav[aria-label="Group mode"] [aria-current="page"]`); cur == "" {
			t.Errorf("tab %s: no current tab", tab.mode)
		}
		table := browsertest.Text(t, c.ctx(), "table")
		if !strings.Contains(table, tab.want) || (tab.absent != "" && strings.Contains(table, tab.absent)) {
			t.Errorf("tab %s lists %q", tab.mode, table)
		}
		browsertest.CheckAccessibility(t, c.ctx())
		if tab.mode == "all" {
			c.b.Screenshot(t, "console-groups")
		}
	}

	c.openOptions("groups/"+strconv.FormatUint(held, 10), "Option group: Game server extras")
	browsertest.CheckAccessibility(t, c.ctx())
	c.b.Screenshot(t, "console-group-edit")

	// Delete, from the keyboard: refused on the page with the reason, the
	// group kept.
	c.press(`form[action$="/delete"] button`, browsertest.KeyEnter)
	c.waitFor(".notice.bad")
	if msg := browsertest.Text(t, c.ctx(), ".notice.bad"); !strings.Contains(msg, "cannot be deleted while services hold them") {
		t.Fatalf("delete refusal %q", msg)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM ext_configoptions_groups WHERE id = "+strconv.FormatUint(held, 10)+" AND deleted_at IS NULL"); n != 1 {
		t.Fatal("the held group is gone")
	}
	browsertest.CheckAccessibility(t, c.ctx())

	c.openOptions("changes", "Option changes")
	if table := browsertest.Text(t, c.ctx(), "table"); !strings.Contains(table, "awaiting_payment") || !strings.Contains(table, strconv.FormatUint(e.seeded.ServiceID, 10)) {
		t.Fatalf("changes list: %q", table)
	}
	browsertest.CheckAccessibility(t, c.ctx())
	c.b.Screenshot(t, "console-changes")
	c.checkOptionsClean()
}
