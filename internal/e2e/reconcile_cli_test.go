package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/internal/cli"
	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/pterosim"
)

// driftReport is the JSON of /m/microupsell/admin/reconcile, as the test
// reads it.
type driftReport struct {
	Fix      bool `json:"fix"`
	Checked  int  `json:"checked"`
	Services []struct {
		ServiceID     uint64 `json:"service_id"`
		Status        string `json:"status"`
		ExpectedPrice string `json:"expected_price"`
		PanelPrice    string `json:"panel_price"`
		Limits        []struct {
			Resource string `json:"resource"`
			Expected *int64 `json:"expected"`
			Current  *int64 `json:"current"`
		} `json:"limits"`
		Findings []struct {
			Kind     string `json:"kind"`
			Verdict  string `json:"verdict"`
			Resource string `json:"resource"`
			Expected string `json:"expected"`
			Actual   string `json:"actual"`
			Outcome  string `json:"outcome"`
		} `json:"findings"`
	} `json:"services"`
	Fixed int `json:"fixed"`
	Left  int `json:"left"`
}

// findings lists a report's findings as "service kind resource verdict
// expected actual outcome", sorted.
func (r driftReport) findings() []string {
	var out []string
	for _, s := range r.Services {
		for _, f := range s.Findings {
			out = append(out, strings.Join([]string{itoa(s.ServiceID), f.Kind, f.Resource, f.Verdict, f.Expected, f.Actual, f.Outcome}, " "))
		}
	}
	slices.Sort(out)
	return out
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// reconcileState is what a report must leave as it was: both services'
// prices and memory, the module's expectations, restorations and build
// changes.
type reconcileState struct {
	price1, price2   string
	memory1, memory2 int
	expected         string
	restored         int
	builds           int
}

// Upsell sets the price and the limits; the panel undoes them on one
// service and cancels the other. `upsell reconcile` reports both and
// changes nothing; --fix restores the first once and leaves the cancelled
// one to a human, and exits non-zero while it is there.
func TestReconcileCLI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pkg := e.ramPackage()

	// Two services of the seeded user buy +1 GB RAM (+2.00 a month).
	svc1 := e.seeded.ServiceID
	svc2, err := schema.AddService(ctx, e.db, schema.ServiceSpec{
		OrderID: e.seeded.OrderID, UserID: e.seeded.UserID, ProductID: e.seeded.ProductID, PlanID: e.seeded.PlanID,
		Currency: "EUR", Price: decimal.RequireFromString("10.00"), ExpiresAt: fifteenDaysLeft(e.now),
	})
	if err != nil {
		t.Fatal(err)
	}
	server2, err := e.addServer(svc2)
	if err != nil {
		t.Fatal(err)
	}
	o1 := e.buy(pkg, "k1")
	r := e.do("POST", "/m/microupsell/orders", e.clientOf(svc2, "k2"), map[string]any{"package_id": pkg})
	if r.code != http.StatusCreated {
		t.Fatalf("buy for service %d: %d %s", svc2, r.code, r.body)
	}
	var o2 orderOut
	r.decode(t, &o2)
	for _, inv := range []uint64{o1.InvoiceID, o2.InvoiceID} {
		e.pay(inv)
		if _, err := e.inbox.RecordPaid(ctx, inv, intake.FromWebhook); err != nil {
			t.Fatal(err)
		}
	}
	e.drain()

	state := func() reconcileState {
		t.Helper()
		var s reconcileState
		for _, v := range []struct {
			id  uint64
			dst *string
		}{{svc1, &s.price1}, {svc2, &s.price2}} {
			if err := e.db.Get(v.dst, "SELECT CAST(price AS CHAR) FROM services WHERE id = ?", v.id); err != nil {
				t.Fatal(err)
			}
		}
		srv1, _ := e.sim.Server(e.serverID)
		srv2, _ := e.sim.Server(server2)
		s.memory1, s.memory2 = srv1.Limits.Memory, srv2.Limits.Memory
		if err := e.db.Get(&s.expected, "SELECT COALESCE(GROUP_CONCAT(CONCAT_WS(' ', service_id, expected_price, expected_limits, updated_at) ORDER BY service_id), '') FROM ext_micro_upsell_services"); err != nil {
			t.Fatal(err)
		}
		s.restored = e.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.restored'")
		s.builds = e.sim.Requests(pterosim.RouteUpdateBuild)
		return s
	}
	if s := state(); s.price1 != "12.00" || s.price2 != "12.00" || s.memory1 != 5120 || s.memory2 != 5120 {
		t.Fatalf("after the purchases: %+v", s)
	}

	// The CLI as an admin runs it: the token from the config file, the
	// daemon's URL from --server.
	cfgPath := filepath.Join(t.TempDir(), "upsell.yaml")
	if err := os.WriteFile(cfgPath, []byte("security:\n  admin_token: \""+e.cfg.Security.AdminToken.Reveal()+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		root := cli.NewRoot(&out, &errOut)
		root.SetArgs(append([]string{"reconcile", "--server", e.http.URL, "--config", cfgPath}, args...))
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}
	runJSON := func(args ...string) (driftReport, error) {
		t.Helper()
		out, err := run(append(args, "--json")...)
		var rep driftReport
		if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
			t.Fatalf("reconcile --json %v printed %q (%v): %v", args, out, err, jerr)
		}
		return rep, err
	}

	// Nothing undone: an empty report, exit status 0.
	rep, err := runJSON()
	if err != nil || rep.Checked != 2 || len(rep.Services) != 0 || rep.Left != 0 || rep.Fixed != 0 || rep.Fix {
		t.Fatalf("no drift: %+v (%v)", rep, err)
	}
	out, err := run()
	if err != nil || !strings.Contains(out, "No drift: 2 service(s)") {
		t.Fatalf("no drift, table: %q (%v)", out, err)
	}
	// Only the admin token opens it.
	if r := e.do("GET", "/m/microupsell/admin/reconcile", e.client(""), nil); r.code != http.StatusUnauthorized {
		t.Fatalf("a client link reached reconcile: %d %s", r.code, r.body)
	}

	// Paymenter recomputes service 1's price from its plan and its upgrade
	// job PATCHes the product's 4096 MiB back; service 2 is cancelled.
	if _, err := e.db.Exec("UPDATE services SET price = 10.00 WHERE id = ?", svc1); err != nil {
		t.Fatal(err)
	}
	srv, _ := e.sim.Server(e.serverID)
	limits := srv.Limits
	limits.Memory = 4096
	if err := e.sim.SetServerLimits(e.serverID, limits, srv.FeatureLimits); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec("UPDATE services SET status = 'cancelled' WHERE id = ?", svc2); err != nil {
		t.Fatal(err)
	}
	drifted := state()

	// The report names all three and changes nothing.
	want := []string{
		itoa(svc1) + " limit_reset memory_mib restorable 5120 4096 left",
		itoa(svc1) + " price_recomputed  restorable 12.00 10.00 left",
		itoa(svc2) + " service_inactive  needs_human active cancelled left",
	}
	slices.Sort(want)
	rep, err = runJSON()
	if !errors.Is(err, cli.ErrDriftLeft) || rep.Left != 3 || rep.Fixed != 0 || !slices.Equal(rep.findings(), want) {
		t.Fatalf("drift report (%v): left %d fixed %d\n%s\nwant\n%s", err, rep.Left, rep.Fixed, strings.Join(rep.findings(), "\n"), strings.Join(want, "\n"))
	}
	for _, s := range rep.Services {
		if s.ServiceID == svc1 && (s.ExpectedPrice != "12.00" || s.PanelPrice != "10.00" || len(s.Limits) != 1 ||
			s.Limits[0].Expected == nil || *s.Limits[0].Expected != 5120 || s.Limits[0].Current == nil || *s.Limits[0].Current != 4096) {
			t.Fatalf("service %d report: %+v", svc1, s)
		}
	}
	out, err = run()
	if !errors.Is(err, cli.ErrDriftLeft) {
		t.Fatalf("report with drift exited cleanly: %q", out)
	}
	for _, line := range [][]string{
		{itoa(svc1), "limit_reset memory_mib", "5120", "4096", "restorable", "left"},
		{itoa(svc1), "price_recomputed", "12.00", "10.00", "restorable", "left"},
		{itoa(svc2), "service_inactive", "cancelled", "needs_human", "left", "refund"},
	} {
		if !hasLine(out, line...) {
			t.Fatalf("no line with %q in\n%s", line, out)
		}
	}
	if !strings.Contains(out, "0 fixed, 3 left") || !strings.Contains(out, "reconcile --fix") {
		t.Fatalf("report summary:\n%s", out)
	}
	if s := state(); s != drifted {
		t.Fatalf("the report changed something: %+v -> %+v", drifted, s)
	}

	// --fix restores service 1 (both, one audit entry, one build PATCH) and
	// leaves the cancelled service: drift remains, exit non-zero.
	out, err = run("--fix")
	if !errors.Is(err, cli.ErrDriftLeft) {
		t.Fatalf("fix with a cancelled service left exited with %v:\n%s", err, out)
	}
	for _, line := range [][]string{
		{itoa(svc1), "limit_reset memory_mib", "restorable", "fixed"},
		{itoa(svc1), "price_recomputed", "restorable", "fixed"},
		{itoa(svc2), "service_inactive", "needs_human", "left"},
	} {
		if !hasLine(out, line...) {
			t.Fatalf("no line with %q in\n%s", line, out)
		}
	}
	if !strings.Contains(out, "2 fixed, 1 left") {
		t.Fatalf("fix summary:\n%s", out)
	}
	fixed := state()
	if fixed.price1 != "12.00" || fixed.memory1 != 5120 || fixed.restored != 1 || fixed.builds != drifted.builds+1 ||
		fixed.price2 != drifted.price2 || fixed.memory2 != drifted.memory2 {
		t.Fatalf("after the fix: %+v (before %+v)", fixed, drifted)
	}
	var entry struct {
		ServiceID uint64 `db:"service_id"`
		Message   string
	}
	if err := e.db.Get(&entry, "SELECT service_id, message FROM upsell_audit WHERE action = 'addon.restored'"); err != nil ||
		entry.ServiceID != svc1 || !strings.Contains(entry.Message, "memory_mib 4096 -> 5120") || !strings.Contains(entry.Message, "recurring price 10.00 -> 12.00 EUR") {
		t.Fatalf("restoration entry %+v (%v)", entry, err)
	}

	// A second fix finds nothing on service 1 and still leaves service 2.
	rep, err = runJSON("--fix")
	want = []string{itoa(svc2) + " service_inactive  needs_human active cancelled left"}
	if !errors.Is(err, cli.ErrDriftLeft) || !rep.Fix || rep.Fixed != 0 || rep.Left != 1 || !slices.Equal(rep.findings(), want) {
		t.Fatalf("second fix (%v): %+v\n%s", err, rep, strings.Join(rep.findings(), "\n"))
	}
	if s := state(); s != fixed {
		t.Fatalf("the second fix changed something: %+v -> %+v", fixed, s)
	}

	// The adapter down: service 1 is an error of the report, not a failed
	// request, and nothing changes.
	e.sim.InjectFault(pterosim.Fault{Method: "GET", PathPrefix: "/api/application/servers", Status: 502, Count: 1000})
	rep, err = runJSON("--fix")
	e.sim.ClearFaults()
	want = []string{itoa(svc1) + " adapter_unreachable  error   left", itoa(svc2) + " service_inactive  needs_human active cancelled left"}
	slices.Sort(want)
	if !errors.Is(err, cli.ErrDriftLeft) || rep.Left != 2 || !slices.Equal(rep.findings(), want) {
		t.Fatalf("adapter down (%v): %+v\n%s", err, rep, strings.Join(rep.findings(), "\n"))
	}
	if s := state(); s != fixed {
		t.Fatalf("a fix with the adapter down changed something: %+v -> %+v", fixed, s)
	}

	// The admin refunds and cleans up service 2 by hand (here: it comes
	// back): nothing is left, exit status 0.
	if _, err := e.db.Exec("UPDATE services SET status = 'active' WHERE id = ?", svc2); err != nil {
		t.Fatal(err)
	}
	if out, err := run("--fix"); err != nil || !strings.Contains(out, "No drift: 2 service(s)") {
		t.Fatalf("nothing left: %q (%v)", out, err)
	}
}

// hasLine reports whether one line of out contains every part.
func hasLine(out string, parts ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		all := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
