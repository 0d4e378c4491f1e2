package paymenter

import (
	"context"
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
