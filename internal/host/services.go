package host

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

// PanelBinding is what the host needs of a billing panel binding
// (adapters/paymenter implements it). Writes take the transaction to join,
// or nil to run on their own.
type PanelBinding interface {
	Settings(ctx context.Context) (hostapi.PanelSettings, error)
	Service(ctx context.Context, id uint64) (hostapi.Service, error)
	User(ctx context.Context, id uint64) (hostapi.User, error)
	Invoice(ctx context.Context, id uint64) (hostapi.Invoice, error)
	CreateInvoice(ctx context.Context, tx *sqlx.Tx, inv hostapi.NewInvoice) (hostapi.Invoice, error)
	UpdateRecurringPrice(ctx context.Context, tx *sqlx.Tx, ch hostapi.PriceChange) (hostapi.PriceChanged, error)
	ExclusiveTaxRate(ctx context.Context, userID uint64) (decimal.Decimal, error)
	ProductPlan(ctx context.Context, planID uint64, currency string) (hostapi.ProductPlan, error)
	// CreateServiceOrder always writes inside tx (the service's properties
	// exist only in the panel's database).
	CreateServiceOrder(ctx context.Context, tx *sqlx.Tx, o hostapi.NewServiceOrder) (hostapi.ServiceOrder, error)
	// SetServiceProperties and AddCredit join tx, or run on their own
	// when it is nil.
	SetServiceProperties(ctx context.Context, tx *sqlx.Tx, serviceID uint64, props []hostapi.ServiceProperty) error
	AddCredit(ctx context.Context, tx *sqlx.Tx, g hostapi.CreditGrant) (hostapi.CreditBalance, error)
	Coupon(ctx context.Context, tx *sqlx.Tx, code string, userID uint64) (hostapi.Coupon, error)
	// CancelInvoice cancels an unpaid invoice with its row locked until
	// tx ends (its own transaction when tx is nil), refusing one that is
	// paid or has a payment on it with CodePrecondition.
	CancelInvoice(ctx context.Context, tx *sqlx.Tx, invoiceID uint64) error
}

// TransactionalInvoices is implemented by a PanelBinding that can say
// whether its CreateInvoice writes inside the transaction it is given. A
// binding that creates invoices elsewhere (over the panel's HTTP API)
// returns false: its invoice exists as soon as CreateInvoice returns, even
// if the module's transaction rolls back. A binding that does not
// implement it is taken to join transactions.
type TransactionalInvoices interface {
	InvoicesJoinTransactions() bool
}

// Route says which adapter serves a service and how it reaches the server.
// (Not to be confused with hostapi.Target, the resources to apply.)
type Route struct {
	Adapter string
	Ref     hostapi.ServerRef
}

// Router finds the adapter and credentials for a service (from the panel's
// server binding, or upsell's own per-server configuration).
type Router func(ctx context.Context, serviceID uint64) (Route, error)

// Adapters gives the live adapter plugin by name (the supervisor).
type Adapters interface {
	Adapter(name string) (hostapi.Adapter, error)
}

// Deps are shared by every plugin's services.
type Deps struct {
	DB       *sqlx.DB
	Panel    PanelBinding
	Router   Router
	Adapters Adapters
	Locks    *ServiceLocks
	// Ops keeps the pool rule across plugins (nil: not kept).
	Ops *Operations
	// Actors stamps audit entries with the admin an operation acts for.
	Actors *Actors
	Now    func() time.Time
	// PanelName names the panel in upsell's tables ("paymenter").
	PanelName string
}

// Services is the host API of one plugin instance.
type Services struct {
	plugin string
	deps   Deps
	store  *Store
	locks  *pluginLocks
	routes operationRoutes
}

// New builds the services for the named plugin; tablePrefix scopes its
// Store.
func New(deps Deps, plugin, tablePrefix string) *Services {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Locks == nil {
		deps.Locks = NewServiceLocks(deps.DB)
	}
	store := NewStore(deps.DB, tablePrefix)
	store.ops, store.plugin = deps.Ops, plugin
	return &Services{plugin: plugin, deps: deps, store: store, locks: newPluginLocks(deps.Locks, deps.Ops)}
}

