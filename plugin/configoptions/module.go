// Package configoptions is the configurable-options module: a provider
// defines option groups (preset groups that add options such as extra RAM or
// a location to panel products, and Build-Your-Own groups that are the
// configurator of a service type), a client picks values and quantities, and
// what a service holds is kept with the price it was sold at.
//
// The module is self-contained: its tables (ext_configoptions_*) and their
// migrations live in ./migrations, its pure domain rules (validation,
// pricing, coupons) in ./catalog, and README.md describes the data model,
// the admin API and the soft-delete rules. It reaches its tables only
// through the host's Store.
package configoptions

import (
	"context"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/plugin/configoptions/migrations"
)

// Name is the module's name and its route prefix (/m/configoptions/).
const Name = "configoptions"

// Version is the module's version.
const Version = "0.1.0"

// TablePrefix starts the name of every table the module owns; the host's
// Store refuses any other table.
const TablePrefix = "ext_configoptions_"

// Module implements hostapi.Module.
type Module struct {
	mu    sync.RWMutex
	host  hostapi.Host
	store *groupStore
	now   func() time.Time
	// snapshot is the catalog the public quote reads (see quote.go).
	snapshot catalogSnapshot
	// mux serves the routes table; pages are the templates of pages.go.
	mux   *http.ServeMux
	pages *template.Template
}

// New returns the module; the host configures it.
func New() *Module {
	m := &Module{now: time.Now, pages: pageTemplates}
	m.mux = m.newMux()
	return m
}

// Serve runs the module as a plugin process.
func Serve() { hostapi.ServeModule(New()) }

// apiHandler serves one JSON route from the host's request: a status and
// a value to answer as JSON, or a typed error. id is the route's {id}, 0
// for a route without one.
type apiHandler func(m *Module, ctx context.Context, req hostapi.HTTPRequest, id uint64) (int, any, error)

// pageHandler serves one HTML page (see pages.go).
type pageHandler func(m *Module, w http.ResponseWriter, r *http.Request)

// route is one HTTP route: Describe declares it to the host and the mux
// serves it, so the two cannot disagree.
type route struct {
	method string
	// path is relative to /m/configoptions, a pattern of http.ServeMux; a
	// trailing "/{id}" matches one positive number.
	path   string
	access hostapi.Access
	api    apiHandler
	page   pageHandler
	// nav is the label of a console page in the console's navigation
	// (the host's Route.Nav).
	nav string
}

const idSegment = "/{id}"

