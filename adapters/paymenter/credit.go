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

// SetServiceProperties inserts or replaces, by key, properties of a service.
// Paymenter merges a service's properties over its product's settings when
// it calls the server extension (reference/paymenter.md, "Passing to server
// extensions"), so a property written here is what Paymenter's own upgrade
// or re-provisioning will set on the server, instead of the product's
// original value.
func (b *Binding) SetServiceProperties(ctx context.Context, tx *sqlx.Tx, serviceID uint64, props []hostapi.ServiceProperty) error {
	if serviceID == 0 {
		return hostapi.Invalid("service_id", "is required")
	}
	if err := validateProperties(props); err != nil {
		return err
	}
	_, err := inTx(ctx, b.db, tx, func(tx *sqlx.Tx) (struct{}, error) {
		var exists uint64
		if err := tx.GetContext(ctx, &exists, "SELECT `id` FROM `services` WHERE `id` = ? FOR UPDATE", serviceID); err != nil {
			if isNoRows(err) {
				return struct{}{}, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: service %d not found", serviceID)
			}
			return struct{}{}, mapDBError(fmt.Errorf("paymenter: lock service %d: %w", serviceID, err))
		}
		settings, err := b.readSettings(ctx, tx)
		if err != nil {
			return struct{}{}, err
		}
		stamp := wallClock(b.clock(), settings.location)
		for _, p := range props {
			// properties is unique on (key, model_id, model_type).
			if _, err := tx.ExecContext(ctx, "INSERT INTO `properties` (`name`, `key`, `value`, `model_type`, `model_id`, `created_at`, `updated_at`)"+
				" VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE `value` = VALUES(`value`), `updated_at` = VALUES(`updated_at`)",
				p.Name, p.Key, p.Value, TypeService, serviceID, stamp, stamp); err != nil {
				return struct{}{}, mapDBError(fmt.Errorf("paymenter: set property %q of service %d: %w", p.Key, serviceID, err))
			}
		}
		return struct{}{}, nil
	})
	return err
}

// validateProperties checks keys and names against the columns' widths and
// refuses a key given twice.
func validateProperties(props []hostapi.ServiceProperty) error {
	seen := map[string]bool{}
	for i, p := range props {
		field := fmt.Sprintf("properties[%d].key", i)
		switch {
		case strings.TrimSpace(p.Key) == "" || utf8.RuneCountInString(p.Key) > maxVarchar:
			return hostapi.Invalid(field, "must be 1 to %d characters", maxVarchar)
		case seen[p.Key]:
			return hostapi.Invalid(field, "%q is given twice", p.Key)
		case utf8.RuneCountInString(p.Name) > maxVarchar:
			return hostapi.Invalid(fmt.Sprintf("properties[%d].name", i), "longer than %d characters", maxVarchar)
		}
		seen[p.Key] = true
	}
	return nil
}

// AddCredit adds g.Amount to the user's credit in g.Currency, as
// Paymenter's downgrade does (reference/paymenter.md, "Outcome": |total| is
// added to credits in the service currency). Paymenter keeps one credits row
// per user and currency without a unique key, so the row is read with a
// locking read and updated, or inserted when there is none; the user's row
// is locked first so that two grants cannot both insert.
func (b *Binding) AddCredit(ctx context.Context, tx *sqlx.Tx, g hostapi.CreditGrant) (hostapi.CreditBalance, error) {
	currency := strings.ToUpper(strings.TrimSpace(g.Currency))
	switch {
	case g.UserID == 0:
		return hostapi.CreditBalance{}, hostapi.Invalid("user_id", "is required")
	case len(currency) != 3:
		return hostapi.CreditBalance{}, hostapi.Invalid("currency", "%q is not a 3-letter currency code", g.Currency)
	case !g.Amount.IsPositive():
		return hostapi.CreditBalance{}, hostapi.Invalid("amount", "must be positive, not %s", g.Amount.String())
	}
	if err := checkMoney("amount", g.Amount); err != nil {
		return hostapi.CreditBalance{}, err
	}
	return inTx(ctx, b.db, tx, func(tx *sqlx.Tx) (hostapi.CreditBalance, error) {
		var user uint64
		if err := tx.GetContext(ctx, &user, "SELECT `id` FROM `users` WHERE `id` = ? FOR UPDATE", g.UserID); err != nil {
			if isNoRows(err) {
				return hostapi.CreditBalance{}, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: user %d not found", g.UserID)
			}
			return hostapi.CreditBalance{}, mapDBError(fmt.Errorf("paymenter: lock user %d: %w", g.UserID, err))
		}
		settings, err := b.readSettings(ctx, tx)
		if err != nil {
			return hostapi.CreditBalance{}, err
		}
		stamp := wallClock(b.clock(), settings.location)
		var row struct {
			ID     uint64          `db:"id"`
			Amount decimal.Decimal `db:"amount"`
		}
		err = tx.GetContext(ctx, &row, "SELECT `id`, `amount` FROM `credits` WHERE `user_id` = ? AND `currency_code` = ? ORDER BY `id` LIMIT 1 FOR UPDATE", g.UserID, currency)
		switch {
		case isNoRows(err):
			if _, err := tx.ExecContext(ctx, "INSERT INTO `credits` (`user_id`, `currency_code`, `amount`, `created_at`, `updated_at`) VALUES (?, ?, ?, ?, ?)",
				g.UserID, currency, g.Amount.StringFixed(2), stamp, stamp); err != nil {
				return hostapi.CreditBalance{}, mapDBError(fmt.Errorf("paymenter: insert credit of user %d: %w", g.UserID, err))
			}
			return hostapi.CreditBalance{UserID: g.UserID, Currency: currency, Balance: g.Amount}, nil
		case err != nil:
			return hostapi.CreditBalance{}, mapDBError(fmt.Errorf("paymenter: read credit of user %d: %w", g.UserID, err))
		}
		balance := row.Amount.Add(g.Amount)
		if err := checkMoney("balance", balance); err != nil {
			return hostapi.CreditBalance{}, err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE `credits` SET `amount` = ?, `updated_at` = ? WHERE `id` = ?", balance.StringFixed(2), stamp, row.ID); err != nil {
			return hostapi.CreditBalance{}, mapDBError(fmt.Errorf("paymenter: update credit of user %d: %w", g.UserID, err))
		}
		return hostapi.CreditBalance{UserID: g.UserID, Currency: currency, Balance: balance}, nil
	})
}

