package hostapi

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// ServiceStatus is the panel's lifecycle state of a service.
type ServiceStatus string

// Service states, as Paymenter names them.
const (
	ServicePending   ServiceStatus = "pending"
	ServiceActive    ServiceStatus = "active"
	ServiceSuspended ServiceStatus = "suspended"
	ServiceCancelled ServiceStatus = "cancelled"
)

// PlanType says whether a plan bills once, never or every cycle.
type PlanType string

// Plan types, as Paymenter names them.
const (
	PlanFree      PlanType = "free"
	PlanOneTime   PlanType = "one-time"
	PlanRecurring PlanType = "recurring"
)

// BillingUnit is the unit of a billing cycle.
type BillingUnit string

// Billing units, as Paymenter names them.
const (
	UnitHour  BillingUnit = "hour"
	UnitDay   BillingUnit = "day"
	UnitWeek  BillingUnit = "week"
	UnitMonth BillingUnit = "month"
	UnitYear  BillingUnit = "year"
)

// Cycle is a billing cycle: Period units of Unit (3 month = quarterly).
type Cycle struct {
	Type   PlanType
	Period int
	Unit   BillingUnit
}

func (c Cycle) String() string {
	if c.Type != PlanRecurring {
		return string(c.Type)
	}
	return fmt.Sprintf("%d %s", c.Period, c.Unit)
}

// Service is a client's subscription as the panel stores it.
type Service struct {
	ID        uint64
	UserID    uint64
	ProductID uint64
	// ProductName is the product's display name.
	ProductName string
	PlanID      uint64
	Status      ServiceStatus
	Currency    string
	Quantity    int
	// Price is the recurring per-unit price the next renewal charges,
	// exclusive tax included where the panel adds it.
	Price decimal.Decimal
	Cycle Cycle
	// ExpiresAt is the end of the current cycle, a wall-clock time in the
	// panel's timezone (the panel stores naive local times). Zero when unset.
	ExpiresAt time.Time
	Label     string
	CreatedAt time.Time
}

// User is a panel customer.
type User struct {
	ID        uint64
	Email     string
	FirstName string
	LastName  string
}

// InvoiceStatus is the panel's state of an invoice.
type InvoiceStatus string

// Invoice states, as Paymenter names them.
const (
	InvoicePending   InvoiceStatus = "pending"
	InvoicePaid      InvoiceStatus = "paid"
	InvoiceCancelled InvoiceStatus = "cancelled"
)

// Invoice is a panel invoice with its items.
type Invoice struct {
	ID     uint64
	Number string
	Status InvoiceStatus
	UserID uint64
	// Currency is the ISO code the amounts are in.
	Currency string
	DueAt    time.Time
	Items    []InvoiceItem
	// Total is the sum of price x quantity over the items.
	Total decimal.Decimal
	// Paid is the sum of the succeeded transactions.
	Paid decimal.Decimal
	// PayURL is where the client pays it on the panel.
	PayURL    string
	CreatedAt time.Time
}

// InvoiceItem is one line of an invoice. ReferenceType/ReferenceID say what
// paying the line does on the panel; upsell writes its own reference type so
// the panel never mistakes an add-on for a renewal.
type InvoiceItem struct {
	ID            uint64
	Description   string
	Price         decimal.Decimal
	Quantity      int
	ReferenceType string
	ReferenceID   uint64
}

// NewInvoice is what a module asks the host to create on the panel.
type NewInvoice struct {
	UserID   uint64
	Currency string
	DueAt    time.Time
	Items    []InvoiceItem
}

// ProductPlan is a product's billing plan with its price in one currency.
type ProductPlan struct {
	ID        uint64
	ProductID uint64
	Cycle     Cycle
	Currency  string
	Price     decimal.Decimal
	SetupFee  decimal.Decimal
}

// ServiceProperty is a key/value the panel hands its server extension when
// it provisions the service (Paymenter: a properties row, merged over the
// product's settings, so "memory" overrides the product's memory).
type ServiceProperty struct {
	Key   string
	Name  string
	Value string
}

// NewServiceOrder is a client's order of a new service. The panel writes
// its order, a pending service renewing at Price, and a first invoice of
// FirstAmount that references the service, so that paying it makes the
// panel activate and provision the service itself, with Properties.
type NewServiceOrder struct {
	UserID    uint64
	ProductID uint64
	PlanID    uint64
	Currency  string
	// Price is the recurring price the service renews at.
	Price decimal.Decimal
	// FirstAmount is what the first invoice charges: the first cycle plus
	// any setup fee, after any coupon.
	FirstAmount decimal.Decimal
	// Description is the first invoice item's text.
	Description string
	CouponID    uint64
	Properties  []ServiceProperty
	DueAt       time.Time
}

