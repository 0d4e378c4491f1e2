package paymenter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/laravelcrypt"
)

// Morph types as Paymenter stores them in *_type columns: full PHP class
// names, since Paymenter registers no morph map.
const (
	TypeService        = `App\Models\Service`
	TypeServiceUpgrade = `App\Models\ServiceUpgrade`
	TypeCredit         = `App\Models\Credit`
	TypeProduct        = `App\Models\Product`
	TypeServer         = `App\Models\Server`
)

// DefaultItemReferenceType is the reference_type upsell writes on its invoice
// items. Paymenter leaves items of unknown types alone when the invoice is
// paid, and the host recognises its own items by it.
const DefaultItemReferenceType = `Upsell\Addon`

// InvoiceWriter selects how CreateInvoice writes to the panel.
type InvoiceWriter string

// The invoice writers.
const (
	// WriterSQL inserts the rows directly, in the caller's transaction when
	// one is given. Paymenter fires no event: no e-mail is sent.
	WriterSQL InvoiceWriter = "sql"
	// WriterAPI creates the invoice through Paymenter's admin REST API, so
	// Paymenter sends its own invoice e-mail. It cannot join a transaction.
	WriterAPI InvoiceWriter = "api"
)

// Config configures a Binding. Its String method redacts the secrets.
type Config struct {
	// AppKey is Paymenter's APP_KEY ("base64:..."), needed to decrypt
	// encrypted settings such as a server's api_key. Optional when no
	// setting the binding reads is encrypted.
	AppKey string
	// BaseURL is the panel's public URL; an invoice's PayURL is
	// BaseURL + "/invoices/{id}".
	BaseURL string
	// InvoiceWriter is WriterSQL (default) or WriterAPI.
	InvoiceWriter InvoiceWriter
	// API configures WriterAPI.
	API APIConfig
	// ItemReferenceType is written as reference_type on items that do not
	// name one. Default DefaultItemReferenceType. New refuses the types
	// Paymenter acts on when an invoice is paid.
	ItemReferenceType string
	// Clock returns the current time (for invoice dates and numbers).
	// Default time.Now.
	Clock func() time.Time
}

// APIConfig configures the admin-API invoice writer.
type APIConfig struct {
	// BaseURL of the panel's API; default Config.BaseURL.
	BaseURL string
	// Key is an admin API key (Admin -> API keys) with the invoices.create,
	// invoice_items.create and invoices.delete permissions.
	Key string
	// HTTPClient is the underlying client; default a pooled client with a
	// 30 s per-attempt timeout.
	HTTPClient *http.Client
	// RetryMax is how many times a request is retried after a 5xx, a 429
	// or a connection error. Default 4; negative means no retries.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff between
	// retries (default 500 ms and 30 s). A Retry-After header overrides the
	// backoff.
	RetryWaitMin, RetryWaitMax time.Duration
}

// String redacts the secrets, so a Config can be logged.
func (c Config) String() string {
	return fmt.Sprintf("paymenter.Config{BaseURL:%q InvoiceWriter:%q ItemReferenceType:%q AppKey:%s API:%s}",
		c.BaseURL, c.InvoiceWriter, c.ItemReferenceType, redacted(c.AppKey), c.API)
}

// GoString redacts the secrets in %#v.
func (c Config) GoString() string { return c.String() }

// String redacts the key.
func (a APIConfig) String() string {
	return fmt.Sprintf("{BaseURL:%q Key:%s}", a.BaseURL, redacted(a.Key))
}

// GoString redacts the key in %#v.
func (a APIConfig) GoString() string { return a.String() }

func redacted(secret string) string {
	if secret == "" {
		return `""`
	}
	return "[redacted]"
}

// Binding reads and writes a Paymenter database. It is safe for concurrent
// use.
type Binding struct {
	db        *sqlx.DB
	baseURL   string
	itemType  string
	clock     func() time.Time
	appKey    laravelcrypt.Key
	stmts     *statements
	api       *apiWriter
	locations sync.Map // timezone name -> *time.Location
	settings  settingsCache
}

