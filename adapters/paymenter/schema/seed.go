package schema

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/internal/laravelcrypt"
)

// Morph types as Paymenter stores them (full PHP class names; Paymenter has
// no morph map).
const (
	morphProduct = `App\Models\Product`
	morphServer  = `App\Models\Server`
	morphService = `App\Models\Service`
)

// naiveLayout is how a DATETIME/TIMESTAMP is written: a wall clock with no
// zone, as Laravel writes it in the panel's timezone.
const naiveLayout = "2006-01-02 15:04:05"

// DefaultProductSettings are the Pterodactyl extension's product settings
// (reference section 6) that Seed stores for the product, with
// SeedOptions.ProductSettings applied on top. Arrays are JSON text, as
// Paymenter's upsert writes them.
func DefaultProductSettings() map[string]string {
	return map[string]string{
		"location_ids":           `["1"]`,
		"node":                   "",
		"nest_id":                "1",
		"egg_id":                 "5",
		"memory":                 "4096",
		"swap":                   "0",
		"disk":                   "20480",
		"io":                     "500",
		"cpu":                    "200",
		"cpu_pinning":            "",
		"databases":              "2",
		"backups":                "2",
		"additional_allocations": "0",
		"port_array":             "",
		"port_range":             `[]`,
		"skip_scripts":           "0",
		"dedicated_ip":           "0",
		"start_on_completion":    "1",
		"oom_killer":             "0",
	}
}

// SeedOptions shapes the install Seed writes. The zero value is a coherent
// install: UTC, EUR, counter 0, "INV-{number}" unpadded, no proforma, no tax,
// plaintext server key, a 10.00 EUR / 11.00 USD monthly plan and an active
// service halfway through its month.
type SeedOptions struct {
	// Timezone is the setting `timezone` (IANA name). Default "UTC".
	Timezone string
	// DefaultCurrency is the setting `default_currency` and the service's
	// currency: "EUR" (default) or "USD". Both currencies are created.
	DefaultCurrency string

	// InvoiceNumber is the setting `invoice_number`: the last number used.
	InvoiceNumber int64
	// InvoiceNumberPadding is `invoice_number_padding`. Default 1 (none).
	InvoiceNumberPadding int
	// InvoiceNumberFormat is `invoice_number_format`. Default "INV-{number}".
	InvoiceNumberFormat string
	// InvoiceProforma is `invoice_proforma`: numbers are assigned at payment.
	InvoiceProforma bool
	// TaxEnabled and TaxType are `tax_enabled` and `tax_type` ("exclusive"
	// by default, or "inclusive").
	TaxEnabled bool
	TaxType    string

	// AppKey, when set, encrypts the server's api_key setting with it
	// (encrypted = 1), as Paymenter's server Edit page saves it. When empty
	// the key is stored in plaintext with encrypted = 0, as the CreateServer
	// page leaves it.
	AppKey string
	// ServerName is the extension row's label. Default "Pterodactyl".
	ServerName string
	// ServerHost is the Pterodactyl panel URL (setting `host`). Default
	// "http://127.0.0.1:8081".
	ServerHost string
	// ServerAPIKey is the application API key (setting `api_key`). Default
	// "ptla_seed_application_key".
	ServerAPIKey string
	// ProductSettings override DefaultProductSettings key by key.
	ProductSettings map[string]string

	// PlanPrices are the monthly plan's prices by currency. Default EUR
	// 10.00 and USD 11.00.
	PlanPrices map[string]decimal.Decimal
	// ServicePrice is the service's recurring price. Default: the plan price
	// in DefaultCurrency.
	ServicePrice decimal.Decimal
	// ServiceStatus defaults to "active".
	ServiceStatus string
	// Now is the seed's "now". Default time.Now(). It is stored as its wall
	// clock in Timezone.
	Now time.Time
	// ExpiresAt is the service's expires_at. Default Now + 15 days, the
	// middle of the monthly cycle. Stored as its wall clock in Timezone.
	ExpiresAt time.Time
}

// Seeded holds the ids of what Seed wrote.
type Seeded struct {
	UserID     uint64
	CategoryID uint64
	// ServerID is the extensions row of the Pterodactyl server.
	ServerID  uint64
	ProductID uint64
	PlanID    uint64
	// PriceIDs are the plan's prices rows by currency code.
	PriceIDs  map[string]uint64
	OrderID   uint64
	ServiceID uint64
	// Currency is the service's currency.
	Currency string
	// Location is the panel's timezone.
	Location *time.Location
	// ExpiresAt is the service's expires_at as stored: a wall clock in
	// Location, to the second.
	ExpiresAt time.Time
}

