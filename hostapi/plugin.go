package hostapi

import (
	"context"

	"github.com/shopspring/decimal"
)

// Module is a feature plugin (Micro-Upsell, configurable options). The host
// calls Describe first (also to collect migrations, before any table exists),
// then Configure once with the plugin's own host API, then serves HTTP routes
// and delivers events.
type Module interface {
	Describe(ctx context.Context) (ModuleInfo, error)
	Configure(ctx context.Context, host Host, settings map[string]string) error
	HTTPHandler
	EventHandler
}

// HTTPHandler answers the HTTP routes a module declared. The request has been
// authenticated by the host; Principal says who is calling.
type HTTPHandler interface {
	HandleHTTP(ctx context.Context, req HTTPRequest) (HTTPResponse, error)
}

// EventHandler handles panel events. Delivery is at least once: a handler must
// be idempotent, and an error makes the host retry with backoff.
type EventHandler interface {
	HandleEvent(ctx context.Context, ev Event) (EventResult, error)
}

// Adapter is a resource adapter: it reads and sets the limits of one server
// on one provisioning panel. Every implementation must guarantee:
//
//   - Apply takes an absolute Target. Resources not in the target keep their
//     current value (a full-replace API must be sent the current values back).
//   - Apply verifies: After is read back from the panel, and Apply fails if
//     the panel does not hold the target afterwards.
//   - Apply is idempotent: a target already in place is a no-op with
//     Changed=false, so retries and replays are safe.
//   - Changes to one server are serialized.
//   - Errors are typed: CodeNotFound (no such server), CodeConflict (state
//     changed underneath, e.g. a port taken meanwhile), CodeCapacity (does
//     not fit), CodeUnavailable (panel down or rate limited: retry later),
//     CodeInvalid (the panel refused a value; Field names it).
//   - Cancellation of ctx is honoured promptly.
//   - ServerRef.Secret never appears in any error or log line.
type Adapter interface {
	Describe(ctx context.Context) (AdapterInfo, error)
	Configure(ctx context.Context, host Host, settings map[string]string) error
	ResourceReader
	ResourceApplier
	CapacityChecker
}

// ResourceReader reads a server's current limits.
type ResourceReader interface {
	Read(ctx context.Context, ref ServerRef) (Limits, error)
}

// ResourceApplier sets a server to an absolute target and verifies it.
type ResourceApplier interface {
	Apply(ctx context.Context, ref ServerRef, target Target) (Applied, error)
}

// CapacityChecker tells whether a target would fit where the server lives.
// It returns nil when it fits and a CodeCapacity error when it does not.
type CapacityChecker interface {
	CheckCapacity(ctx context.Context, ref ServerRef, target Target) error
}

// Host is the host API a plugin receives in Configure: one brokered
// connection per plugin instance, dialled once.
type Host struct {
	Panel     Panel
	Provision Provision
	Audit     Audit
	Store     Store
}

// TxID names a database transaction opened through Store.Begin. Panel and
// Audit writes given a TxID join that transaction, so a module can write its
// own rows and the panel invoice atomically. The empty TxID means "on its
// own".
type TxID string

