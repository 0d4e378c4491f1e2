package microupsell

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
)

// Package is a preset add-on a provider sells.
type Package struct {
	ID       uint64
	Name     string
	Resource hostapi.Resource
	// Amount is added to Resource (MiB, percent, count).
	Amount int64
	Active bool
	// ProductID restricts the package to one product; 0 means any.
	ProductID uint64
	// MaxPerService caps how many a service may hold; 0 means no cap.
	MaxPerService int
	Sort          int
	// MonthlyPrices is the monthly base price per currency.
	MonthlyPrices map[string]decimal.Decimal
}

// sellable lists the resources a package may add. CPU cores and traffic
// belong to VPS adapters and the BYO configurator, not to game add-ons.
var sellable = map[hostapi.Resource]bool{
	hostapi.MemoryMiB: true, hostapi.DiskMiB: true, hostapi.CPUPercent: true,
	hostapi.Ports: true, hostapi.Databases: true, hostapi.Backups: true, hostapi.SwapMiB: true,
}

const (
	selectPackages = `SELECT p.id, p.name, p.resource, p.amount, p.active, p.product_id, p.max_per_service, p.sort, pp.currency, pp.monthly_price
FROM ext_micro_upsell_packages p LEFT JOIN ext_micro_upsell_package_prices pp ON pp.package_id = p.id
ORDER BY p.sort, p.id`
	selectPackage = `SELECT p.id, p.name, p.resource, p.amount, p.active, p.product_id, p.max_per_service, p.sort, pp.currency, pp.monthly_price
FROM ext_micro_upsell_packages p LEFT JOIN ext_micro_upsell_package_prices pp ON pp.package_id = p.id
WHERE p.id = ?`
	// selectOffer is the client's list in one round trip: every package with
	// its prices and how many of it the service holds or is buying.
	selectOffer = `SELECT p.id, p.name, p.resource, p.amount, p.active, p.product_id, p.max_per_service, p.sort, pp.currency, pp.monthly_price, COALESCE(h.n, 0)
FROM ext_micro_upsell_packages p
LEFT JOIN ext_micro_upsell_package_prices pp ON pp.package_id = p.id
LEFT JOIN (SELECT package_id, COUNT(*) AS n FROM ext_micro_upsell_order_addons
  WHERE service_id = ? AND state IN ('awaiting_payment', 'paid', 'applying', 'applied') GROUP BY package_id) h ON h.package_id = p.id
ORDER BY p.sort, p.id`
	insertPackage = `INSERT INTO ext_micro_upsell_packages (name, resource, amount, active, product_id, max_per_service, sort, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updatePackage = `UPDATE ext_micro_upsell_packages SET name = ?, resource = ?, amount = ?, active = ?, product_id = ?, max_per_service = ?, sort = ?, updated_at = ? WHERE id = ?`
	deletePrices  = `DELETE FROM ext_micro_upsell_package_prices WHERE package_id = ?`
	insertPrice   = `INSERT INTO ext_micro_upsell_package_prices (package_id, currency, monthly_price) VALUES (?, ?, ?)`
)

// readPackages folds package rows joined with their prices. held, when not
// nil, receives the holdings column selectOffer adds.
func readPackages(rows *hostapi.Rows, held map[uint64]int) ([]Package, error) {
	var out []Package
	byID := map[uint64]int{}
	for i := 0; i < rows.Len(); i++ {
		var (
			p        Package
			resource string
			product  *uint64
			maxPer   *int64
			currency *string
			price    *decimal.Decimal
			n        int
		)
		dest := []any{&p.ID, &p.Name, &resource, &p.Amount, &p.Active, &product, &maxPer, &p.Sort, &currency, &price}
		if held != nil {
			dest = append(dest, &n)
		}
		if err := rows.Scan(i, dest...); err != nil {
			return nil, hostapi.Errorf(hostapi.CodeInternal, "read package: %w", err)
		}
		if held != nil {
			held[p.ID] = n
		}
		idx, seen := byID[p.ID]
		if !seen {
			p.Resource = hostapi.Resource(resource)
			if product != nil {
				p.ProductID = *product
			}
			if maxPer != nil {
				p.MaxPerService = int(*maxPer)
			}
			p.MonthlyPrices = map[string]decimal.Decimal{}
			out = append(out, p)
			idx = len(out) - 1
			byID[p.ID] = idx
		}
		if currency != nil && price != nil {
			out[idx].MonthlyPrices[*currency] = *price
		}
	}
	return out, nil
}

func (m *Module) packages(ctx context.Context) ([]Package, error) {
	h, _ := m.deps()
	rows, err := h.Store.Query(ctx, "", selectPackages)
	if err != nil {
		return nil, err
	}
	return readPackages(rows, nil)
}

// offerPrefetch names the prefetched selectOffer on the client list route.
const offerPrefetch = "offer"

// offer lists the packages with the service's holdings of each, from the
// rows the host prefetched for req or, from an older host, by querying.
func (m *Module) offer(ctx context.Context, req hostapi.HTTPRequest, serviceID uint64) ([]Package, map[uint64]int, error) {
	rows := req.Prefetched[offerPrefetch]
	if rows == nil {
		h, _ := m.deps()
		var err error
		if rows, err = h.Store.Query(ctx, "", selectOffer, serviceID); err != nil {
			return nil, nil, err
		}
	}
	held := map[uint64]int{}
	ps, err := readPackages(rows, held)
	return ps, held, err
}

func (m *Module) packageByID(ctx context.Context, tx hostapi.TxID, id uint64) (Package, error) {
	h, _ := m.deps()
	rows, err := h.Store.Query(ctx, tx, selectPackage, id)
	if err != nil {
		return Package{}, err
	}
	ps, err := readPackages(rows, nil)
	if err != nil {
		return Package{}, err
	}
	if len(ps) == 0 {
		return Package{}, hostapi.Errorf(hostapi.CodeNotFound, "no package %d", id)
	}
	return ps[0], nil
}

// packageInput is the admin's create/update body. Prices are decimal strings.
type packageInput struct {
	Name          *string           `json:"name"`
	Resource      *string           `json:"resource"`
	Amount        *int64            `json:"amount"`
	Active        *bool             `json:"active"`
	ProductID     *uint64           `json:"product_id"`
	MaxPerService *int              `json:"max_per_service"`
	Sort          *int              `json:"sort"`
	MonthlyPrices map[string]string `json:"monthly_prices"`
}

// Column limits of ext_micro_upsell_packages, checked before writing so a
// value that does not fit is refused by field, not by the database.
const (
	maxNameChars  = 191       // name VARCHAR(191)
	maxAmount     = 1 << 30   // amount: a sane bound well inside BIGINT
	maxPerService = 1<<32 - 1 // max_per_service INT UNSIGNED
	minSort       = -1 << 31  // sort INT
	maxSort       = 1<<31 - 1 // sort INT
)

// apply merges in onto p and validates the result. settings lists the
// panel's currencies: a price in a currency the panel does not have could
// never be charged. Every refused field is reported at once
// (hostapi.JoinInvalid, in the order of the form), so an admin fixes them
// all in one round trip.
func (in packageInput) apply(p Package, settings hostapi.PanelSettings) (Package, error) {
	if in.Name != nil {
		p.Name = strings.TrimSpace(*in.Name)
	}
	if in.Resource != nil {
		p.Resource = hostapi.Resource(*in.Resource)
	}
	if in.Amount != nil {
		p.Amount = *in.Amount
	}
	if in.Active != nil {
		p.Active = *in.Active
	}
	if in.ProductID != nil {
		p.ProductID = *in.ProductID
	}
	if in.MaxPerService != nil {
		p.MaxPerService = *in.MaxPerService
	}
	if in.Sort != nil {
		p.Sort = *in.Sort
	}
	var refused []error
	if p.Name == "" {
		refused = append(refused, hostapi.Invalid("name", "is required"))
	} else if err := hostapi.CheckText("name", p.Name, maxNameChars, false); err != nil {
		refused = append(refused, err)
	}
	if !sellable[p.Resource] {
		refused = append(refused, hostapi.Invalid("resource", "%q is not a sellable resource", p.Resource))
	}
	if p.Amount < 1 || p.Amount > maxAmount {
		refused = append(refused, hostapi.Invalid("amount", "must be between 1 and %d", maxAmount))
	}
	pricesOK := true
	if in.MonthlyPrices != nil {
		prices, errs := parsePrices(in.MonthlyPrices, settings)
		refused, pricesOK = append(refused, errs...), len(errs) == 0
		if pricesOK {
			p.MonthlyPrices = prices
		}
	}
	if pricesOK && len(p.MonthlyPrices) == 0 {
		refused = append(refused, hostapi.Invalid("monthly_prices", "at least one currency needs a price"))
	}
	if p.MaxPerService < 0 || int64(p.MaxPerService) > maxPerService {
		refused = append(refused, hostapi.Invalid("max_per_service", "must be between 0 (no cap) and %d", maxPerService))
	}
	if p.Sort < minSort || p.Sort > maxSort {
		refused = append(refused, hostapi.Invalid("sort", "must be between %d and %d", minSort, maxSort))
	}
	return p, hostapi.JoinInvalid(refused...)
}

// parsePrices reads the admin's monthly prices: each in a currency of the
// panel, a plain non-negative decimal of at most 2 places that fits the
// price column (money.Parse). It returns every refused price.
func parsePrices(in map[string]string, settings hostapi.PanelSettings) (map[string]decimal.Decimal, []error) {
	currencies := make([]string, 0, len(in))
	for cur := range in {
		currencies = append(currencies, cur)
	}
	sort.Strings(currencies) // the refusals come in the same order on every call
	out := make(map[string]decimal.Decimal, len(in))
	var refused []error
	for _, cur := range currencies {
		field := "monthly_prices." + cur
		if !settings.HasCurrency(cur) {
			refused = append(refused, hostapi.Invalid(field, "%q is not a currency of the panel", cur))
			continue
		}
		d, err := money.Parse(in[cur])
		switch {
		case err != nil:
			refused = append(refused, hostapi.Invalid(field, "must be a decimal string with at most 2 places such as \"2.50\": %v", err))
		case d.IsNegative():
			refused = append(refused, hostapi.Invalid(field, "must not be negative, not %q", in[cur]))
		default:
			out[cur] = d
		}
	}
	return out, refused
}

// packageView is a package as the admin API shows it.
type packageView struct {
	ID            uint64            `json:"id"`
	Name          string            `json:"name"`
	Resource      string            `json:"resource"`
	Amount        int64             `json:"amount"`
	Active        bool              `json:"active"`
	ProductID     uint64            `json:"product_id,omitempty"`
	MaxPerService int               `json:"max_per_service,omitempty"`
	Sort          int               `json:"sort"`
	MonthlyPrices map[string]string `json:"monthly_prices"`
}

func viewPackage(p Package) packageView {
	v := packageView{ID: p.ID, Name: p.Name, Resource: string(p.Resource), Amount: p.Amount, Active: p.Active,
		ProductID: p.ProductID, MaxPerService: p.MaxPerService, Sort: p.Sort, MonthlyPrices: map[string]string{}}
	for c, d := range p.MonthlyPrices {
		v.MonthlyPrices[c] = money.Format(d)
	}
	return v
}

func (m *Module) adminListPackages(ctx context.Context) (int, any, error) {
	ps, err := m.packages(ctx)
	if err != nil {
		return 0, nil, err
	}
	out := make([]packageView, len(ps))
	for i, p := range ps {
		out[i] = viewPackage(p)
	}
	return http.StatusOK, map[string]any{"packages": out}, nil
}

func (m *Module) adminCreatePackage(ctx context.Context, body []byte) (int, any, error) {
	p, err := m.preparePackage(ctx, 0, body)
	if err != nil {
		return 0, nil, err
	}
	if p.ID, err = m.savePackage(ctx, p, true); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, viewPackage(p), nil
}

// adminUpdatePackage changes a package. Orders keep the prices they locked:
// they never read the package again.
func (m *Module) adminUpdatePackage(ctx context.Context, id uint64, body []byte) (int, any, error) {
	p, err := m.preparePackage(ctx, id, body)
	if err != nil {
		return 0, nil, err
	}
	if _, err := m.savePackage(ctx, p, false); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewPackage(p), nil
}

// preparePackage is the one home of the package rules, for the JSON API
// and the console's forms alike: body (a packageInput) merged onto package
// id (a new active package for 0) and validated, nothing written.
func (m *Module) preparePackage(ctx context.Context, id uint64, body []byte) (Package, error) {
	var in packageInput
	if err := hostapi.DecodeJSON(body, &in); err != nil {
		return Package{}, err
	}
	cur := Package{Active: true}
	if id != 0 {
		var err error
		if cur, err = m.packageByID(ctx, "", id); err != nil {
			return Package{}, err
		}
	}
	settings, err := m.panelSettings(ctx)
	if err != nil {
		return Package{}, err
	}
	return in.apply(cur, settings)
}

// panelSettings asks the host for the panel's settings (its currencies).
func (m *Module) panelSettings(ctx context.Context) (hostapi.PanelSettings, error) {
	h, _ := m.deps()
	return h.Panel.Settings(ctx)
}

func nullable[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

// savePackage writes a package and its prices in one transaction.
func (m *Module) savePackage(ctx context.Context, p Package, create bool) (uint64, error) {
	h, _ := m.deps()
	now := m.now().UTC()
	tx, err := h.Store.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	id := p.ID
	if create {
		res, err := h.Store.Exec(ctx, tx.ID(), insertPackage, p.Name, string(p.Resource), p.Amount, p.Active, nullable(p.ProductID), nullable(p.MaxPerService), p.Sort, now, now)
		if err != nil {
			return 0, err
		}
		id = uint64(res.LastInsertID)
	} else if _, err := h.Store.Exec(ctx, tx.ID(), updatePackage, p.Name, string(p.Resource), p.Amount, p.Active, nullable(p.ProductID), nullable(p.MaxPerService), p.Sort, now, id); err != nil {
		return 0, err
	}
	if _, err := h.Store.Exec(ctx, tx.ID(), deletePrices, id); err != nil {
		return 0, err
	}
	currencies := make([]string, 0, len(p.MonthlyPrices))
	for c := range p.MonthlyPrices {
		currencies = append(currencies, c)
	}
	sort.Strings(currencies)
	for _, c := range currencies {
		if _, err := h.Store.Exec(ctx, tx.ID(), insertPrice, id, c, p.MonthlyPrices[c]); err != nil {
			return 0, err
		}
	}
	// The admin's change is in the audit log with the package as saved;
	// the host stamps who made it.
	action, verb := "package.updated", "updated"
	if create {
		action, verb = "package.created", "created"
	}
	p.ID = id
	data, _ := json.Marshal(viewPackage(p))
	if _, err := h.Audit.Write(ctx, tx.ID(), hostapi.AuditEntry{
		Action: action, Subject: fmt.Sprintf("package:%d", id), Message: fmt.Sprintf("package %q %s", p.Name, verb), Data: data,
	}); err != nil {
		return 0, err
	}
	return id, tx.Commit(ctx)
}