// routes is every route the module serves. The mux checks each route's
// access level, so a new route needs no check of its own.
var routes = []route{
	{method: "GET", path: "/admin/groups", access: hostapi.AccessAdmin, api: (*Module).adminListGroups},
	{method: "POST", path: "/admin/groups", access: hostapi.AccessAdmin, api: (*Module).adminCreateGroup},
	{method: "GET", path: "/admin/groups" + idSegment, access: hostapi.AccessAdmin, api: (*Module).adminGetGroup},
	{method: "PUT", path: "/admin/groups" + idSegment, access: hostapi.AccessAdmin, api: (*Module).adminReplaceGroup},
	{method: "DELETE", path: "/admin/groups" + idSegment, access: hostapi.AccessAdmin, api: (*Module).adminDeleteGroup},
	{method: "POST", path: "/admin/seed", access: hostapi.AccessAdmin, api: (*Module).adminSeed},
	{method: "POST", path: "/quote", access: hostapi.AccessPublic, api: (*Module).publicQuote},
	{method: "POST", path: "/checkout", access: hostapi.AccessUser, api: (*Module).checkout},
	{method: "GET", path: "/service", access: hostapi.AccessClient, api: (*Module).serviceOptions},
	{method: "POST", path: "/change/quote", access: hostapi.AccessClient, api: (*Module).changeQuote},
	{method: "POST", path: "/change", access: hostapi.AccessClient, api: (*Module).placeChange},
	{method: "POST", path: "/change/cancel", access: hostapi.AccessClient, api: (*Module).cancelChange},
	{method: "GET", path: "/admin/changes", access: hostapi.AccessAdmin, api: (*Module).adminListChanges},
	{method: "POST", path: "/admin/changes/retry" + idSegment, access: hostapi.AccessAdmin, api: (*Module).adminRetryChange},
	// Pages (pages.go): HTML a browser opens, their forms and live
	// fragments.
	{method: "GET", path: "/configure", access: hostapi.AccessPublic, page: (*Module).configurePage},
	{method: "GET", path: "/checkout", access: hostapi.AccessUser, page: (*Module).checkoutPage},
	{method: "POST", path: "/checkout/summary", access: hostapi.AccessUser, page: (*Module).checkoutPage},
	{method: "POST", path: "/checkout/place", access: hostapi.AccessUser, page: (*Module).checkoutPlace},
	{method: "GET", path: "/change", access: hostapi.AccessClient, page: (*Module).changePage},
	{method: "POST", path: "/change/review", access: hostapi.AccessClient, page: (*Module).changePage},
	{method: "POST", path: "/change/confirm", access: hostapi.AccessClient, page: (*Module).changeConfirm},
	{method: "POST", path: "/change/withdraw", access: hostapi.AccessClient, page: (*Module).changeWithdraw},
	// The provider's console (console.go): admin pages.
	{method: "GET", path: "/console/groups", access: hostapi.AccessAdmin, page: (*Module).consoleGroups, nav: "Option groups"},
	{method: "GET", path: "/console/groups/new", access: hostapi.AccessAdmin, page: (*Module).consoleGroupNew},
	{method: "POST", path: "/console/groups/new", access: hostapi.AccessAdmin, page: (*Module).consoleGroupPost},
	{method: "GET", path: "/console/groups/{id}", access: hostapi.AccessAdmin, page: (*Module).consoleGroupEdit},
	{method: "POST", path: "/console/groups/{id}", access: hostapi.AccessAdmin, page: (*Module).consoleGroupPost},
	{method: "POST", path: "/console/groups/{id}/delete", access: hostapi.AccessAdmin, page: (*Module).consoleGroupDelete},
	{method: "GET", path: "/console/changes", access: hostapi.AccessAdmin, page: (*Module).consoleChanges, nav: "Option changes"},
	{method: "POST", path: "/console/changes/{id}/cancel", access: hostapi.AccessAdmin, page: (*Module).consoleChangeCancel},
}

// hostRoutes turns the table into the host's form: "/x/{id}" and
// "/x/{id}/y" become the subtree "/x/", which the host matches by prefix.
func hostRoutes() []hostapi.Route {
	out := make([]hostapi.Route, 0, len(routes))
	seen := map[string]bool{}
	for _, r := range routes {
		path, _, _ := strings.Cut(r.path, "{")
		hr := hostapi.Route{Method: r.method, Path: path, Access: r.access, Page: r.page != nil, Nav: r.nav}
		if key := hr.Method + " " + hr.Path; !seen[key] {
			seen[key] = true
			out = append(out, hr)
		}
	}
	return out
}

// newMux is the module's router, built once: every route of the table
// behind its access check, and a JSON 404 for anything else.
func (m *Module) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.path, m.serve(rt))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { notFound(w) })
	return mux
}

// serve is one route's handler. The host already checked the route's
// access level; the module checks it again so that a request reaching it
// by any other path (a test, a misdeclared route) is still refused.
func (m *Module) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := hostapi.RequestOf(r)
		if err := allowed(rt.access, req.Principal); err != nil {
			hostapi.Fail(w, err)
			return
		}
		if rt.page != nil {
			rt.page(m, w, r)
			return
		}
		var id uint64
		if strings.HasSuffix(rt.path, idSegment) {
			n, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
			if err != nil || n == 0 || strconv.FormatUint(n, 10) != r.PathValue("id") {
				// Not a positive number: no such route.
				notFound(w)
				return
			}
			id = n
		}
		status, v, err := rt.api(m, r.Context(), *req, id)
		if err != nil {
			hostapi.Fail(w, err)
			return
		}
		hostapi.WriteJSON(w, status, v)
	})
}

// notFound is the JSON 404 of an unknown route, in the shape the host
// gives typed errors.
func notFound(w http.ResponseWriter) {
	hostapi.WriteJSON(w, http.StatusNotFound, errorBody{Error: errorDetail{Code: string(hostapi.CodeNotFound), Message: "no such route"}})
}