// panelName is the binding's panel name ("paymenter").
func (s *Services) panelName() string {
	if s.deps.PanelName != "" {
		return s.deps.PanelName
	}
	return "paymenter"
}

// joined returns the transaction a call joins (nil for none). A call
// without one runs on a connection of its own, which an operation holding
// a transaction may not take (Operations).
func (s *Services) joined(ctx context.Context, txID hostapi.TxID, what string) (*sqlx.Tx, error) {
	tx, err := s.store.SQLTx(txID)
	if err != nil || tx != nil {
		return tx, err
	}
	return nil, s.deps.Ops.check(ctx, what+" without the transaction's id")
}

// Host returns the host API to serve to the plugin.
func (s *Services) Host() hostapi.Host {
	return hostapi.Host{
		Panel:     &panel{s: s},
		Provision: &provision{s: s},
		Audit:     &audit{s: s},
		Store:     s.store,
	}
}

// Close rolls back what the plugin left open and releases its locks.
func (s *Services) Close() {
	s.store.Close()
	s.locks.close()
}

// ---- Panel ----

type panel struct{ s *Services }

func (p *panel) Settings(ctx context.Context) (hostapi.PanelSettings, error) {
	if err := p.s.deps.Ops.check(ctx, "Panel.Settings"); err != nil {
		return hostapi.PanelSettings{}, err
	}
	return p.s.deps.Panel.Settings(ctx)
}

func (p *panel) Service(ctx context.Context, id uint64) (hostapi.Service, error) {
	if err := p.s.deps.Ops.check(ctx, "Panel.Service"); err != nil {
		return hostapi.Service{}, err
	}
	return p.s.deps.Panel.Service(ctx, id)
}

func (p *panel) User(ctx context.Context, id uint64) (hostapi.User, error) {
	if err := p.s.deps.Ops.check(ctx, "Panel.User"); err != nil {
		return hostapi.User{}, err
	}
	return p.s.deps.Panel.User(ctx, id)
}

func (p *panel) ExclusiveTaxRate(ctx context.Context, userID uint64) (decimal.Decimal, error) {
	if err := p.s.deps.Ops.check(ctx, "Panel.ExclusiveTaxRate"); err != nil {
		return decimal.Decimal{}, err
	}
	return p.s.deps.Panel.ExclusiveTaxRate(ctx, userID)
}

func (p *panel) ProductPlan(ctx context.Context, planID uint64, currency string) (hostapi.ProductPlan, error) {
	if err := p.s.deps.Ops.check(ctx, "Panel.ProductPlan"); err != nil {
		return hostapi.ProductPlan{}, err
	}
	return p.s.deps.Panel.ProductPlan(ctx, planID, currency)
}

// CreateServiceOrder writes the order, service and first invoice and records
// the invoice's owner, in the module's transaction or one of its own.
func (p *panel) CreateServiceOrder(ctx context.Context, txID hostapi.TxID, o hostapi.NewServiceOrder) (hostapi.ServiceOrder, error) {
	tx, err := p.s.joined(ctx, txID, "Panel.CreateServiceOrder")
	if err != nil {
		return hostapi.ServiceOrder{}, err
	}
	own := tx == nil
	if own {
		if tx, err = p.s.deps.DB.BeginTxx(ctx, nil); err != nil {
			return hostapi.ServiceOrder{}, hostapi.Errorf(hostapi.CodeUnavailable, "begin: %w", err)
		}
		defer tx.Rollback()
	}
	out, err := p.s.deps.Panel.CreateServiceOrder(ctx, tx, o)
	if err != nil {
		return hostapi.ServiceOrder{}, err
	}
	if err := RecordInvoice(ctx, tx, p.s.panelName(), out.Invoice.ID, p.s.plugin, p.s.deps.Now()); err != nil {
		return hostapi.ServiceOrder{}, err
	}
	if own {
		if err := tx.Commit(); err != nil {
			return hostapi.ServiceOrder{}, hostapi.Errorf(hostapi.CodeUnavailable, "commit order: %w", err)
		}
	}
	return out, nil
}

func (p *panel) Invoice(ctx context.Context, id uint64) (hostapi.Invoice, error) {
	if err := p.s.deps.Ops.check(ctx, "Panel.Invoice"); err != nil {
		return hostapi.Invoice{}, err
	}
	return p.s.deps.Panel.Invoice(ctx, id)
}

