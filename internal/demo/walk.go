package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/daemon"
	"github.com/upsell-io/upsell/internal/httpserver"
	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/obs"
	"github.com/upsell-io/upsell/internal/pterosim"
)

func randomHex() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// serveDaemon serves the daemon's HTTP API, and the demo's stand-in
// panel, on ln.
func serveDaemon(ctx context.Context, ln net.Listener, d *daemon.Daemon, logger *slog.Logger, panel *demoPanel) func() {
	srv := httpserver.New(httpserver.Options{Logger: logger, Metrics: obs.NewMetrics(), Ready: d.Ready})
	d.Mount(srv)
	panel.routes(srv)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = srv.Serve(sctx, ln); close(done) }()
	return func() { cancel(); <-done }
}

// walker drives the demo through the public HTTP API, as the panel, the
// client and the admin would.
type walker struct {
	p        func(string, ...any)
	d        *daemon.Daemon
	sim      *pterosim.Sim
	serverID int
	seeded   schema.Seeded
	base     string
	cfg      config.Config
	http     *http.Client
}

func (w *walker) call(ctx context.Context, method, path string, header map[string]string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s %s", method, path, resp.Status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

type quote struct {
	PackageID         uint64 `json:"package_id"`
	Name              string `json:"name"`
	DueToday          string `json:"due_today"`
	RecurringIncrease string `json:"recurring_increase"`
	NewRecurringPrice string `json:"new_recurring_price"`
	DaysLeft          int    `json:"days_left"`
	DaysInCycle       int    `json:"days_in_cycle"`
	Available         bool   `json:"available"`
	Reason            string `json:"reason"`
}

type order struct {
	ID            uint64 `json:"id"`
	State         string `json:"state"`
	DueToday      string `json:"due_today"`
	InvoiceID     uint64 `json:"invoice_id"`
	InvoiceNumber string `json:"invoice_number"`
	PayURL        string `json:"pay_url"`
	PriceBefore   string `json:"price_before"`
	PriceAfter    string `json:"price_after"`
	Reason        string `json:"reason"`
	History       []struct {
		State   string `json:"state"`
		Message string `json:"message"`
	} `json:"history"`
}

func (w *walker) run(ctx context.Context) error {
	p := w.p
	admin := map[string]string{"Authorization": "Bearer " + w.cfg.Security.AdminToken.Reveal()}
	for _, pkg := range []map[string]any{
		{"name": "+1 GB RAM", "resource": "memory_mib", "amount": 1024, "monthly_prices": map[string]string{"EUR": "2.00", "USD": "2.20"}, "sort": 1},
		{"name": "+10 GB disk", "resource": "disk_mib", "amount": 10240, "monthly_prices": map[string]string{"EUR": "1.50"}, "sort": 2},
		{"name": "+1 port", "resource": "ports", "amount": 1, "monthly_prices": map[string]string{"EUR": "0.99"}, "sort": 3},
	} {
		if _, err := w.call(ctx, "POST", "/m/microupsell/admin/packages", admin, pkg, nil); err != nil {
			return err
		}
	}
	p("4. admin created 3 packages through the admin API (bearer token)")

	svc, err := w.d.Panel.Service(ctx, w.seeded.ServiceID)
	if err != nil {
		return err
	}
	before, _ := w.sim.Server(w.serverID)
	p("5. service %d (%s): %s %s every %s, expires %s %s; server memory %d MiB, disk %d MiB",
		svc.ID, svc.ProductName, svc.Price.StringFixed(2), svc.Currency, svc.Cycle, svc.ExpiresAt.Format("2006-01-02 15:04"), svc.ExpiresAt.Location(), before.Limits.Memory, before.Limits.Disk)

	token := auth.SignLink([]byte(w.cfg.Security.LinkSecret.Reveal()), auth.NewLink(svc.UserID, svc.ID, time.Now(), time.Hour))
	client := map[string]string{"X-Upsell-Link": token}
	var list struct{ Packages []quote }
	if _, err := w.call(ctx, "GET", "/m/microupsell/packages", client, nil, &list); err != nil {
		return err
	}
	p("6. client opens the signed link and sees:")
	for _, q := range list.Packages {
		p("     #%d %-12s due today %s EUR (%d of %d days), recurring +%s -> %s EUR", q.PackageID, q.Name, q.DueToday, q.DaysLeft, q.DaysInCycle, q.RecurringIncrease, q.NewRecurringPrice)
	}
	if len(list.Packages) == 0 {
		return errors.New("no packages offered")
	}
	ram := list.Packages[0]

	buy := map[string]string{"X-Upsell-Link": token, "Idempotency-Key": "demo-click-1"}
	var o1, o2 order
	if _, err := w.call(ctx, "POST", "/m/microupsell/orders", buy, map[string]any{"package_id": ram.PackageID}, &o1); err != nil {
		return err
	}
	if _, err := w.call(ctx, "POST", "/m/microupsell/orders", buy, map[string]any{"package_id": ram.PackageID}, &o2); err != nil {
		return err
	}
	p("7. client buys %q (double click): order %d and order %d, one invoice %s for %s EUR, pay at %s", ram.Name, o1.ID, o2.ID, o1.InvoiceNumber, o1.DueToday, o1.PayURL)
	if o1.ID != o2.ID {
		return errors.New("a double click made two orders")
	}

	inv, err := w.d.Panel.Invoice(ctx, o1.InvoiceID)
	if err != nil {
		return err
	}
	if err := payInvoice(ctx, w.d.DB, inv); err != nil {
		return err
	}
	p("8. client pays invoice %s (%s EUR) at the panel's gateway", inv.Number, inv.Total.StringFixed(2))

	body := []byte(`{"event":"invoice.paid","invoice_id":` + strconv.FormatUint(inv.ID, 10) + `}`)
	for range 2 {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		hook := map[string]string{intake.HeaderTimestamp: ts, intake.HeaderSignature: intake.Sign([]byte(w.cfg.Security.WebhookSecret.Reveal()), ts, body)}
		req, _ := http.NewRequestWithContext(ctx, "POST", w.base+"/webhooks/paymenter", bytes.NewReader(body))
		for k, v := range hook {
			req.Header.Set(k, v)
		}
		resp, err := w.http.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("webhook answered %s", resp.Status)
		}
	}
	p("9. the panel bridge's signed webhook arrives twice (and the poller watches too)")

	var done order
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := w.call(ctx, "GET", "/m/microupsell/admin/orders/"+strconv.FormatUint(o1.ID, 10), admin, nil, &done); err != nil {
			return err
		}
		if done.State != "awaiting_payment" && done.State != "paid" && done.State != "applying" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("order %d still %s after 60s", o1.ID, done.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p("10. order %d is %s:", done.ID, done.State)
	for _, h := range done.History {
		p("     - %s: %s", h.State, h.Message)
	}
	if done.State != "applied" {
		return fmt.Errorf("order ended %s: %s", done.State, done.Reason)
	}

	after, _ := w.sim.Server(w.serverID)
	svcAfter, err := w.d.Panel.Service(ctx, svc.ID)
	if err != nil {
		return err
	}
	var jobs, audits int
	_ = w.d.DB.GetContext(ctx, &jobs, "SELECT COUNT(*) FROM upsell_jobs WHERE kind = 'event'")
	_ = w.d.DB.GetContext(ctx, &audits, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.applied'")
	patches := w.sim.Requests(pterosim.RouteUpdateBuild)
	wantPrice := svc.Price.Add(decimal.RequireFromString(ram.RecurringIncrease))
	p("11. end state: Pterodactyl memory %d -> %d MiB (%d build PATCH), recurring price %s -> %s EUR, %d job, %d purchase log entry",
		before.Limits.Memory, after.Limits.Memory, patches, svc.Price.StringFixed(2), svcAfter.Price.StringFixed(2), jobs, audits)
	if after.Limits.Memory != before.Limits.Memory+1024 || !svcAfter.Price.Equal(wantPrice) || jobs != 1 || audits != 1 || patches != 1 ||
		after.Limits.Disk != before.Limits.Disk || after.FeatureLimits.Backups != before.FeatureLimits.Backups {
		return errors.New("end state is wrong")
	}
	p("OK: paid once, applied once, price raised once; nothing else on the server changed.")
	return w.byoQuote(ctx, admin)
}

// byoQuote loads the Build-Your-Own seed groups and prices a VPS the way a
// pricing page does on every slider move.
func (w *walker) byoQuote(ctx context.Context, admin map[string]string) error {
	if _, err := w.call(ctx, "POST", "/m/configoptions/admin/seed", admin, nil, nil); err != nil {
		return err
	}
	var list struct {
		Groups []struct {
			ID          uint64 `json:"id"`
			ServiceType string `json:"service_type"`
		} `json:"groups"`
	}
	if _, err := w.call(ctx, "GET", "/m/configoptions/admin/groups?mode=byo", admin, nil, &list); err != nil {
		return err
	}
	var doc struct {
		Options []struct {
			ID  uint64 `json:"id"`
			Key string `json:"provisioning_key"`
		} `json:"options"`
	}
	for _, g := range list.Groups {
		if g.ServiceType == "vps" {
			if _, err := w.call(ctx, "GET", "/m/configoptions/admin/groups/"+strconv.FormatUint(g.ID, 10), admin, nil, &doc); err != nil {
				return err
			}
		}
	}
	ids := map[string]uint64{}
	for _, o := range doc.Options {
		ids[o.Key] = o.ID
	}
	var q struct {
		Totals     map[string]string `json:"totals"`
		HourlyRate string            `json:"hourly_rate"`
		MonthlyCap string            `json:"monthly_cap"`
	}
	body := map[string]any{"service_type": "vps", "choices": []map[string]any{
		{"option_id": ids["cpu_cores"], "quantity": 4}, {"option_id": ids["ram_gb"], "quantity": 8}, {"option_id": ids["disk_gb"], "quantity": 100}}}
	if _, err := w.call(ctx, "POST", "/m/configoptions/quote", nil, body, &q); err != nil {
		return err
	}
	w.p("12. Build-Your-Own seed groups loaded (VPS, MySQL, game); a pricing page quotes 4 cores, 8 GB RAM, 100 GB SSD:")
	w.p("     monthly %s, quarterly %s, semi-annual %s, annual %s EUR; hourly %s EUR, capped at %s a month",
		q.Totals["monthly"], q.Totals["quarterly"], q.Totals["semi_annual"], q.Totals["annual"], q.HourlyRate, q.MonthlyCap)
	// 4 x 2.00 + 8 x 1.00 + 100 x 0.05 = 21.00
	if q.Totals["monthly"] != "21.00" || q.Totals["annual"] != "252.00" || q.HourlyRate != "0.0340" {
		return errors.New("the BYO quote is wrong")
	}
	return nil
}

// serve keeps the daemon up after the walk and prints where to click: the
// demo panel's client area (which signs links as the bridge does), a fresh
// link straight into the add-on shop, the configurator and a checkout.
func (w *walker) serve(ctx context.Context, panel *demoPanel) error {
	optionsService, err := w.optionsDemo(ctx, panel)
	if err != nil {
		return fmt.Errorf("prepare the option pages: %w", err)
	}
	panel.services = append(panel.services, optionsService)
	shopLink := auth.SignLink(panel.secret, auth.NewLink(panel.userID, panel.service, time.Now(), panel.ttl))
	p := w.p
	p("")
	p("== serving on %s until interrupted (Ctrl-C) ==", w.base)
	p("  client area (demo panel):  %s%s/", w.base, panelPath)
	p("  add-on shop (fresh link):  %s/m/microupsell/shop?link=%s", w.base, url.QueryEscape(shopLink))
	p("  change options:            %s%s/services/%d/options", w.base, panelPath, optionsService)
	p("  Build-Your-Own configurator: %s/m/configoptions/configure", w.base)
	p("  checkout (signs in through the demo panel): %s/m/configoptions/checkout?product=%d&plan=%d&currency=EUR", w.base, w.seeded.ProductID, w.seeded.PlanID)
	p("  provider console (as the panel's admin): %s%s/admin/upsell", w.base, panelPath)
	p("  console sign-in with the admin token %s: %s/console/sign-in", w.cfg.Security.AdminToken.Reveal(), w.base)
	<-ctx.Done()
	return nil
}

// optionsDemo prepares what the checkout and the option-change pages need
// to be clicked through: an option group on the seeded product, and a
// second service ordered with it, paid and activated as the panel would
// once its server is built. It returns that service's id.
func (w *walker) optionsDemo(ctx context.Context, panel *demoPanel) (uint64, error) {
	admin := map[string]string{"Authorization": "Bearer " + w.cfg.Security.AdminToken.Reveal()}
	var g struct {
		Options []struct {
			ID     uint64 `json:"id"`
			Name   string `json:"name"`
			Values []struct {
				ID    uint64 `json:"id"`
				Label string `json:"label"`
			} `json:"values"`
		} `json:"options"`
	}
	if _, err := w.call(ctx, "POST", "/m/configoptions/admin/groups", admin, map[string]any{
		"name": "Game server extras", "mode": "preset", "product_ids": []uint64{w.seeded.ProductID},
		"options": []map[string]any{
			{"name": "Location", "type": "radio", "required": true, "values": []map[string]any{
				{"label": "Frankfurt", "raw": "fra", "default": true, "prices": map[string]string{"monthly": "0.00"}},
				{"label": "Helsinki", "raw": "hel", "sort": 1, "prices": map[string]string{"monthly": "1.00"}},
			}},
			{"name": "Extra RAM", "type": "slider", "provisioning_key": "ram_gb", "min": 0, "max": 16, "step": 1, "unit": "GB", "sort": 1,
				"unit_prices": map[string]string{"monthly": "2.00", "hourly": "0.0030"}},
			{"name": "Daily backups", "type": "checkbox", "sort": 2, "values": []map[string]any{
				{"label": "Yes", "raw": "1", "prices": map[string]string{"monthly": "1.50"}}}},
		},
	}, &g); err != nil {
		return 0, err
	}
	ids := map[string]uint64{}
	var helsinki uint64
	for _, o := range g.Options {
		ids[o.Name] = o.ID
		for _, v := range o.Values {
			if v.Label == "Helsinki" {
				helsinki = v.ID
			}
		}
	}
	user := map[string]string{
		"X-Upsell-Link":   auth.SignLink(panel.secret, auth.NewLink(panel.userID, 0, time.Now(), panel.ttl)),
		"Idempotency-Key": "demo-options-service",
	}
	var placed struct {
		ServiceID uint64 `json:"service_id"`
		InvoiceID uint64 `json:"invoice_id"`
	}
	if _, err := w.call(ctx, "POST", "/m/configoptions/checkout", user, map[string]any{
		"product_id": w.seeded.ProductID, "plan_id": w.seeded.PlanID, "currency": "EUR",
		"choices": []map[string]any{{"option_id": ids["Location"], "value_id": helsinki}, {"option_id": ids["Extra RAM"], "quantity": 2}},
	}, &placed); err != nil {
		return 0, err
	}
	inv, err := w.d.Panel.Invoice(ctx, placed.InvoiceID)
	if err != nil {
		return 0, err
	}
	if err := payInvoice(ctx, panel.db, inv); err != nil {
		return 0, err
	}
	// What Paymenter does once its server extension has built the server:
	// the service is active for a month; the demo's Pterodactyl simulator
	// holds the server.
	if _, err := panel.db.ExecContext(ctx, "UPDATE services SET status = 'active', expires_at = ? WHERE id = ?",
		time.Now().AddDate(0, 1, 0).Format("2006-01-02 15:04:05"), placed.ServiceID); err != nil {
		return 0, err
	}
	if _, err := seedServer(w.sim, placed.ServiceID); err != nil {
		return 0, err
	}
	return placed.ServiceID, nil
}
