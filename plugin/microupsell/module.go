// Package microupsell is the Micro-Upsell module: a client of an active game
// server buys a preset add-on (+1 GB RAM, +10 GB disk, +50 % CPU, +1 port,
// +1 database), pays today only for the days left in the current cycle, and
// from the next renewal pays the add-on's price scaled to the cycle. On
// payment the module applies the new limits through the host's Provision
// service and raises the service's recurring price, exactly once.
//
// The module is self-contained: its tables (ext_micro_upsell_*) and their
// migrations live in this folder; its pricing rules (written down with
// worked examples in README.md) are the contract's proration engine,
// hostapi/proration, which configurable options share. It reads the panel only through
// the host's Panel service.
package microupsell

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/proration"
	"github.com/upsell-io/upsell/plugin/microupsell/migrations"
)

// Name is the module's name, its route prefix (/m/microupsell/) and the
// owner recorded on its invoices.
const Name = "microupsell"

// Version is the module's version.
const Version = "0.1.0"

// Settings are the provider's choices, from `plugins.modules.microupsell`.
type Settings struct {
	// Proration is "calendar" (default) or "paymenter" (30-day months).
	Proration proration.Method
	// MaxOpenOrders bounds unpaid orders per service (invoice spam).
	MaxOpenOrders int
	// MaxApplyAttempts is how often a paid order is tried before it is
	// marked failed for the admin.
	MaxApplyAttempts int
	// InvoiceDueDays is when the add-on invoice falls due.
	InvoiceDueDays int
}