// Describe tells the host the module's routes, events and migrations.
func (m *Module) Describe(context.Context) (hostapi.ModuleInfo, error) {
	ms, err := migrations.All()
	if err != nil {
		return hostapi.ModuleInfo{}, hostapi.Errorf(hostapi.CodeInternal, "migrations: %w", err)
	}
	return hostapi.ModuleInfo{Name: Name, Version: Version, TablePrefix: TablePrefix, Routes: hostRoutes(), Events: []hostapi.EventKind{hostapi.InvoicePaidEvent, hostapi.ReconcileEvent}, Migrations: ms}, nil
}

// Configure keeps the host API. The module has no settings yet: any key is
// refused, so a misspelt or premature setting is not silently ignored.
func (m *Module) Configure(_ context.Context, host hostapi.Host, settings map[string]string) error {
	if len(settings) > 0 {
		keys := slices.Sorted(maps.Keys(settings))
		return hostapi.Invalid(keys[0], "unknown configoptions setting (the module has no settings)")
	}
	if host.Store == nil {
		return hostapi.Errorf(hostapi.CodeInvalid, "configoptions needs the host's Store")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.host = host
	m.store = &groupStore{db: host.Store, audit: host.Audit, now: m.now}
	return nil
}

// hostAPI is the host API the module was configured with.
func (m *Module) hostAPI() hostapi.Host {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.host
}

// groups returns the store, or CodeUnavailable before Configure.
func (m *Module) groups() (*groupStore, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.store == nil {
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "configoptions is not configured yet")
	}
	return m.store, nil
}

// HandleEvent acts on a paid invoice of the module's: a checkout's first
// invoice (the panel itself activates and provisions the service when it
// sees the payment, since the invoice's item references the service; the
// module only closes its checkout, once, and logs it) or an option
// change's invoice (applied once). The reconcile round finishes changes
// left half-way.
func (m *Module) HandleEvent(ctx context.Context, ev hostapi.Event) (hostapi.EventResult, error) {
	switch ev.Kind {
	case hostapi.ReconcileEvent:
		n, err := m.finishPendingChanges(ctx)
		return hostapi.EventResult{Handled: true, Message: fmt.Sprintf("%d option changes finished", n)}, err
	case hostapi.InvoicePaidEvent:
	default:
		return hostapi.EventResult{Handled: false, Message: "configoptions handles paid invoices and reconcile rounds"}, nil
	}
	if c, ok, err := m.changeWhere(ctx, "", selectChangeByInvoice, ev.InvoiceID); err != nil {
		return hostapi.EventResult{}, err
	} else if ok {
		return m.changePaid(ctx, c)
	}
	return m.checkoutPaid(ctx, ev.InvoiceID)
}

// HandleHTTP serves a request the host has authenticated with the
// module's mux.
func (m *Module) HandleHTTP(ctx context.Context, req hostapi.HTTPRequest) (hostapi.HTTPResponse, error) {
	return hostapi.HandleWith(ctx, m.mux, req)
}

func allowed(access hostapi.Access, p hostapi.Principal) error {
	switch access {
	case hostapi.AccessPublic:
		return nil
	case hostapi.AccessClient:
		if p.Kind == hostapi.Client && p.UserID != 0 {
			return nil
		}
		return hostapi.Errorf(hostapi.CodePermission, "this route needs a client link")
	case hostapi.AccessUser:
		if p.Kind == hostapi.Client && p.UserID != 0 && p.ServiceID == 0 {
			return nil
		}
		return hostapi.Errorf(hostapi.CodePermission, "this route needs a user's link")
	case hostapi.AccessAdmin:
		if p.Kind == hostapi.Admin {
			return nil
		}
		return hostapi.Errorf(hostapi.CodePermission, "admin only")
	}
	return hostapi.Errorf(hostapi.CodeInternal, "route with unknown access level %q", access)
}

// errorBody is the JSON of an error answer the module makes itself, in the
// shape the host gives typed errors: {"error": {"code": ..., "message": ...}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