// New checks cfg and prepares the binding's statements on db. Close the
// Binding to release them.
func New(ctx context.Context, db *sqlx.DB, cfg Config) (*Binding, error) {
	if db == nil {
		return nil, errors.New("paymenter: nil database")
	}
	b := &Binding{
		db:       db,
		baseURL:  strings.TrimRight(cfg.BaseURL, "/"),
		itemType: cfg.ItemReferenceType,
		clock:    cfg.Clock,
	}
	if b.itemType == "" {
		b.itemType = DefaultItemReferenceType
	}
	if isPanelActionType(b.itemType) {
		return nil, hostapi.Invalid("item_reference_type",
			"%q makes Paymenter act when the invoice is paid (renewal, upgrade or credit); use an upsell type such as %q",
			b.itemType, DefaultItemReferenceType)
	}
	if b.clock == nil {
		b.clock = time.Now
	}
	if cfg.AppKey != "" {
		key, err := laravelcrypt.ParseKey(cfg.AppKey)
		if err != nil {
			// The laravelcrypt error names no key material.
			return nil, &hostapi.Error{Code: hostapi.CodeInvalid, Field: "app_key", Message: err.Error(), Err: err}
		}
		b.appKey = key
	}
	switch cfg.InvoiceWriter {
	case "", WriterSQL:
	case WriterAPI:
		w, err := newAPIWriter(cfg.API, b.baseURL)
		if err != nil {
			return nil, err
		}
		b.api = w
	default:
		return nil, hostapi.Invalid("invoice_writer", "unknown invoice writer %q (want %q or %q)", cfg.InvoiceWriter, WriterSQL, WriterAPI)
	}
	stmts, err := prepareStatements(ctx, db)
	if err != nil {
		return nil, err
	}
	b.stmts = stmts
	return b, nil
}

// InvoicesJoinTransactions reports whether CreateInvoice writes inside the
// caller's transaction. The "api" writer creates invoices over HTTP, outside
// any database transaction, so the host records their owner on its own.
func (b *Binding) InvoicesJoinTransactions() bool { return b.api == nil }

// Close releases the prepared statements.
func (b *Binding) Close() error {
	return b.stmts.close()
}

// isPanelActionType reports whether Paymenter acts on items of this
// reference type when their invoice is paid. PHP class names are
// case-insensitive and may carry a leading backslash, so the comparison
// ignores both.
func isPanelActionType(refType string) bool {
	t := strings.TrimPrefix(strings.TrimSpace(refType), `\`)
	for _, forbidden := range []string{TypeService, TypeServiceUpgrade, TypeCredit} {
		if strings.EqualFold(t, forbidden) {
			return true
		}
	}
	return false
}

// location resolves a timezone name once and caches it; unknown or empty
// names are UTC, as hostapi.PanelSettings.Location does.
func (b *Binding) location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if loc, ok := b.locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc := hostapi.PanelSettings{Timezone: name}.Location()
	b.locations.Store(name, loc)
	return loc
}

// payURL is where the client pays invoice id on the panel.
func (b *Binding) payURL(id uint64) string {
	if b.baseURL == "" {
		return ""
	}
	return fmt.Sprintf("%s/invoices/%d", b.baseURL, id)
}

// inTx runs fn in tx, or in a transaction of its own when tx is nil (then
// committed on success and rolled back on error). With the caller's tx, an
// error leaves the rollback to the caller.
func inTx[T any](ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, fn func(*sqlx.Tx) (T, error)) (T, error) {
	if tx != nil {
		return fn(tx)
	}
	var zero T
	own, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return zero, mapDBError(fmt.Errorf("paymenter: begin transaction: %w", err))
	}
	committed := false
	defer func() {
		if !committed {
			_ = own.Rollback() // also on panic: never leave a lock held
		}
	}()
	out, err := fn(own)
	if err != nil {
		return zero, err
	}
	if err := own.Commit(); err != nil {
		return zero, mapDBError(fmt.Errorf("paymenter: commit: %w", err))
	}
	committed = true
	return out, nil
}