func parseSettings(s map[string]string) (Settings, error) {
	out := Settings{Proration: proration.Calendar, MaxOpenOrders: 3, MaxApplyAttempts: 5, InvoiceDueDays: 7}
	for k := range s {
		switch {
		case k == "proration", k == "max_open_orders", k == "max_apply_attempts", k == "invoice_due_days", faultSettings[k]:
		default:
			// A misspelt setting must not be silently ignored.
			return out, hostapi.Invalid(k, "unknown Micro-Upsell setting")
		}
	}
	if v := s["proration"]; v != "" {
		switch proration.Method(v) {
		case proration.Calendar, proration.Paymenter:
			out.Proration = proration.Method(v)
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
	// mux serves every route (newMux), built once.
	mux *http.ServeMux
}

// New returns the module; the host configures it.
func New() *Module {
	m := &Module{now: time.Now}
	m.mux = m.newMux()
	return m
}

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
	// The shop: pages a browser opens from the client's service page (see
	// shop.go). The page reads the same offer the list does.
	{Method: "GET", Path: "/shop", Access: hostapi.AccessClient, Page: true, Prefetch: []hostapi.Prefetch{
		{Name: offerPrefetch, SQL: selectOffer, Args: []hostapi.PrefetchArg{hostapi.PrefetchServiceID}},
		// The history and what applied add-ons hold: read by the host
		// beside the service, so the page's one call back is the live
		// read of the server's limits.
		{Name: historyPrefetch, SQL: selectShopHistory, Args: []hostapi.PrefetchArg{hostapi.PrefetchServiceID, hostapi.PrefetchUserID}},
		{Name: appliedPrefetch, SQL: appliedByResource, Args: []hostapi.PrefetchArg{hostapi.PrefetchServiceID}},
	}},
	{Method: "POST", Path: "/shop/confirm", Access: hostapi.AccessClient, Page: true},
	{Method: "POST", Path: "/shop/buy", Access: hostapi.AccessClient, Page: true},
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
	// The provider's console (console_*.go): pages over the admin API's
	// own code.
	{Method: "GET", Path: "/console/packages", Access: hostapi.AccessAdmin, Page: true, Nav: "Add-on packages"},
	{Method: "GET", Path: "/console/packages/", Access: hostapi.AccessAdmin, Page: true},
	{Method: "POST", Path: "/console/packages", Access: hostapi.AccessAdmin, Page: true},
	{Method: "POST", Path: "/console/packages/", Access: hostapi.AccessAdmin, Page: true},
	{Method: "GET", Path: "/console/orders", Access: hostapi.AccessAdmin, Page: true, Nav: "Add-on orders"},
	{Method: "GET", Path: "/console/orders/", Access: hostapi.AccessAdmin, Page: true},
	{Method: "POST", Path: "/console/orders/", Access: hostapi.AccessAdmin, Page: true},
	{Method: "GET", Path: "/console/reconcile", Access: hostapi.AccessAdmin, Page: true, Nav: "Drift"},
	{Method: "POST", Path: "/console/reconcile", Access: hostapi.AccessAdmin, Page: true},
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

// HandleHTTP serves a request the host has authenticated from the module's
// mux.
func (m *Module) HandleHTTP(ctx context.Context, req hostapi.HTTPRequest) (hostapi.HTTPResponse, error) {
	return hostapi.HandleWith(ctx, m.mux, req)
}

// newMux builds the module's one route table of handlers; the host's
// table (routes, with who may call each) is declared above.
func (m *Module) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /packages", m.listPackages)
	mux.Handle("POST /orders", jsonFunc(m.buy))
	mux.Handle("GET /orders", jsonFunc(func(r *http.Request) (int, any, error) {
		return m.clientOrders(r.Context(), hostapi.RequestOf(r).Principal)
	}))
	mux.HandleFunc("GET /shop", m.shopPage)
	mux.HandleFunc("POST /shop/confirm", m.shopConfirm)
	mux.HandleFunc("POST /shop/buy", m.shopBuy)

	mux.Handle("GET /admin/packages", adminOnly(func(r *http.Request) (int, any, error) {
		return m.adminListPackages(r.Context())
	}))
	mux.Handle("POST /admin/packages", adminOnly(func(r *http.Request) (int, any, error) {
		return m.adminCreatePackage(r.Context(), hostapi.RequestOf(r).Body)
	}))
	mux.Handle("PATCH /admin/packages/{id}", adminOnly(func(r *http.Request) (int, any, error) {
		id, err := pathID(r)
		if err != nil {
			return 0, nil, err
		}
		return m.adminUpdatePackage(r.Context(), id, hostapi.RequestOf(r).Body)
	}))
	mux.Handle("GET /admin/orders", adminOnly(func(r *http.Request) (int, any, error) {
		return m.adminListOrders(r.Context(), r.URL.Query())
	}))
	mux.Handle("GET /admin/orders/{id}", adminOnly(func(r *http.Request) (int, any, error) {
		id, err := pathID(r)
		if err != nil {
			return 0, nil, err
		}
		return m.adminShowOrder(r.Context(), id)
	}))
	mux.Handle("POST /admin/orders/{id}/retry", adminOnly(func(r *http.Request) (int, any, error) {
		id, err := pathID(r)
		if err != nil {
			return 0, nil, err
		}
		return m.adminRetry(r.Context(), id)
	}))
	mux.Handle("POST /admin/orders/{id}/cancel", adminOnly(func(r *http.Request) (int, any, error) {
		id, err := pathID(r)
		if err != nil {
			return 0, nil, err
		}
		return m.adminCancel(r.Context(), id)
	}))
	mux.Handle("GET /admin/reconcile", adminOnly(func(r *http.Request) (int, any, error) {
		return m.adminReconcile(r.Context(), false)
	}))
	mux.Handle("POST /admin/reconcile", adminOnly(func(r *http.Request) (int, any, error) {
		return m.adminReconcile(r.Context(), true)
	}))
	mux.HandleFunc("GET /console/packages", consolePage(m.consolePackages))
	mux.HandleFunc("GET /console/packages/new", consolePage(m.consolePackageNew))
	mux.HandleFunc("GET /console/packages/{id}", consolePage(m.consolePackageEdit))
	mux.HandleFunc("POST /console/packages", consolePage(func(w http.ResponseWriter, r *http.Request) {
		m.consolePackageSave(w, r, 0)
	}))
	mux.HandleFunc("POST /console/packages/{id}", consolePage(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			hostapi.Fail(w, err)
			return
		}
		m.consolePackageSave(w, r, id)
	}))
	mux.HandleFunc("GET /console/orders", consolePage(m.consoleOrders))
	mux.HandleFunc("GET /console/orders/{id}", consolePage(m.consoleOrder))
	mux.HandleFunc("POST /console/orders/{id}/retry", consolePage(m.consoleRetry))
	mux.HandleFunc("POST /console/orders/{id}/cancel", consolePage(m.consoleCancel))
	mux.HandleFunc("GET /console/reconcile", consolePage(m.consoleDrift))
	mux.HandleFunc("POST /console/reconcile", consolePage(m.consoleDrift))
	// The host forwards only the declared routes; a path under a declared
	// subtree that names nothing here is not found.
	mux.Handle("/", jsonFunc(func(*http.Request) (int, any, error) {
		return 0, nil, hostapi.Errorf(hostapi.CodeNotFound, "no such route")
	}))
	return mux
}

// jsonFunc is a JSON route: its status and body, or a typed error for the
// host to answer.
type jsonFunc func(r *http.Request) (int, any, error)

func (f jsonFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, v, err := f(r)
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	hostapi.WriteJSON(w, status, v)
}

// adminOnly is a JSON route for the admin token only. The host already
// refuses anyone else on an admin route; the module does not rely on it.
func adminOnly(f jsonFunc) jsonFunc {
	return func(r *http.Request) (int, any, error) {
		if hostapi.RequestOf(r).Principal.Kind != hostapi.Admin {
			return 0, nil, hostapi.Errorf(hostapi.CodePermission, "admin only")
		}
		return f(r)
	}
}

// consolePage is a console page for admins only; like adminOnly, it does
// not rely on the host's refusal alone.
func consolePage(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if hostapi.RequestOf(r).Principal.Kind != hostapi.Admin {
			hostapi.Fail(w, hostapi.Errorf(hostapi.CodePermission, "admin only"))
			return
		}
		f(w, r)
	}
}

// pathID is the route's {id}.
func pathID(r *http.Request) (uint64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return 0, hostapi.Invalid("id", "not an id: %q", v)
	}
	return id, nil
}