// couponRow is a coupons row.
type couponRow struct {
	ID             uint64              `db:"id"`
	Code           string              `db:"code"`
	Type           string              `db:"type"`
	AppliesTo      string              `db:"applies_to"`
	Value          decimal.NullDecimal `db:"value"`
	Recurring      sql.NullInt64       `db:"recurring"`
	MaxUses        sql.NullInt64       `db:"max_uses"`
	MaxUsesPerUser sql.NullInt64       `db:"max_uses_per_user"`
	StartsAt       naiveTime           `db:"starts_at"`
	ExpiresAt      naiveTime           `db:"expires_at"`
}

// Coupon reads a coupon by code, as Paymenter's checkout does (the code is
// unique only in its admin form: the first row wins), with its products and
// its uses: the services holding it, in total and the user's. In tx the
// coupon row is read FOR UPDATE, so checkouts using it run one at a time
// and each counts the uses of the one before. Times are the naive wall
// clocks Paymenter stores (panel timezone), returned with UTC as location.
func (b *Binding) Coupon(ctx context.Context, tx *sqlx.Tx, code string, userID uint64) (hostapi.Coupon, error) {
	code = strings.TrimSpace(code)
	if code == "" || utf8.RuneCountInString(code) > maxVarchar {
		return hostapi.Coupon{}, hostapi.Invalid("coupon", "a coupon code of 1 to %d characters is required", maxVarchar)
	}
	var q sqlx.QueryerContext = b.db
	lock := ""
	if tx != nil {
		q, lock = tx, " FOR UPDATE"
	}
	var row couponRow
	err := sqlx.GetContext(ctx, q, &row, "SELECT `id`, `code`, `type`, `applies_to`, `value`, `recurring`, `max_uses`, `max_uses_per_user`, `starts_at`, `expires_at`"+
		" FROM `coupons` WHERE `code` = ? ORDER BY `id` LIMIT 1"+lock, code)
	if isNoRows(err) {
		return hostapi.Coupon{}, hostapi.Errorf(hostapi.CodeNotFound, "no coupon %q", code)
	}
	if err != nil {
		return hostapi.Coupon{}, mapDBError(fmt.Errorf("paymenter: read coupon: %w", err))
	}
	c := hostapi.Coupon{ID: row.ID, Code: row.Code, Type: row.Type, AppliesTo: row.AppliesTo, Value: row.Value.Decimal}
	optional := func(n sql.NullInt64) *int {
		if !n.Valid {
			return nil
		}
		v := int(n.Int64)
		return &v
	}
	c.Recurring, c.MaxUses, c.MaxUsesPerUser = optional(row.Recurring), optional(row.MaxUses), optional(row.MaxUsesPerUser)
	if row.StartsAt.valid {
		c.StartsAt = row.StartsAt.wall
	}
	if row.ExpiresAt.valid {
		c.ExpiresAt = row.ExpiresAt.wall
	}
	if err := sqlx.SelectContext(ctx, q, &c.ProductIDs, "SELECT `product_id` FROM `coupon_products` WHERE `coupon_id` = ? ORDER BY `product_id`", row.ID); err != nil {
		return hostapi.Coupon{}, mapDBError(fmt.Errorf("paymenter: read coupon products: %w", err))
	}
	var uses struct {
		Total  int `db:"total"`
		ByUser int `db:"by_user"`
	}
	if err := sqlx.GetContext(ctx, q, &uses, "SELECT COUNT(*) AS `total`, COALESCE(SUM(`user_id` = ?), 0) AS `by_user` FROM `services` WHERE `coupon_id` = ?", userID, row.ID); err != nil {
		return hostapi.Coupon{}, mapDBError(fmt.Errorf("paymenter: count coupon uses: %w", err))
	}
	c.UsesTotal, c.UsesByUser = uses.Total, uses.ByUser
	return c, nil
}