// CreateInvoice writes the invoice and records which module owns it, in one
// transaction (the module's, or one of its own), so a paid-invoice event
// always finds its way back and the poller watches only upsell's invoices.
//
// A binding that cannot join transactions (TransactionalInvoices false)
// has made a payable invoice by the time it returns, whatever the module's
// transaction does next; its owner is then recorded at once, in a
// transaction of its own, so a rollback cannot leave a paid invoice that
// nobody acts on.
func (p *panel) CreateInvoice(ctx context.Context, txID hostapi.TxID, inv hostapi.NewInvoice) (hostapi.Invoice, error) {
	tx, err := p.s.joined(ctx, txID, "Panel.CreateInvoice")
	if err != nil {
		return hostapi.Invoice{}, err
	}
	if !joinsTransactions(p.s.deps.Panel) {
		return p.createInvoiceOutside(ctx, inv)
	}
	own := tx == nil
	if own {
		if tx, err = p.s.deps.DB.BeginTxx(ctx, nil); err != nil {
			return hostapi.Invoice{}, hostapi.Errorf(hostapi.CodeUnavailable, "begin: %w", err)
		}
		defer tx.Rollback()
	}
	out, err := p.s.deps.Panel.CreateInvoice(ctx, tx, inv)
	if err != nil {
		return hostapi.Invoice{}, err
	}
	if err := RecordInvoice(ctx, tx, p.s.panelName(), out.ID, p.s.plugin, p.s.deps.Now()); err != nil {
		return hostapi.Invoice{}, err
	}
	if own {
		if err := tx.Commit(); err != nil {
			return hostapi.Invoice{}, hostapi.Errorf(hostapi.CodeUnavailable, "commit invoice: %w", err)
		}
	}
	return out, nil
}

// joinsTransactions reports whether b writes invoices inside the
// transaction it is given.
func joinsTransactions(b PanelBinding) bool {
	t, ok := b.(TransactionalInvoices)
	return !ok || t.InvoicesJoinTransactions()
}

// recordOwnerTimeout bounds recording the owner of an invoice that already
// exists in the panel; it is not cut short by the caller's context.
const recordOwnerTimeout = 15 * time.Second

// createInvoiceOutside creates the invoice through a binding that does not
// join transactions and records its owner in a committed transaction of its
// own, retrying briefly: the invoice is payable already.
func (p *panel) createInvoiceOutside(ctx context.Context, inv hostapi.NewInvoice) (hostapi.Invoice, error) {
	out, err := p.s.deps.Panel.CreateInvoice(ctx, nil, inv)
	if err != nil {
		return hostapi.Invoice{}, err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordOwnerTimeout)
	defer cancel()
	now := p.s.deps.Now()
	for attempt := 1; ; attempt++ {
		err = p.recordOwnerCommitted(rctx, out.ID, now)
		if err == nil || errors.Is(err, hostapi.ErrConflict) { // conflict: an earlier attempt committed
			return out, nil
		}
		if attempt == 3 || rctx.Err() != nil {
			break
		}
		select {
		case <-time.After(time.Duration(attempt) * 250 * time.Millisecond):
		case <-rctx.Done():
		}
	}
	return hostapi.Invoice{}, hostapi.Errorf(hostapi.CodeInternal,
		"invoice %s (id %d) was created in the panel but its owner (%s) could not be recorded; payment will not be acted on until it is: %w",
		out.Number, out.ID, p.s.plugin, err)
}

func (p *panel) recordOwnerCommitted(ctx context.Context, invoiceID uint64, now time.Time) error {
	tx, err := p.s.deps.DB.BeginTxx(ctx, nil)
	if err != nil {
		return sqlError("begin", err)
	}
	defer tx.Rollback()
	if err := RecordInvoice(ctx, tx, p.s.panelName(), invoiceID, p.s.plugin, now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return sqlError("commit invoice owner", err)
	}
	return nil
}

const insertPanelInvoice = `INSERT INTO upsell_panel_invoices (panel, invoice_id, module, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?)`

