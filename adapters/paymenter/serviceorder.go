package paymenter

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

// typeProduct is the priceable_type of a product's plans.
const typeProduct = `App\Models\Product`

// ProductPlan reads a product's plan with its price in currency. A plan of
// another model (a config option's), an unknown plan, and a recurring plan
// with no price row in currency (Paymenter: "not available") are refused.
func (b *Binding) ProductPlan(ctx context.Context, planID uint64, currency string) (hostapi.ProductPlan, error) {
	var r struct {
		ID        uint64              `db:"id"`
		ProductID uint64              `db:"priceable_id"`
		Type      string              `db:"type"`
		Period    sql.Null[int64]     `db:"billing_period"`
		Unit      sql.NullString      `db:"billing_unit"`
		Price     decimal.NullDecimal `db:"price"`
		SetupFee  decimal.NullDecimal `db:"setup_fee"`
		HasPrice  bool                `db:"has_price"`
	}
	err := b.db.GetContext(ctx, &r, "SELECT pl.`id`, pl.`priceable_id`, pl.`type`, pl.`billing_period`, pl.`billing_unit`,"+
		" pr.`price`, pr.`setup_fee`, pr.`id` IS NOT NULL AS has_price"+
		" FROM `plans` pl LEFT JOIN `prices` pr ON pr.`plan_id` = pl.`id` AND pr.`currency_code` = ?"+
		" WHERE pl.`id` = ? AND pl.`priceable_type` = ? ORDER BY pr.`id` LIMIT 1", currency, planID, typeProduct)
	if isNoRows(err) {
		return hostapi.ProductPlan{}, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: no product plan %d", planID)
	}
	if err != nil {
		return hostapi.ProductPlan{}, mapDBError(fmt.Errorf("paymenter: read plan %d: %w", planID, err))
	}
	p := hostapi.ProductPlan{
		ID: r.ID, ProductID: r.ProductID, Currency: currency,
		Cycle: hostapi.Cycle{Type: hostapi.PlanType(r.Type), Period: int(r.Period.V), Unit: hostapi.BillingUnit(r.Unit.String)},
	}
	if !r.HasPrice && p.Cycle.Type != hostapi.PlanFree {
		return hostapi.ProductPlan{}, hostapi.Errorf(hostapi.CodePrecondition, "paymenter: plan %d has no price in %s", planID, currency)
	}
	if r.Price.Valid {
		p.Price = r.Price.Decimal
	}
	if r.SetupFee.Valid {
		p.SetupFee = r.SetupFee.Decimal
	}
	return p, nil
}