// Seed writes a minimal, coherent Paymenter install into tables made by
// Create and returns the ids. It is meant for an empty database; call
// AddUser, AddService and AddInvoice for more rows.
func Seed(ctx context.Context, db Execer, opts SeedOptions) (Seeded, error) {
	opts, loc, err := opts.withDefaults()
	if err != nil {
		return Seeded{}, err
	}
	w := writer{ctx: ctx, db: db, now: opts.Now.In(loc).Format(naiveLayout)}
	out := Seeded{Currency: opts.DefaultCurrency, Location: loc, PriceIDs: map[string]uint64{}}

	w.globalSettings(opts)
	w.currencies()
	out.UserID = w.user("customer@example.test", "Ada", "Lovelace")
	out.CategoryID = w.insert("categories",
		"INSERT INTO `categories` (`slug`, `name`, `description`, `full_slug`, `sort`, `created_at`, `updated_at`) VALUES ('game-servers', 'Game servers', 'Minecraft and friends', 'game-servers', 1, ?, ?)",
		w.now, w.now)
	out.ServerID = w.insert("extensions",
		"INSERT INTO `extensions` (`name`, `extension`, `type`, `enabled`, `created_at`, `updated_at`) VALUES (?, 'Pterodactyl', 'server', 1, ?, ?)",
		opts.ServerName, w.now, w.now)
	w.serverSettings(out.ServerID, opts)
	out.ProductID = w.insert("products",
		"INSERT INTO `products` (`category_id`, `name`, `slug`, `description`, `allow_quantity`, `server_id`, `created_at`, `updated_at`, `hidden`) VALUES (?, 'Minecraft 4 GB', 'minecraft-4gb', 'A Minecraft server with 4 GB of memory', 'disabled', ?, ?, ?, 0)",
		out.CategoryID, out.ServerID, w.now, w.now)
	w.productSettings(out.ProductID, opts.ProductSettings)
	out.PlanID = w.insert("plans",
		"INSERT INTO `plans` (`name`, `priceable_type`, `priceable_id`, `type`, `billing_period`, `billing_unit`, `sort`) VALUES ('Monthly', ?, ?, 'recurring', 1, 'month', 1)",
		morphProduct, out.ProductID)
	for _, code := range sortedKeys(opts.PlanPrices) {
		out.PriceIDs[code] = w.insert("prices",
			"INSERT INTO `prices` (`price`, `setup_fee`, `currency_code`, `plan_id`) VALUES (?, NULL, ?, ?)",
			opts.PlanPrices[code].StringFixed(2), code, out.PlanID)
	}
	out.OrderID = w.insert("orders",
		"INSERT INTO `orders` (`user_id`, `currency_code`, `created_at`, `updated_at`) VALUES (?, ?, ?, ?)",
		out.UserID, opts.DefaultCurrency, w.now, w.now)
	if w.err != nil {
		return Seeded{}, w.err
	}
	out.ServiceID, err = AddService(ctx, db, ServiceSpec{
		OrderID:   out.OrderID,
		UserID:    out.UserID,
		ProductID: out.ProductID,
		PlanID:    out.PlanID,
		Currency:  opts.DefaultCurrency,
		Price:     opts.ServicePrice,
		Status:    opts.ServiceStatus,
		ExpiresAt: opts.ExpiresAt.In(loc),
		CreatedAt: opts.Now.In(loc).AddDate(0, 0, -15),
	})
	if err != nil {
		return Seeded{}, err
	}
	out.ExpiresAt = opts.ExpiresAt.In(loc).Truncate(time.Second)
	return out, nil
}

