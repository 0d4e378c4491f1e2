package paymenter

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// typeUser is the morph type of user properties (custom fields).
const typeUser = `App\Models\User`

// ExclusiveTaxRate is the percentage Paymenter adds to a user's recurring
// price: the tax_rates row of the user's country property, else the "all"
// row, when tax_enabled is on and tax_type is exclusive; zero otherwise
// (inclusive prices already contain the tax).
func (b *Binding) ExclusiveTaxRate(ctx context.Context, userID uint64) (decimal.Decimal, error) {
	s, err := b.cachedSettings(ctx)
	if err != nil {
		return decimal.Zero, err
	}
	if !s.taxEnabled || !strings.EqualFold(s.taxType, "exclusive") {
		return decimal.Zero, nil
	}
	var rate string
	err = b.stmts.taxRate.QueryRowContext(ctx, typeUser, userID).Scan(&rate)
	if errors.Is(err, sql.ErrNoRows) {
		return decimal.Zero, nil
	}
	if err != nil {
		return decimal.Zero, mapDBError(fmt.Errorf("paymenter: read tax rate: %w", err))
	}
	d, err := decimal.NewFromString(rate)
	if err != nil {
		return decimal.Zero, fmt.Errorf("paymenter: tax rate %q: %w", rate, err)
	}
	return d, nil
}