// ServiceOrder is what CreateServiceOrder wrote.
type ServiceOrder struct {
	OrderID   uint64
	ServiceID uint64
	Invoice   Invoice
}

// CreditGrant adds Amount (positive) to a user's account credit in
// Currency, for Reason (kept in upsell's audit log; the panel's credits
// table has no room for it).
type CreditGrant struct {
	UserID   uint64
	Currency string
	Amount   decimal.Decimal
	Reason   string
}

// Coupon is a panel coupon with its uses so far. Times are wall clocks in
// the panel's timezone (zero when unset); nil limits mean none.
type Coupon struct {
	ID        uint64
	Code      string
	Type      string // "percentage" or "fixed"
	AppliesTo string // "all", "price" or "setup_fee"
	Value     decimal.Decimal
	// Recurring: nil or 1 the first cycle only, 0 every cycle, N the first
	// N cycles.
	Recurring      *int
	MaxUses        *int
	MaxUsesPerUser *int
	StartsAt       time.Time
	ExpiresAt      time.Time
	// ProductIDs restricts the coupon; empty means every product.
	ProductIDs []uint64
	// UsesTotal and UsesByUser count the services holding the coupon.
	UsesTotal, UsesByUser int
}

// ServiceWrites is what upsell last wrote to one service, by any module.
// A price or limit absent here was never written by upsell.
type ServiceWrites struct {
	ServiceID uint64
	Price     *PriceWrite
	Limits    map[Resource]LimitWrite
}

// PriceWrite is the last recurring price upsell set on a service.
type PriceWrite struct {
	Value  decimal.Decimal
	Module string
	At     time.Time
}

// LimitWrite is the last value of one limit upsell applied to a service's
// server, as the provisioning panel reported it back.
type LimitWrite struct {
	Value  int64
	Module string
	At     time.Time
}

// CreditBalance is a user's account credit in one currency.
type CreditBalance struct {
	UserID   uint64
	Currency string
	Balance  decimal.Decimal
}

// PriceChange is a compare-and-set of a service's recurring price: it applies
// only if the stored price still equals From.
type PriceChange struct {
	ServiceID uint64
	From      decimal.Decimal
	To        decimal.Decimal
	Reason    string
}

// PriceChanged reports what a PriceChange did.
type PriceChanged struct {
	ServiceID uint64
	From, To  decimal.Decimal
	// RenewalInvoiceID is the unpaid renewal invoice whose item was rewritten
	// to the new price, or 0 when there was none.
	RenewalInvoiceID uint64
}

// PanelSettings are the panel-wide facts a module needs for pricing.
type PanelSettings struct {
	// Panel names the billing panel ("paymenter").
	Panel string
	// Timezone is the IANA zone the panel counts days in.
	Timezone        string
	DefaultCurrency string
	// TaxEnabled and TaxType ("inclusive"/"exclusive") mirror the panel.
	TaxEnabled bool
	TaxType    string
	// BaseURL is the panel's public URL (for pay links).
	BaseURL string
	// CreditsOnDowngrade says whether the panel credits the unused part of
	// a downgrade to the client's account (Paymenter's
	// credits_on_downgrade, on by default). Minor version 1.4.
	CreditsOnDowngrade bool
	// Currencies are the codes of the currencies the panel has (Paymenter's
	// currencies table), sorted: a price in any other currency could never
	// be charged. Empty from a host before minor version 1.6.
	Currencies []string
}

// HasCurrency reports whether code is one of the panel's currencies. From a
// host that does not list them (before minor version 1.6) only the default
// currency is known to exist.
func (s PanelSettings) HasCurrency(code string) bool {
	if len(s.Currencies) == 0 {
		return code != "" && code == s.DefaultCurrency
	}
	return slices.Contains(s.Currencies, code)
}

// Location returns the panel's timezone, UTC when unset or unknown.
func (s PanelSettings) Location() *time.Location { return location(s.Timezone) }

// locations caches resolved zones: time.LoadLocation reads the zoneinfo
// file on every call, and a zone is resolved on every client request.
var locations sync.Map // name -> *time.Location

// location resolves an IANA zone name once; empty or unknown names are UTC.
func location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	locations.Store(name, loc)
	return loc
}

// Resource names a provisionable quantity. Resources are integers in the
// unit their name says.
type Resource string

// The resources upsell knows. Adapters declare which they support.
const (
	MemoryMiB  Resource = "memory_mib"
	SwapMiB    Resource = "swap_mib"
	DiskMiB    Resource = "disk_mib"
	IOWeight   Resource = "io_weight"
	CPUPercent Resource = "cpu_percent"
	// Databases is the database feature limit; Unlimited means no limit.
	Databases Resource = "databases"
	Backups   Resource = "backups"
	// Ports is the number of network allocations attached to the server,
	// the primary included.
	Ports Resource = "ports"
	// CPUCores and TrafficGB are for VPS-style adapters.
	CPUCores  Resource = "cpu_cores"
	TrafficGB Resource = "traffic_gb"
)