// RecordInvoice notes that module owns a panel invoice.
func RecordInvoice(ctx context.Context, tx *sqlx.Tx, panel string, invoiceID uint64, module string, now time.Time) error {
	key := fmt.Sprintf("%s:%d", panel, invoiceID)
	if _, err := tx.ExecContext(ctx, insertPanelInvoice, panel, invoiceID, module, key, now.UTC()); err != nil {
		return sqlError("record invoice owner", err)
	}
	return nil
}

func (p *panel) UpdateRecurringPrice(ctx context.Context, txID hostapi.TxID, ch hostapi.PriceChange) (hostapi.PriceChanged, error) {
	tx, err := p.s.joined(ctx, txID, "Panel.UpdateRecurringPrice")
	if err != nil {
		return hostapi.PriceChanged{}, err
	}
	if tx != nil {
		return p.updateRecurringPrice(ctx, tx, ch)
	}
	// No transaction to join: open one, so the price and its record
	// commit together.
	own, err := p.s.deps.DB.BeginTxx(ctx, nil)
	if err != nil {
		return hostapi.PriceChanged{}, sqlError("begin", err)
	}
	defer own.Rollback()
	changed, err := p.updateRecurringPrice(ctx, own, ch)
	if err != nil {
		return changed, err
	}
	if err := own.Commit(); err != nil {
		return hostapi.PriceChanged{}, sqlError("commit the price", err)
	}
	return changed, nil
}

// updateRecurringPrice sets the price in tx and records who set it.
func (p *panel) updateRecurringPrice(ctx context.Context, tx *sqlx.Tx, ch hostapi.PriceChange) (hostapi.PriceChanged, error) {
	changed, err := p.s.deps.Panel.UpdateRecurringPrice(ctx, tx, ch)
	if err != nil {
		return changed, err
	}
	return changed, recordPriceWrite(ctx, tx, ch.ServiceID, ch.To, p.s.plugin, p.s.deps.Now())
}

func (p *panel) SetServiceProperties(ctx context.Context, txID hostapi.TxID, serviceID uint64, props []hostapi.ServiceProperty) error {
	tx, err := p.s.joined(ctx, txID, "Panel.SetServiceProperties")
	if err != nil {
		return err
	}
	return p.s.deps.Panel.SetServiceProperties(ctx, tx, serviceID, props)
}

func (p *panel) AddCredit(ctx context.Context, txID hostapi.TxID, g hostapi.CreditGrant) (hostapi.CreditBalance, error) {
	tx, err := p.s.joined(ctx, txID, "Panel.AddCredit")
	if err != nil {
		return hostapi.CreditBalance{}, err
	}
	return p.s.deps.Panel.AddCredit(ctx, tx, g)
}

func (p *panel) Coupon(ctx context.Context, txID hostapi.TxID, code string, userID uint64) (hostapi.Coupon, error) {
	tx, err := p.s.joined(ctx, txID, "Panel.Coupon")
	if err != nil {
		return hostapi.Coupon{}, err
	}
	return p.s.deps.Panel.Coupon(ctx, tx, code, userID)
}

// selectInvoiceOwner reads who owns an invoice upsell created, with a
// locking read: the latest committed row, whatever the module's
// transaction read before.
const selectInvoiceOwner = `SELECT module FROM upsell_panel_invoices WHERE panel = ? AND invoice_id = ? LOCK IN SHARE MODE`

// CancelInvoice cancels an unpaid invoice the calling module created, in
// the module's transaction or one of its own. An invoice upsell did not
// create, or another module did, is not found: a module never learns of,
// or touches, invoices that are not its own.
func (p *panel) CancelInvoice(ctx context.Context, txID hostapi.TxID, invoiceID uint64) error {
	tx, err := p.s.joined(ctx, txID, "Panel.CancelInvoice")
	if err != nil {
		return err
	}
	own := tx == nil
	if own {
		if tx, err = p.s.deps.DB.BeginTxx(ctx, nil); err != nil {
			return sqlError("begin", err)
		}
		defer tx.Rollback()
	}
	var owner string
	err = tx.GetContext(ctx, &owner, selectInvoiceOwner, p.s.panelName(), invoiceID)
	if errors.Is(err, sql.ErrNoRows) || err == nil && owner != p.s.plugin {
		return hostapi.Errorf(hostapi.CodeNotFound, "invoice %d is not one of %s's", invoiceID, p.s.plugin)
	}
	if err != nil {
		return sqlError("read the invoice's owner", err)
	}
	if err := p.s.deps.Panel.CancelInvoice(ctx, tx, invoiceID); err != nil {
		return err
	}
	if own {
		if err := tx.Commit(); err != nil {
			return sqlError("commit the cancel", err)
		}
	}
	return nil
}

