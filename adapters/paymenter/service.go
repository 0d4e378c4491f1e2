package paymenter

import (
	"context"
	"fmt"

	"github.com/upsell-io/upsell/hostapi"
)

// Service returns a service with its product name, plan cycle and recurring
// price. ExpiresAt and CreatedAt are the stored wall clocks in the panel's
// timezone. Note that Paymenter's model casts expires_at to a date (it reads
// it back as midnight); the value here is the column as stored, so a caller
// counting days should take its date.
func (b *Binding) Service(ctx context.Context, id uint64) (hostapi.Service, error) {
	// The timezone comes from the cached settings, not a subquery: the
	// service read is on every client request, and a panel's timezone
	// changes about never.
	settings, err := b.cachedSettings(ctx)
	if err != nil {
		return hostapi.Service{}, err
	}
	var r serviceRow
	if err := b.stmts.service.GetContext(ctx, &r, id); err != nil {
		if isNoRows(err) {
			return hostapi.Service{}, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: service %d not found", id)
		}
		return hostapi.Service{}, mapDBError(fmt.Errorf("paymenter: read service %d: %w", id, err))
	}
	loc := settings.location
	return hostapi.Service{
		ID:          r.ID,
		UserID:      r.UserID,
		ProductID:   r.ProductID.V,
		ProductName: r.ProductName.String,
		PlanID:      r.PlanID.V,
		Status:      hostapi.ServiceStatus(r.Status),
		Currency:    r.CurrencyCode,
		Quantity:    r.Quantity,
		Price:       r.Price,
		Cycle: hostapi.Cycle{
			Type:   hostapi.PlanType(r.PlanType.String),
			Period: int(r.BillingPeriod.V),
			Unit:   hostapi.BillingUnit(r.BillingUnit.String),
		},
		ExpiresAt: r.ExpiresAt.In(loc),
		Label:     serviceLabel(r),
		CreatedAt: r.CreatedAt.In(loc),
	}, nil
}

// serviceLabel is the label Paymenter shows: the stored one, else
// "<product name> #<id>".
func serviceLabel(r serviceRow) string {
	if r.Label.Valid && r.Label.String != "" {
		return r.Label.String
	}
	return fmt.Sprintf("%s #%d", r.ProductName.String, r.ID)
}

// User returns a panel customer.
func (b *Binding) User(ctx context.Context, id uint64) (hostapi.User, error) {
	var r userRow
	if err := b.stmts.user.GetContext(ctx, &r, id); err != nil {
		if isNoRows(err) {
			return hostapi.User{}, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: user %d not found", id)
		}
		return hostapi.User{}, mapDBError(fmt.Errorf("paymenter: read user %d: %w", id, err))
	}
	return hostapi.User{
		ID:        r.ID,
		Email:     r.Email,
		FirstName: r.FirstName.String,
		LastName:  r.LastName.String,
	}, nil
}
