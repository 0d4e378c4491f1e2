// Package microupsell is the Micro-Upsell module: a client of an active game
// server buys a preset add-on (+1 GB RAM, +10 GB disk, +50 % CPU, +1 port,
// +1 database), pays today only for the days left in the current cycle, and
// from the next renewal pays the add-on's price scaled to the cycle. On
// payment the module applies the new limits through the host's Provision
// service and raises the service's recurring price, exactly once.
//
// The module is self-contained: its tables (ext_micro_upsell_*) and their
// migrations live in this folder, its pricing rules in ./pricing (written
// down with worked examples in README.md). It reads the panel only through
// the host's Panel service.
package microupsell

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/plugin/microupsell/migrations"
	"github.com/upsell-io/upsell/plugin/microupsell/pricing"
)

// Name is the module's name, its route prefix (/m/microupsell/) and the
// owner recorded on its invoices.
const Name = "microupsell"

// Version is the module's version.
const Version = "0.1.0"

// Settings are the provider's choices, from `plugins.modules.microupsell`.
type Settings struct {
	// Proration is "calendar" (default) or "paymenter" (30-day months).
	Proration pricing.Method
	// MaxOpenOrders bounds unpaid orders per service (invoice spam).
	MaxOpenOrders int
	// MaxApplyAttempts is how often a paid order is tried before it is
	// marked failed for the admin.
	MaxApplyAttempts int
	// InvoiceDueDays is when the add-on invoice falls due.
	InvoiceDueDays int
}

func parseSettings(s map[string]string) (Settings, error) {
	out := Settings{Proration: pricing.Calendar, MaxOpenOrders: 3, MaxApplyAttempts: 5, InvoiceDueDays: 7}
	for k := range s {
		switch {
		case k == "proration", k == "max_open_orders", k == "max_apply_attempts", k == "invoice_due_days", faultSettings[k]:
		default:
			// A misspelt setting must not be silently ignored.
			return out, hostapi.Invalid(k, "unknown Micro-Upsell setting")
		}
	}
	if v := s["proration"]; v != "" {
		switch pricing.Method(v) {
		case pricing.Calendar, pricing.Paymenter:
			out.Proration = pricing.Method(v)
		default:
			return out, hostapi.Invalid("proration", "must be calendar or paymenter, not %q", v)
		}
	}
	for key, dst := range map[string]*int{"max_open_orders": &out.MaxOpenOrders, "max_apply_attempts": &out.MaxApplyAttempts, "invoice_due_days": &out.InvoiceDueDays} {
		if v := s[key]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return out, hostapi.Invalid(key, "must be a positive integer, not %q", v)
			}
			*dst = n
		}
	}
	return out, nil
}

// Module implements hostapi.Module.
type Module struct {
	mu       sync.RWMutex
	host     hostapi.Host
	settings Settings
	// faults holds fault-injection settings (faults builds only).
	faults map[string]string
	now    func() time.Time
}

// New returns the module; the host configures it.
func New() *Module { return &Module{now: time.Now} }

// Serve runs the module as a plugin process.
func Serve() { hostapi.ServeModule(New()) }

var routes = []hostapi.Route{
	// The client's list is the hot path: the host reads the offer while it
	// loads the service, and the module answers without calling back.
	{Method: "GET", Path: "/packages", Access: hostapi.AccessClient, Prefetch: []hostapi.Prefetch{
		{Name: offerPrefetch, SQL: selectOffer, Args: []hostapi.PrefetchArg{hostapi.PrefetchServiceID}},
	}},
	{Method: "POST", Path: "/orders", Access: hostapi.AccessClient},
	{Method: "GET", Path: "/orders", Access: hostapi.AccessClient},
	{Method: "GET", Path: "/admin/packages", Access: hostapi.AccessAdmin},
	{Method: "POST", Path: "/admin/packages", Access: hostapi.AccessAdmin},
	{Method: "PATCH", Path: "/admin/packages/", Access: hostapi.AccessAdmin},
	{Method: "GET", Path: "/admin/orders", Access: hostapi.AccessAdmin},
	{Method: "GET", Path: "/admin/orders/", Access: hostapi.AccessAdmin},
	{Method: "POST", Path: "/admin/orders/", Access: hostapi.AccessAdmin},
	// GET reports drift between what upsell set and the panel and server;
	// POST also repairs what is safe to repair.
	{Method: "GET", Path: "/admin/reconcile", Access: hostapi.AccessAdmin},
	{Method: "POST", Path: "/admin/reconcile", Access: hostapi.AccessAdmin},
}

