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
	"encoding/json"
	"fmt"
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
}

// New returns the module; the host configures it.
func New() *Module { return &Module{now: time.Now} }

// Serve runs the module as a plugin process.
func Serve() { hostapi.ServeModule(New()) }

// handler serves one route. id is the number in a route whose path ends in
// "/{id}", 0 otherwise.
type handler func(m *Module, ctx context.Context, req hostapi.HTTPRequest, id uint64) (hostapi.HTTPResponse, error)

// route is one HTTP route: Describe declares it to the host and HandleHTTP
// dispatches on it, so the two cannot disagree.
type route struct {
	method string
	// path is relative to /m/configoptions; a trailing "/{id}" matches one
	// positive number.
	path   string
	access hostapi.Access
	handle handler
}

const idSegment = "/{id}"

// routes is every route the module serves.
//
// Public routes (the catalog a storefront shows) and client routes (quote,
// checkout, a service's selections) are added to this table, next to the
// admin routes, as they are written; HandleHTTP checks each route's access
// level, so a new route needs no check of its own.
var routes = []route{
	{"GET", "/admin/groups", hostapi.AccessAdmin, (*Module).adminListGroups},
	{"POST", "/admin/groups", hostapi.AccessAdmin, (*Module).adminCreateGroup},
	{"GET", "/admin/groups" + idSegment, hostapi.AccessAdmin, (*Module).adminGetGroup},
	{"PUT", "/admin/groups" + idSegment, hostapi.AccessAdmin, (*Module).adminReplaceGroup},
	{"DELETE", "/admin/groups" + idSegment, hostapi.AccessAdmin, (*Module).adminDeleteGroup},
	{"POST", "/admin/seed", hostapi.AccessAdmin, (*Module).adminSeed},
	{"POST", "/quote", hostapi.AccessPublic, (*Module).publicQuote},
	{"POST", "/checkout", hostapi.AccessUser, (*Module).checkout},
	{"GET", "/service", hostapi.AccessClient, (*Module).serviceOptions},
	{"POST", "/change/quote", hostapi.AccessClient, (*Module).changeQuote},
	{"POST", "/change", hostapi.AccessClient, (*Module).placeChange},
	{"POST", "/change/cancel", hostapi.AccessClient, (*Module).cancelChange},
	{"GET", "/admin/changes", hostapi.AccessAdmin, (*Module).adminListChanges},
	{"POST", "/admin/changes/retry" + idSegment, hostapi.AccessAdmin, (*Module).adminRetryChange},
}

// hostRoutes turns the table into the host's form: "/x/{id}" becomes the
// subtree "/x/", which the host matches by prefix.
func hostRoutes() []hostapi.Route {
	out := make([]hostapi.Route, 0, len(routes))
	seen := map[string]bool{}
	for _, r := range routes {
		hr := hostapi.Route{Method: r.method, Path: strings.TrimSuffix(r.path, idSegment[1:]), Access: r.access}
		if key := hr.Method + " " + hr.Path; !seen[key] {
			seen[key] = true
			out = append(out, hr)
		}
	}
	return out
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
	m.store = &groupStore{db: host.Store, now: m.now}
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

// HandleHTTP dispatches a request the host has authenticated. The host
// already checked the route's access level; the module checks it again so
// that a request reaching it by any other path (a test, a misdeclared
// route) is still refused.
func (m *Module) HandleHTTP(ctx context.Context, req hostapi.HTTPRequest) (hostapi.HTTPResponse, error) {
	for _, r := range routes {
		id, ok := r.match(req.Method, req.Path)
		if !ok {
			continue
		}
		if err := allowed(r.access, req.Principal); err != nil {
			return hostapi.HTTPResponse{}, err
		}
		return r.handle(m, ctx, req, id)
	}
	return jsonResponse(http.StatusNotFound, errorBody{Error: errorDetail{Code: string(hostapi.CodeNotFound), Message: "no such route"}})
}

// match reports whether the route serves method and path, with the path's
// id for an "/{id}" route. A path whose id is not a positive number does not
// match, and falls through to 404.
func (r route) match(method, path string) (uint64, bool) {
	if method != r.method {
		return 0, false
	}
	prefix, hasID := strings.CutSuffix(r.path, idSegment)
	if !hasID {
		return 0, path == r.path
	}
	rest, ok := strings.CutPrefix(path, prefix+"/")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(rest, 10, 64)
	if err != nil || id == 0 {
		return 0, false
	}
	return id, true
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

func jsonResponse(status int, v any) (hostapi.HTTPResponse, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return hostapi.HTTPResponse{}, hostapi.Errorf(hostapi.CodeInternal, "encode response: %w", err)
	}
	return hostapi.HTTPResponse{Status: status, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: b}, nil
}