// ReadOnlyPanel forwards p's reads and refuses its writes with
// CodePermission. Adapters get it: they read the service they provision,
// never write invoices or prices.
func ReadOnlyPanel(p hostapi.Panel) hostapi.Panel { return readOnlyPanel{p: p} }

// readOnlyPanel forwards method by method (no embedding), so a write added
// to hostapi.Panel later does not pass through unnoticed.
type readOnlyPanel struct{ p hostapi.Panel }

func errPanelReadOnly() error {
	return hostapi.Errorf(hostapi.CodePermission, "adapters may not write to the panel")
}

func (r readOnlyPanel) Settings(ctx context.Context) (hostapi.PanelSettings, error) {
	return r.p.Settings(ctx)
}

func (r readOnlyPanel) Service(ctx context.Context, id uint64) (hostapi.Service, error) {
	return r.p.Service(ctx, id)
}

func (r readOnlyPanel) User(ctx context.Context, id uint64) (hostapi.User, error) {
	return r.p.User(ctx, id)
}

func (r readOnlyPanel) Invoice(ctx context.Context, id uint64) (hostapi.Invoice, error) {
	return r.p.Invoice(ctx, id)
}

func (r readOnlyPanel) ExclusiveTaxRate(ctx context.Context, userID uint64) (decimal.Decimal, error) {
	return r.p.ExclusiveTaxRate(ctx, userID)
}

func (r readOnlyPanel) ProductPlan(ctx context.Context, planID uint64, currency string) (hostapi.ProductPlan, error) {
	return r.p.ProductPlan(ctx, planID, currency)
}

func (r readOnlyPanel) CreateServiceOrder(context.Context, hostapi.TxID, hostapi.NewServiceOrder) (hostapi.ServiceOrder, error) {
	return hostapi.ServiceOrder{}, errPanelReadOnly()
}

func (r readOnlyPanel) SetServiceProperties(context.Context, hostapi.TxID, uint64, []hostapi.ServiceProperty) error {
	return errPanelReadOnly()
}

func (r readOnlyPanel) AddCredit(context.Context, hostapi.TxID, hostapi.CreditGrant) (hostapi.CreditBalance, error) {
	return hostapi.CreditBalance{}, errPanelReadOnly()
}

func (r readOnlyPanel) Coupon(ctx context.Context, _ hostapi.TxID, code string, userID uint64) (hostapi.Coupon, error) {
	// Outside any transaction: an adapter cannot hold a coupon's lock.
	return r.p.Coupon(ctx, "", code, userID)
}

func (r readOnlyPanel) ServiceWrites(ctx context.Context, serviceID uint64) (hostapi.ServiceWrites, error) {
	return r.p.ServiceWrites(ctx, serviceID)
}

func (r readOnlyPanel) CreateInvoice(context.Context, hostapi.TxID, hostapi.NewInvoice) (hostapi.Invoice, error) {
	return hostapi.Invoice{}, errPanelReadOnly()
}

func (r readOnlyPanel) CancelInvoice(context.Context, hostapi.TxID, uint64) error {
	return errPanelReadOnly()
}

func (r readOnlyPanel) UpdateRecurringPrice(context.Context, hostapi.TxID, hostapi.PriceChange) (hostapi.PriceChanged, error) {
	return hostapi.PriceChanged{}, errPanelReadOnly()
}

// ---- Audit ----

type audit struct{ s *Services }

