package host

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

// The host records what upsell writes to a service, whichever module wrote
// it, in upsell_service_writes. Each module remembers only its own changes;
// without a shared record, one module's reconcile would take another
// module's change (a configurable-option downgrade lowering the price and
// the RAM) for the panel undoing its add-ons, and put them back on top: a
// double charge, or resources the client gave up.

const (
	priceSubject = "price"

	upsertPriceWrite = `INSERT INTO upsell_service_writes (service_id, subject, price, limit_value, module, written_at) VALUES (?, 'price', ?, NULL, ?, ?)
ON DUPLICATE KEY UPDATE price = VALUES(price), module = VALUES(module), written_at = VALUES(written_at)`
	upsertLimitWrite = `INSERT INTO upsell_service_writes (service_id, subject, price, limit_value, module, written_at) VALUES (?, ?, NULL, ?, ?, ?)
ON DUPLICATE KEY UPDATE limit_value = VALUES(limit_value), module = VALUES(module), written_at = VALUES(written_at)`
	selectWrites = `SELECT subject, price, limit_value, module, written_at FROM upsell_service_writes WHERE service_id = ?`
)

// recordPriceWrite records, inside the transaction that set it, the price
// a plugin set on a service.
func recordPriceWrite(ctx context.Context, tx *sqlx.Tx, serviceID uint64, price decimal.Decimal, plugin string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, upsertPriceWrite, serviceID, price.StringFixed(2), plugin, now.UTC()); err != nil {
		return sqlError("record the price written", err)
	}
	return nil
}

// recordLimitWrites records the limits a plugin's target set on a service's
// server, as the adapter read them back (the target's value when the
// adapter does not report a resource).
func recordLimitWrites(ctx context.Context, db *sqlx.DB, serviceID uint64, target hostapi.Target, after hostapi.Limits, plugin string, now time.Time) error {
	resources := make([]string, 0, len(target))
	for r := range target {
		resources = append(resources, string(r))
	}
	// One order for every writer, so two records of one service cannot
	// deadlock on the primary key.
	sort.Strings(resources)
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return sqlError("record the limits written", err)
	}
	defer tx.Rollback()
	for _, r := range resources {
		v, ok := after[hostapi.Resource(r)]
		if !ok {
			v = target[hostapi.Resource(r)]
		}
		if _, err := tx.ExecContext(ctx, upsertLimitWrite, serviceID, r, v, plugin, now.UTC()); err != nil {
			return sqlError("record the limits written", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return sqlError("record the limits written", err)
	}
	return nil
}

// ServiceWrites reads what upsell last wrote to a service.
func (p *panel) ServiceWrites(ctx context.Context, serviceID uint64) (hostapi.ServiceWrites, error) {
	if err := p.s.deps.Ops.check(ctx, "Panel.ServiceWrites"); err != nil {
		return hostapi.ServiceWrites{}, err
	}
	var rows []struct {
		Subject string              `db:"subject"`
		Price   decimal.NullDecimal `db:"price"`
		Limit   sql.NullInt64       `db:"limit_value"`
		Module  string              `db:"module"`
		At      time.Time           `db:"written_at"`
	}
	if err := p.s.deps.DB.SelectContext(ctx, &rows, selectWrites, serviceID); err != nil {
		return hostapi.ServiceWrites{}, sqlError("read the writes of a service", err)
	}
	w := hostapi.ServiceWrites{ServiceID: serviceID}
	for _, r := range rows {
		switch {
		case r.Subject == priceSubject && r.Price.Valid:
			w.Price = &hostapi.PriceWrite{Value: r.Price.Decimal, Module: r.Module, At: r.At.UTC()}
		case r.Limit.Valid:
			if w.Limits == nil {
				w.Limits = map[hostapi.Resource]hostapi.LimitWrite{}
			}
			w.Limits[hostapi.Resource(r.Subject)] = hostapi.LimitWrite{Value: r.Limit.Int64, Module: r.Module, At: r.At.UTC()}
		default:
			return hostapi.ServiceWrites{}, hostapi.Errorf(hostapi.CodeInternal, "service %d: write %q holds no value", serviceID, r.Subject)
		}
	}
	return w, nil
}