// withDefaults fills the zero fields and resolves the timezone.
func (o SeedOptions) withDefaults() (SeedOptions, *time.Location, error) {
	if o.Timezone == "" {
		o.Timezone = "UTC"
	}
	loc, err := time.LoadLocation(o.Timezone)
	if err != nil {
		return o, nil, fmt.Errorf("seed: timezone %q: %w", o.Timezone, err)
	}
	if o.DefaultCurrency == "" {
		o.DefaultCurrency = "EUR"
	}
	if o.InvoiceNumberPadding == 0 {
		o.InvoiceNumberPadding = 1
	}
	if o.InvoiceNumberFormat == "" {
		o.InvoiceNumberFormat = "INV-{number}"
	}
	if o.TaxType == "" {
		o.TaxType = "exclusive"
	}
	if o.ServerName == "" {
		o.ServerName = "Pterodactyl"
	}
	if o.ServerHost == "" {
		o.ServerHost = "http://127.0.0.1:8081"
	}
	if o.ServerAPIKey == "" {
		o.ServerAPIKey = "ptla_seed_application_key"
	}
	settings := DefaultProductSettings()
	for k, v := range o.ProductSettings {
		settings[k] = v
	}
	o.ProductSettings = settings
	if len(o.PlanPrices) == 0 {
		o.PlanPrices = map[string]decimal.Decimal{
			"EUR": decimal.RequireFromString("10.00"),
			"USD": decimal.RequireFromString("11.00"),
		}
	}
	if o.ServicePrice.IsZero() {
		o.ServicePrice = o.PlanPrices[o.DefaultCurrency]
	}
	if o.ServiceStatus == "" {
		o.ServiceStatus = "active"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.ExpiresAt.IsZero() {
		o.ExpiresAt = o.Now.AddDate(0, 0, 15)
	}
	return o, loc, nil
}

// writer runs inserts and keeps the first error, so Seed reads as a list of
// rows rather than a ladder of checks.
type writer struct {
	ctx context.Context
	db  Execer
	now string
	err error
}

func (w *writer) exec(what, query string, args ...any) {
	if w.err != nil {
		return
	}
	if _, err := w.db.ExecContext(w.ctx, query, args...); err != nil {
		w.err = fmt.Errorf("seed %s: %w", what, err)
	}
}

func (w *writer) insert(table, query string, args ...any) uint64 {
	if w.err != nil {
		return 0
	}
	id, err := insertID(w.ctx, w.db, query, args...)
	if err != nil {
		w.err = fmt.Errorf("seed %s: %w", table, err)
	}
	return id
}

func (w *writer) setting(key, value, typ string, encrypted bool, morphType *string, morphID *uint64) {
	w.exec("setting "+key,
		"INSERT INTO `settings` (`key`, `value`, `type`, `encrypted`, `settingable_type`, `settingable_id`, `created_at`, `updated_at`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		key, value, typ, encrypted, morphType, morphID, w.now, w.now)
}

func (w *writer) globalSettings(o SeedOptions) {
	w.setting("timezone", o.Timezone, "string", false, nil, nil)
	w.setting("default_currency", o.DefaultCurrency, "string", false, nil, nil)
	w.setting("invoice_number", strconv.FormatInt(o.InvoiceNumber, 10), "integer", false, nil, nil)
	w.setting("invoice_number_padding", strconv.Itoa(o.InvoiceNumberPadding), "integer", false, nil, nil)
	w.setting("invoice_number_format", o.InvoiceNumberFormat, "string", false, nil, nil)
	w.setting("invoice_proforma", boolSetting(o.InvoiceProforma), "boolean", false, nil, nil)
	w.setting("tax_enabled", boolSetting(o.TaxEnabled), "boolean", false, nil, nil)
	w.setting("tax_type", o.TaxType, "string", false, nil, nil)
}

func (w *writer) currencies() {
	w.exec("currency EUR", "INSERT INTO `currencies` (`code`, `name`, `prefix`, `suffix`, `format`) VALUES ('EUR', 'Euro', '€', NULL, '1.000,00')")
	w.exec("currency USD", "INSERT INTO `currencies` (`code`, `name`, `prefix`, `suffix`, `format`) VALUES ('USD', 'US Dollar', '$', NULL, '1,000.00')")
}

func (w *writer) user(email, first, last string) uint64 {
	return w.insert("users",
		"INSERT INTO `users` (`first_name`, `last_name`, `email`, `password`, `created_at`, `updated_at`) VALUES (?, ?, ?, ?, ?, ?)",
		first, last, email, seedPasswordHash, w.now, w.now)
}

// serverSettings writes the Pterodactyl instance settings, encrypting the
// api_key when an APP_KEY is given.
func (w *writer) serverSettings(serverID uint64, o SeedOptions) {
	if w.err != nil {
		return
	}
	morph := morphServer
	w.setting("host", o.ServerHost, "string", false, &morph, &serverID)
	apiKey, encrypted := o.ServerAPIKey, false
	if o.AppKey != "" {
		key, err := laravelcrypt.ParseKey(o.AppKey)
		if err != nil {
			w.err = fmt.Errorf("seed server api_key: %w", err)
			return
		}
		if apiKey, err = key.EncryptString(o.ServerAPIKey); err != nil {
			w.err = fmt.Errorf("seed server api_key: %w", err)
			return
		}
		encrypted = true
	}
	w.setting("api_key", apiKey, "string", encrypted, &morph, &serverID)
}

// productSettings writes the product's per-server settings the way
// Paymenter's upsert does: never encrypted, arrays typed "array".
func (w *writer) productSettings(productID uint64, settings map[string]string) {
	morph := morphProduct
	for _, k := range sortedKeys(settings) {
		w.setting(k, settings[k], settingType(settings[k]), false, &morph, &productID)
	}
}

// settingType is "array" for JSON arrays and objects, "string" otherwise.
func settingType(v string) string {
	if len(v) > 0 && (v[0] == '[' || v[0] == '{') && json.Valid([]byte(v)) {
		return "array"
	}
	return "string"
}

func boolSetting(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// seedPasswordHash is a bcrypt-shaped placeholder; nobody logs in to a seed.
const seedPasswordHash = "$2y$12$upsellseedupsellseedupsOeJ1lHqk7vXx9wq2m3Yv0f8b5c4d3e2"

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// insertID runs an INSERT and returns the new row's id.
func insertID(ctx context.Context, db Execer, query string, args ...any) (uint64, error) {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	return uint64(id), nil
}