const insertAudit = `INSERT INTO upsell_audit (plugin, actor, action, service_id, user_id, subject, message, data, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (a *audit) Write(ctx context.Context, txID hostapi.TxID, e hostapi.AuditEntry) (uint64, error) {
	if e.Action == "" {
		return 0, hostapi.Invalid("action", "an audit entry needs an action")
	}
	tx, err := a.s.joined(ctx, txID, "Audit.Write")
	if err != nil {
		return 0, err
	}
	return WriteAudit(ctx, a.s.deps.DB, tx, a.s.plugin, a.s.deps.Actors.Of(ctx), e, a.s.deps.Now())
}

// WriteAudit appends an audit entry, inside tx when it is not nil, by
// actor ("" when no admin acted). The host uses it for its own entries
// with plugin "host".
func WriteAudit(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, plugin, actor string, e hostapi.AuditEntry, now time.Time) (uint64, error) {
	var data any
	if len(e.Data) > 0 {
		data = string(e.Data)
	}
	var who any
	if actor != "" {
		who = actor
	}
	args := []any{plugin, who, e.Action, nullID(e.ServiceID), nullID(e.UserID), e.Subject, e.Message, data, now.UTC()}
	var ex sqlx.ExecerContext = db
	if tx != nil {
		ex = tx
	}
	res, err := ex.ExecContext(ctx, insertAudit, args...)
	if err != nil {
		return 0, hostapi.Errorf(hostapi.CodeUnavailable, "write audit: %w", err)
	}
	id, _ := res.LastInsertId()
	return uint64(id), nil
}

func nullID(id uint64) any {
	if id == 0 {
		return nil
	}
	return id
}

// ---- Provision ----

type provision struct{ s *Services }

func (p *provision) resolve(ctx context.Context, serviceID uint64) (hostapi.Adapter, hostapi.ServerRef, error) {
	if err := p.s.deps.Ops.check(ctx, "Provision"); err != nil {
		return nil, hostapi.ServerRef{}, err
	}
	if p.s.deps.Router == nil || p.s.deps.Adapters == nil {
		return nil, hostapi.ServerRef{}, hostapi.Errorf(hostapi.CodeUnavailable, "provisioning is not configured")
	}
	now := p.s.deps.Now()
	t, ok := p.s.routes.get(ctx, serviceID, now)
	if !ok {
		var err error
		if t, err = p.s.deps.Router(ctx, serviceID); err != nil {
			return nil, hostapi.ServerRef{}, err
		}
		p.s.routes.put(ctx, serviceID, t, now)
	}
	a, err := p.s.deps.Adapters.Adapter(t.Adapter)
	if err != nil {
		return nil, hostapi.ServerRef{}, err
	}
	return a, t.Ref, nil
}

func (p *provision) Read(ctx context.Context, serviceID uint64) (hostapi.Limits, error) {
	a, ref, err := p.resolve(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	return a.Read(ctx, ref)
}

// Apply serializes changes to one service across goroutines and replicas:
// a full-replace API applied from two stale reads would lose a change.
func (p *provision) Apply(ctx context.Context, serviceID uint64, target hostapi.Target) (hostapi.Applied, error) {
	a, ref, err := p.resolve(ctx, serviceID)
	if err != nil {
		return hostapi.Applied{}, err
	}
	unlock, err := p.s.locks.forApply(ctx, serviceID)
	if err != nil {
		return hostapi.Applied{}, err
	}
	defer unlock()
	applied, err := a.Apply(ctx, ref, target)
	if err != nil {
		return applied, err
	}
	// Recorded under the service's lock, so the record follows the order
	// of the applies. A failure here is reported: the caller retries its
	// apply (absolute, so a no-op on the server) until the record is in.
	if err := recordLimitWrites(ctx, p.s.deps.DB, serviceID, target, applied.After, p.s.plugin, p.s.deps.Now()); err != nil {
		return hostapi.Applied{}, err
	}
	return applied, nil
}

func (p *provision) LockService(ctx context.Context, serviceID uint64) (hostapi.ServiceLock, error) {
	return p.s.locks.take(ctx, serviceID)
}

func (p *provision) UnlockService(_ context.Context, lock hostapi.ServiceLock) error {
	return p.s.locks.give(lock)
}

func (p *provision) CheckCapacity(ctx context.Context, serviceID uint64, target hostapi.Target) error {
	a, ref, err := p.resolve(ctx, serviceID)
	if err != nil {
		return err
	}
	return a.CheckCapacity(ctx, ref, target)
}
