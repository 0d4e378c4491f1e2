package host

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
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
}

// Target says which adapter serves a service and how it reaches the server.
type Target struct {
	Adapter string
	Ref     hostapi.ServerRef
}

// Router finds the adapter and credentials for a service (from the panel's
// server binding, or upsell's own per-server configuration).
type Router func(ctx context.Context, serviceID uint64) (Target, error)

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
	Now      func() time.Time
	// PanelName names the panel in upsell's tables ("paymenter").
	PanelName string
}

// Services is the host API of one plugin instance.
type Services struct {
	plugin string
	deps   Deps
	store  *Store
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
	return &Services{plugin: plugin, deps: deps, store: NewStore(deps.DB, tablePrefix)}
}

// panelName is the binding's panel name ("paymenter").
func (s *Services) panelName() string {
	if s.deps.PanelName != "" {
		return s.deps.PanelName
	}
	return "paymenter"
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

// Close rolls back what the plugin left open.
func (s *Services) Close() { s.store.Close() }

// ---- Panel ----

type panel struct{ s *Services }

func (p *panel) Settings(ctx context.Context) (hostapi.PanelSettings, error) {
	return p.s.deps.Panel.Settings(ctx)
}

func (p *panel) Service(ctx context.Context, id uint64) (hostapi.Service, error) {
	return p.s.deps.Panel.Service(ctx, id)
}

func (p *panel) User(ctx context.Context, id uint64) (hostapi.User, error) {
	return p.s.deps.Panel.User(ctx, id)
}

func (p *panel) ExclusiveTaxRate(ctx context.Context, userID uint64) (decimal.Decimal, error) {
	return p.s.deps.Panel.ExclusiveTaxRate(ctx, userID)
}

func (p *panel) Invoice(ctx context.Context, id uint64) (hostapi.Invoice, error) {
	return p.s.deps.Panel.Invoice(ctx, id)
}

// CreateInvoice writes the invoice and records which module owns it, in one
// transaction (the module's, or one of its own), so a paid-invoice event
// always finds its way back and the poller watches only upsell's invoices.
func (p *panel) CreateInvoice(ctx context.Context, txID hostapi.TxID, inv hostapi.NewInvoice) (hostapi.Invoice, error) {
	tx, err := p.s.store.SQLTx(txID)
	if err != nil {
		return hostapi.Invoice{}, err
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

const insertPanelInvoice = `INSERT INTO upsell_panel_invoices (panel, invoice_id, module, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?)`

// RecordInvoice notes that module owns a panel invoice.
func RecordInvoice(ctx context.Context, tx *sqlx.Tx, panel string, invoiceID uint64, module string, now time.Time) error {
	key := fmt.Sprintf("%s:%d", panel, invoiceID)
	if _, err := tx.ExecContext(ctx, insertPanelInvoice, panel, invoiceID, module, key, now.UTC()); err != nil {
		return hostapi.Errorf(hostapi.CodeUnavailable, "record invoice owner: %w", err)
	}
	return nil
}

func (p *panel) UpdateRecurringPrice(ctx context.Context, txID hostapi.TxID, ch hostapi.PriceChange) (hostapi.PriceChanged, error) {
	tx, err := p.s.store.SQLTx(txID)
	if err != nil {
		return hostapi.PriceChanged{}, err
	}
	return p.s.deps.Panel.UpdateRecurringPrice(ctx, tx, ch)
}

// ---- Audit ----

type audit struct{ s *Services }

const insertAudit = `INSERT INTO upsell_audit (plugin, action, service_id, user_id, subject, message, data, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

func (a *audit) Write(ctx context.Context, txID hostapi.TxID, e hostapi.AuditEntry) (uint64, error) {
	if e.Action == "" {
		return 0, hostapi.Invalid("action", "an audit entry needs an action")
	}
	tx, err := a.s.store.SQLTx(txID)
	if err != nil {
		return 0, err
	}
	return WriteAudit(ctx, a.s.deps.DB, tx, a.s.plugin, e, a.s.deps.Now())
}

// WriteAudit appends an audit entry, inside tx when it is not nil. The host
// uses it for its own entries with plugin "host".
func WriteAudit(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, plugin string, e hostapi.AuditEntry, now time.Time) (uint64, error) {
	var data any
	if len(e.Data) > 0 {
		data = string(e.Data)
	}
	args := []any{plugin, e.Action, nullID(e.ServiceID), nullID(e.UserID), e.Subject, e.Message, data, now.UTC()}
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
	if p.s.deps.Router == nil || p.s.deps.Adapters == nil {
		return nil, hostapi.ServerRef{}, hostapi.Errorf(hostapi.CodeUnavailable, "provisioning is not configured")
	}
	t, err := p.s.deps.Router(ctx, serviceID)
	if err != nil {
		return nil, hostapi.ServerRef{}, err
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
	unlock, err := p.s.deps.Locks.Lock(ctx, serviceID)
	if err != nil {
		return hostapi.Applied{}, err
	}
	defer unlock()
	return a.Apply(ctx, ref, target)
}

func (p *provision) CheckCapacity(ctx context.Context, serviceID uint64, target hostapi.Target) error {
	a, ref, err := p.resolve(ctx, serviceID)
	if err != nil {
		return err
	}
	return a.CheckCapacity(ctx, ref, target)
}

// ServiceLocks is a per-service mutex shared by goroutines (a local mutex)
// and by replicas on one database (a MySQL named lock held on a dedicated
// connection).
type ServiceLocks struct {
	db    *sqlx.DB
	local [64]sync.Mutex
}

// NewServiceLocks returns locks on db.
func NewServiceLocks(db *sqlx.DB) *ServiceLocks { return &ServiceLocks{db: db} }

// Lock takes the service's lock, waiting up to ctx's deadline (or 60 s).
func (l *ServiceLocks) Lock(ctx context.Context, serviceID uint64) (func(), error) {
	h := fnv.New32a()
	fmt.Fprint(h, serviceID)
	m := &l.local[h.Sum32()%uint32(len(l.local))]
	m.Lock()
	if l.db == nil {
		return m.Unlock, nil
	}
	conn, err := l.db.Connx(ctx)
	if err != nil {
		m.Unlock()
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "service lock: %w", err)
	}
	wait := 60
	if d, ok := ctx.Deadline(); ok {
		wait = max(1, int(time.Until(d).Seconds()))
	}
	name := fmt.Sprintf("upsell_service_%d", serviceID)
	var got *int64
	if err := conn.QueryRowxContext(ctx, "SELECT GET_LOCK(?, ?)", name, wait).Scan(&got); err != nil || got == nil || *got != 1 {
		conn.Close()
		m.Unlock()
		if err == nil {
			err = fmt.Errorf("timed out")
		}
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "service %d lock: %w", serviceID, err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", name)
		conn.Close()
		m.Unlock()
	}, nil
}