// Describe tells the host the module's routes, events and migrations.
func (m *Module) Describe(context.Context) (hostapi.ModuleInfo, error) {
	ms, err := migrations.All()
	if err != nil {
		return hostapi.ModuleInfo{}, hostapi.Errorf(hostapi.CodeInternal, "migrations: %w", err)
	}
	return hostapi.ModuleInfo{
		Name: Name, Version: Version, TablePrefix: "ext_micro_upsell_",
		Routes: routes, Events: []hostapi.EventKind{hostapi.InvoicePaidEvent, hostapi.ReconcileEvent}, Migrations: ms,
	}, nil
}

// Configure keeps the host API and the provider's settings.
func (m *Module) Configure(_ context.Context, host hostapi.Host, settings map[string]string) error {
	s, err := parseSettings(settings)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.host, m.settings, m.faults = host, s, map[string]string{}
	for k := range faultSettings {
		m.faults[k] = settings[k]
	}
	return nil
}

func (m *Module) deps() (hostapi.Host, Settings) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.host, m.settings
}

// HandleHTTP routes a request the host has authenticated.
func (m *Module) HandleHTTP(ctx context.Context, req hostapi.HTTPRequest) (hostapi.HTTPResponse, error) {
	p := req.Principal
	switch {
	case req.Method == "GET" && req.Path == "/packages":
		return m.listPackages(ctx, req)
	case req.Method == "POST" && req.Path == "/orders":
		return m.buy(ctx, p, req)
	case req.Method == "GET" && req.Path == "/orders":
		return m.clientOrders(ctx, p)
	}
	if p.Kind != hostapi.Admin {
		return hostapi.HTTPResponse{}, hostapi.Errorf(hostapi.CodePermission, "admin only")
	}
	switch {
	case req.Method == "GET" && req.Path == "/admin/packages":
		return m.adminListPackages(ctx)
	case req.Method == "POST" && req.Path == "/admin/packages":
		return m.adminCreatePackage(ctx, req.Body)
	case req.Method == "PATCH" && strings.HasPrefix(req.Path, "/admin/packages/"):
		id, err := pathID(req.Path, "/admin/packages/")
		if err != nil {
			return hostapi.HTTPResponse{}, err
		}
		return m.adminUpdatePackage(ctx, id, req.Body)
	case req.Method == "GET" && req.Path == "/admin/orders":
		return m.adminListOrders(ctx, req.Query)
	case req.Method == "GET" && strings.HasPrefix(req.Path, "/admin/orders/"):
		id, err := pathID(req.Path, "/admin/orders/")
		if err != nil {
			return hostapi.HTTPResponse{}, err
		}
		return m.adminShowOrder(ctx, id)
	case req.Method == "POST" && strings.HasPrefix(req.Path, "/admin/orders/") && strings.HasSuffix(req.Path, "/retry"):
		id, err := pathID(strings.TrimSuffix(req.Path, "/retry"), "/admin/orders/")
		if err != nil {
			return hostapi.HTTPResponse{}, err
		}
		return m.adminRetry(ctx, id)
	case req.Method == "GET" && req.Path == "/admin/reconcile":
		return m.adminReconcile(ctx, false)
	case req.Method == "POST" && req.Path == "/admin/reconcile":
		return m.adminReconcile(ctx, true)
	}
	return jsonResponse(http.StatusNotFound, map[string]string{"error": "no such route"})
}

func pathID(path, prefix string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimPrefix(path, prefix), 10, 64)
	if err != nil || id == 0 {
		return 0, hostapi.Invalid("id", "not an id: %q", strings.TrimPrefix(path, prefix))
	}
	return id, nil
}

func jsonResponse(status int, v any) (hostapi.HTTPResponse, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return hostapi.HTTPResponse{}, hostapi.Errorf(hostapi.CodeInternal, "encode response: %w", err)
	}
	return hostapi.HTTPResponse{Status: status, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: b}, nil
}