// CreateServiceOrder writes, in tx, what Paymenter's own checkout writes
// for one cart item: an orders row, a pending service renewing at o.Price
// with expires_at unset, the service's properties (which Paymenter hands
// its server extension, merged over the product's settings), and a first
// invoice whose one item references the service. Paying that invoice makes
// Paymenter itself activate the service, set its expiry and run the
// server extension's create: the one case where an item referencing
// App\Models\Service is what we want.
//
// Service configs (service_configs) are not written: the resources travel
// as properties, and upsell keeps the priced selections in its own tables.
func (b *Binding) CreateServiceOrder(ctx context.Context, tx *sqlx.Tx, o hostapi.NewServiceOrder) (hostapi.ServiceOrder, error) {
	if tx == nil {
		return hostapi.ServiceOrder{}, hostapi.Errorf(hostapi.CodeInternal, "paymenter: CreateServiceOrder needs a transaction")
	}
	if err := b.validateServiceOrder(o); err != nil {
		return hostapi.ServiceOrder{}, err
	}
	var productOf uint64
	err := tx.GetContext(ctx, &productOf, "SELECT `priceable_id` FROM `plans` WHERE `id` = ? AND `priceable_type` = ?", o.PlanID, typeProduct)
	switch {
	case isNoRows(err):
		return hostapi.ServiceOrder{}, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: no product plan %d", o.PlanID)
	case err != nil:
		return hostapi.ServiceOrder{}, mapDBError(fmt.Errorf("paymenter: read plan %d: %w", o.PlanID, err))
	case productOf != o.ProductID:
		return hostapi.ServiceOrder{}, hostapi.Invalid("plan_id", "plan %d is not a plan of product %d", o.PlanID, o.ProductID)
	}
	settings, err := b.readSettings(ctx, tx)
	if err != nil {
		return hostapi.ServiceOrder{}, err
	}
	stamp := b.clock().In(settings.location).Format(naiveLayout)

	res, err := tx.ExecContext(ctx, "INSERT INTO `orders` (`user_id`, `currency_code`, `created_at`, `updated_at`) VALUES (?, ?, ?, ?)",
		o.UserID, o.Currency, stamp, stamp)
	if err != nil {
		return hostapi.ServiceOrder{}, mapDBError(fmt.Errorf("paymenter: insert order: %w", err))
	}
	orderID, err := lastInsertID(res)
	if err != nil {
		return hostapi.ServiceOrder{}, fmt.Errorf("paymenter: insert order: %w", err)
	}
	res, err = tx.ExecContext(ctx, "INSERT INTO `services` (`status`, `order_id`, `product_id`, `user_id`, `currency_code`, `quantity`, `price`,"+
		" `plan_id`, `coupon_id`, `expires_at`, `created_at`, `updated_at`) VALUES ('pending', ?, ?, ?, ?, 1, ?, ?, ?, NULL, ?, ?)",
		orderID, o.ProductID, o.UserID, o.Currency, o.Price.StringFixed(2), o.PlanID, nullableID(o.CouponID), stamp, stamp)
	if err != nil {
		return hostapi.ServiceOrder{}, mapDBError(fmt.Errorf("paymenter: insert service: %w", err))
	}
	serviceID, err := lastInsertID(res)
	if err != nil {
		return hostapi.ServiceOrder{}, fmt.Errorf("paymenter: insert service: %w", err)
	}
	for _, p := range o.Properties {
		if _, err := tx.ExecContext(ctx, "INSERT INTO `properties` (`name`, `key`, `value`, `model_type`, `model_id`, `created_at`, `updated_at`)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?)", p.Name, p.Key, p.Value, TypeService, serviceID, stamp, stamp); err != nil {
			return hostapi.ServiceOrder{}, mapDBError(fmt.Errorf("paymenter: insert property %q of service %d: %w", p.Key, serviceID, err))
		}
	}
	inv, err := b.createInvoiceSQL(ctx, tx, invoiceDraft{
		userID: o.UserID, currency: o.Currency, dueAt: o.DueAt,
		items: []hostapi.InvoiceItem{{Description: o.Description, Price: o.FirstAmount, Quantity: 1, ReferenceType: TypeService, ReferenceID: serviceID}},
	})
	if err != nil {
		return hostapi.ServiceOrder{}, err
	}
	return hostapi.ServiceOrder{OrderID: orderID, ServiceID: serviceID, Invoice: inv}, nil
}

// validateServiceOrder checks everything that needs no database.
func (b *Binding) validateServiceOrder(o hostapi.NewServiceOrder) error {
	switch {
	case o.UserID == 0:
		return hostapi.Invalid("user_id", "is required")
	case o.ProductID == 0:
		return hostapi.Invalid("product_id", "is required")
	case o.PlanID == 0:
		return hostapi.Invalid("plan_id", "is required")
	case len(strings.TrimSpace(o.Currency)) != 3:
		return hostapi.Invalid("currency", "%q is not a 3-letter currency code", o.Currency)
	case strings.TrimSpace(o.Description) == "" || utf8.RuneCountInString(o.Description) > maxVarchar:
		return hostapi.Invalid("description", "must be 1 to %d characters", maxVarchar)
	}
	if err := checkMoney("price", o.Price); err != nil {
		return err
	}
	if err := checkMoney("first_amount", o.FirstAmount); err != nil {
		return err
	}
	return validateProperties(o.Properties)
}