// Unlimited is the value of a resource without a limit.
const Unlimited int64 = -1

// Limits is a full picture of a server's resources.
type Limits map[Resource]int64

// Target is an absolute desired state: each resource listed is set to the
// value given, resources not listed are left as they are.
type Target map[Resource]int64

// Clone returns an independent copy.
func (l Limits) Clone() Limits {
	out := make(Limits, len(l))
	for k, v := range l {
		out[k] = v
	}
	return out
}

// Satisfies reports whether every resource of t has its target value in l.
func (l Limits) Satisfies(t Target) bool {
	for k, v := range t {
		if got, ok := l[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// ServerRef says which server an adapter acts on and how to reach its panel.
type ServerRef struct {
	// ServiceID is the billing panel's service id; provisioning panels find
	// the server by it (Pterodactyl's external_id).
	ServiceID uint64
	// ServerID is an explicit server id where the binding stores one.
	ServerID string
	// Endpoint is the provisioning panel's base URL.
	Endpoint string
	// Secret is the API key. It never appears in logs or errors.
	Secret string
	// Options holds adapter-specific settings (e.g. "flavor": "pelican").
	Options map[string]string
}

// String redacts the secret so a ServerRef can be logged safely.
func (r ServerRef) String() string {
	return fmt.Sprintf("service %d server %q at %s", r.ServiceID, r.ServerID, r.Endpoint)
}

// GoString keeps %#v from printing the secret.
func (r ServerRef) GoString() string { return "hostapi.ServerRef{" + r.String() + "}" }

// LogValue keeps structured loggers from printing the secret.
func (r ServerRef) LogValue() slog.Value { return slog.StringValue(r.String()) }

// Applied reports what an adapter's Apply did.
type Applied struct {
	Before Limits
	// After is the state read back from the provisioning panel.
	After Limits
	// Changed is false when the target was already in place (a no-op).
	Changed bool
}

// AuditEntry is one line of the purchase and operations log.
type AuditEntry struct {
	ID uint64
	// Plugin is stamped by the host from the calling plugin's identity.
	Plugin    string
	Action    string
	ServiceID uint64
	UserID    uint64
	// Subject is a free reference such as "order:42".
	Subject string
	Message string
	// Data is a JSON document with details (limits before and after...).
	Data      []byte
	CreatedAt time.Time
}

// PrincipalKind says who made an HTTP request.
type PrincipalKind string

// Principal kinds.
const (
	Anonymous PrincipalKind = "anonymous"
	// Client: a panel customer holding a signed link bound to UserID and
	// ServiceID.
	Client PrincipalKind = "client"
	// Admin: a holder of the admin token.
	Admin PrincipalKind = "admin"
)

// Principal is the authenticated caller of an HTTP request, as verified by
// the host. Modules trust it and never see tokens or links.
type Principal struct {
	Kind      PrincipalKind
	UserID    uint64
	ServiceID uint64
}

// Access says who may call a module route.
type Access string

// Route access levels.
const (
	AccessPublic Access = "public"
	AccessClient Access = "client"
	// AccessUser is for a link bound to a user and no service: ordering a
	// new service. A service's link does not open it, nor it a service's.
	AccessUser  Access = "user"
	AccessAdmin Access = "admin"
)

// Route is an HTTP route a module serves under /m/<module>/.
type Route struct {
	Method string
	// Path is relative to the module's prefix; a trailing "/" matches a
	// subtree.
	Path   string
	Access Access
	// Prefetch lists reads the host runs for a client route while it
	// loads the linked service, handing the rows to the module in
	// HTTPRequest.Prefetched: a hot read-only route then costs one plugin
	// call and no call back. Hosts before minor version 1.3 ignore it, so
	// a module falls back to querying its Store when a result is missing.
	Prefetch []Prefetch
	// Page marks an HTML page a browser opens (minor version 1.7). For a
	// page the host exchanges a client link in the query for a short-lived
	// session cookie and redirects to the same address without it, accepts
	// that cookie on the module's client routes, refuses a state-changing
	// request the cookie authenticated unless it carries the session's
	// CSRF token, wraps a reply marked with hostapi/web's layout header in
	// the provider's layout, and answers failures with an HTML page.
	// Hosts before 1.7 ignore it and serve the route like any other.
	Page bool
	// Nav labels an admin page (a GET route with AccessAdmin and Page) in
	// the console's navigation, e.g. "Add-on packages" (minor 1.7).
	Nav string
}

// Prefetch is a read-only query on the module's own tables, bound to the
// request's principal. The host checks it against the module's table
// prefix and prepares it once.
type Prefetch struct {
	Name string
	SQL  string
	// Args bind, in order, to the query's placeholders.
	Args []PrefetchArg
}

// PrefetchArg names a principal field a prefetch query is bound to.
type PrefetchArg string

// The principal fields a prefetch can bind.
const (
	PrefetchServiceID PrefetchArg = "service_id"
	PrefetchUserID    PrefetchArg = "user_id"
)

// Bind returns the query arguments for principal p.
func (f Prefetch) Bind(p Principal) ([]any, error) {
	args := make([]any, len(f.Args))
	for i, a := range f.Args {
		switch a {
		case PrefetchServiceID:
			args[i] = p.ServiceID
		case PrefetchUserID:
			args[i] = p.UserID
		default:
			return nil, Errorf(CodeInvalid, "prefetch %q: unknown argument %q", f.Name, a)
		}
	}
	return args, nil
}

// Validate checks a route's prefetches: only client routes (the arguments
// come from the link), named once each, with known arguments.
func (r Route) Validate() error {
	if len(r.Prefetch) > 0 && r.Access != AccessClient {
		return Errorf(CodeInvalid, "route %s %s: prefetch needs client access, not %q", r.Method, r.Path, r.Access)
	}
	seen := map[string]bool{}
	for _, f := range r.Prefetch {
		if f.Name == "" || seen[f.Name] {
			return Errorf(CodeInvalid, "route %s %s: prefetch name %q is empty or repeated", r.Method, r.Path, f.Name)
		}
		seen[f.Name] = true
		if strings.TrimSpace(f.SQL) == "" {
			return Errorf(CodeInvalid, "route %s %s: prefetch %q has no query", r.Method, r.Path, f.Name)
		}
		if _, err := f.Bind(Principal{}); err != nil {
			return fmt.Errorf("route %s %s: %w", r.Method, r.Path, err)
		}
	}
	return nil
}

// HTTPRequest is an HTTP request the host forwards to a module after
// authenticating it.
type HTTPRequest struct {
	Method string
	// Path is relative to the module's prefix.
	Path      string
	Query     map[string][]string
	Header    map[string][]string
	Body      []byte
	Principal Principal
	RequestID string
	// Service and Settings are set by the host for a client principal: the
	// linked service (owned by Principal.UserID) and the panel settings,
	// read while checking the link, so a module need not ask again.
	Service  *Service
	Settings *PanelSettings
	// Prefetched holds the route's Prefetch results by name (hosts of
	// minor version 1.3 and later).
	Prefetched map[string]*Rows
}

// HTTPResponse is a module's answer.
type HTTPResponse struct {
	Status int
	Header map[string][]string
	Body   []byte
	// ReuseUntil lets the host answer an identical request (every field of
	// HTTPRequest the same, RequestID aside) with this reply until then,
	// without a call to the module. Set it only on a reply that is a pure
	// function of the request and the clock up to that time: a reply that
	// read anything the request does not carry (a call back to the host,
	// a query of its own) must leave it zero. The host honours it for 2xx
	// replies only and never beyond a few minutes. Minor version 1.5.
	ReuseUntil time.Time
}

// EventKind names a panel event.
type EventKind string

// Events the host delivers.
const (
	// InvoicePaidEvent: a panel invoice became paid.
	InvoicePaidEvent EventKind = "invoice.paid"
	// ReconcileEvent: a periodic round (one replica per round) in which a
	// module checks that what it sold is still in place on the panel and
	// the server, and restores it where the panel undid it.
	ReconcileEvent EventKind = "reconcile"
)

// Event is a panel event the host delivers to modules (at least once: a
// module must be idempotent).
type Event struct {
	ID        uint64
	Kind      EventKind
	Panel     string
	InvoiceID uint64
	Attempt   int
	CreatedAt time.Time
}

// EventResult says what a module did with an event.
type EventResult struct {
	// Handled is false when the event is not the module's business.
	Handled bool
	Message string
}

// Migration is one forward SQL migration of a module. The host applies them
// in Version order and tracks them per module.
type Migration struct {
	Version int64
	Name    string
	SQL     string
}

// PluginKind is a module or an adapter.
type PluginKind string

// Plugin kinds.
const (
	KindModule  PluginKind = "module"
	KindAdapter PluginKind = "adapter"
)

// ModuleInfo describes a module to the host.
type ModuleInfo struct {
	Name    string
	Version string
	// TablePrefix is the prefix of every table the module owns, e.g.
	// "ext_micro_upsell_"; the host's Store refuses other tables.
	TablePrefix string
	Routes      []Route
	Events      []EventKind
	Migrations  []Migration
}

// AdapterInfo describes an adapter to the host.
type AdapterInfo struct {
	Name    string
	Version string
	// Panels lists the panel server extensions it serves, e.g.
	// "Pterodactyl", "Pelican".
	Panels    []string
	Resources []Resource
}