// Panel is the billing panel as the host binds it (Paymenter, WHMCS). Modules
// never read panel tables directly.
type Panel interface {
	Settings(ctx context.Context) (PanelSettings, error)
	Service(ctx context.Context, id uint64) (Service, error)
	User(ctx context.Context, id uint64) (User, error)
	Invoice(ctx context.Context, id uint64) (Invoice, error)
	// CreateInvoice writes an invoice numbered as the panel numbers it.
	CreateInvoice(ctx context.Context, tx TxID, inv NewInvoice) (Invoice, error)
	// UpdateRecurringPrice sets a service's recurring price if it still
	// equals From (else CodeConflict), and rewrites the item of an unpaid
	// renewal invoice of the service to the new price.
	UpdateRecurringPrice(ctx context.Context, tx TxID, change PriceChange) (PriceChanged, error)
	// ExclusiveTaxRate is the percentage the panel adds to the user's
	// recurring price (services.price includes it), zero when tax is off
	// or inclusive.
	ExclusiveTaxRate(ctx context.Context, userID uint64) (decimal.Decimal, error)
	// ProductPlan is a product plan's cycle and price in currency
	// (CodePrecondition when the plan has no price in it).
	ProductPlan(ctx context.Context, planID uint64, currency string) (ProductPlan, error)
	// CreateServiceOrder writes a new order: the panel's order, a pending
	// service and its first invoice, numbered as the panel numbers it. The
	// panel itself activates and provisions the service when that invoice
	// is paid; the invoice's owner is recorded like CreateInvoice's.
	CreateServiceOrder(ctx context.Context, tx TxID, order NewServiceOrder) (ServiceOrder, error)
	// SetServiceProperties inserts or replaces, by key, properties the
	// panel hands its server extension for the service, so that the panel's
	// own re-provisioning (an upgrade, a rebuild) keeps what the client
	// bought. Minor version 1.4.
	SetServiceProperties(ctx context.Context, tx TxID, serviceID uint64, props []ServiceProperty) error
	// AddCredit adds a positive amount to a user's account credit in one
	// currency and returns the new balance. Minor version 1.4.
	AddCredit(ctx context.Context, tx TxID, grant CreditGrant) (CreditBalance, error)
	// Coupon reads a coupon by code with its uses in total and by userID
	// (CodeNotFound when there is none). In a transaction the coupon stays
	// locked until it ends, so that two checkouts cannot both take its
	// last use. Minor version 1.4.
	Coupon(ctx context.Context, tx TxID, code string, userID uint64) (Coupon, error)
	// ServiceWrites is the recurring price and the limits upsell itself
	// last wrote to a service, whichever module wrote them (the host
	// records every UpdateRecurringPrice and every applied limit). A
	// module that compares the panel with what it last set tells another
	// module's change from the panel undoing upsell's. Minor version 1.5.
	ServiceWrites(ctx context.Context, serviceID uint64) (ServiceWrites, error)
	// CancelInvoice cancels an invoice the calling module created that is
	// still unpaid, in tx when one is given, so that an order and its
	// invoice are cancelled together. The invoice stays locked until tx
	// ends, so a payment landing at the same moment either came first (and
	// the cancel is refused) or finds the invoice cancelled. Refused with
	// CodePrecondition, changing nothing: an invoice paid, cancelled, or
	// with any payment on it (succeeded or under way); CodeNotFound: an
	// invoice upsell did not create, or another module did. A host older
	// than minor version 1.7 answers CodeUnavailable (ErrUnimplemented).
	CancelInvoice(ctx context.Context, tx TxID, invoiceID uint64) error
}

// Provision routes a target to the adapter that serves a service, with the
// credentials of the provisioning panel the service's product is bound to.
// The host serializes changes per service.
type Provision interface {
	Read(ctx context.Context, serviceID uint64) (Limits, error)
	Apply(ctx context.Context, serviceID uint64, target Target) (Applied, error)
	CheckCapacity(ctx context.Context, serviceID uint64, target Target) error
	// LockService waits until the caller holds the service's lock: one
	// lock per service for every module, Apply and replica. It is held
	// without a database connection, so the holder may run as many short
	// transactions as it needs, and it is released by UnlockService, when
	// the plugin exits, or after 10 minutes. Apply by the operation that
	// holds it does not wait for it again. An operation holding a Store
	// transaction may not wait for it (the pool rule). Minor version 1.6.
	LockService(ctx context.Context, serviceID uint64) (ServiceLock, error)
	UnlockService(ctx context.Context, lock ServiceLock) error
}

// ServiceLock is a held service lock.
type ServiceLock struct {
	ServiceID uint64
	Token     string
}

// Audit is the append-only purchase and operations log.
type Audit interface {
	Write(ctx context.Context, tx TxID, entry AuditEntry) (uint64, error)
}

// Store gives a module SQL access to its own tables (those starting with its
// ModuleInfo.TablePrefix) on the host's database. Statements are prepared
// once on the host and reused.
//
// Arguments may be nil, bool, any integer type, string, []byte, time.Time and
// decimal.Decimal. See Rows for what comes back.
type Store interface {
	Begin(ctx context.Context) (Tx, error)
	Query(ctx context.Context, tx TxID, query string, args ...any) (*Rows, error)
	Exec(ctx context.Context, tx TxID, query string, args ...any) (ExecResult, error)
}

// Tx is an open transaction. A transaction left open when its plugin exits is
// rolled back by the host.
type Tx interface {
	ID() TxID
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// ExecResult reports what an Exec did.
type ExecResult struct {
	RowsAffected int64
	LastInsertID int64
}
