package microupsell

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
)

// Order is one purchase of one add-on, with the prices and cycle it locked.
type Order struct {
	ID                uint64
	ServiceID         uint64
	UserID            uint64
	PackageID         uint64
	PackageName       string
	Resource          hostapi.Resource
	Amount            int64
	Currency          string
	MonthlyPrice      decimal.Decimal
	DueToday          decimal.Decimal
	RecurringIncrease decimal.Decimal
	InvoiceID         uint64
	InvoiceNumber     string
	State             string
	Reason            string
	Attempts          int
	Target            hostapi.Target
	LimitsBefore      hostapi.Limits
	LimitsAfter       hostapi.Limits
	PriceBefore       *decimal.Decimal
	PriceAfter        *decimal.Decimal
	CreatedAt         time.Time
	History           []eventView
}

const orderColumns = `id, service_id, user_id, package_id, package_name, resource, amount, currency, monthly_price, due_today,
recurring_increase, invoice_id, invoice_number, state, reason, attempts, target, limits_before, limits_after, price_before, price_after, created_at`

const (
	selectOrder          = `SELECT ` + orderColumns + ` FROM ext_micro_upsell_order_addons WHERE id = ?`
	selectOrderByInvoice = `SELECT ` + orderColumns + ` FROM ext_micro_upsell_order_addons WHERE invoice_id = ?`
	selectEvents         = `SELECT state, message, created_at FROM ext_micro_upsell_order_events WHERE order_id = ? ORDER BY id`
)

func readOrders(rows *hostapi.Rows) ([]Order, error) {
	out := make([]Order, rows.Len())
	for i := range out {
		o := &out[i]
		var (
			resource              string
			invoiceID             *uint64
			number, reason        *string
			target, before, after *string
		)
		if err := rows.Scan(i, &o.ID, &o.ServiceID, &o.UserID, &o.PackageID, &o.PackageName, &resource, &o.Amount, &o.Currency,
			&o.MonthlyPrice, &o.DueToday, &o.RecurringIncrease, &invoiceID, &number, &o.State, &reason, &o.Attempts,
			&target, &before, &after, &o.PriceBefore, &o.PriceAfter, &o.CreatedAt); err != nil {
			return nil, hostapi.Errorf(hostapi.CodeInternal, "read order: %w", err)
		}
		o.Resource = hostapi.Resource(resource)
		if invoiceID != nil {
			o.InvoiceID = *invoiceID
		}
		if number != nil {
			o.InvoiceNumber = *number
		}
		if reason != nil {
			o.Reason = *reason
		}
		for _, pair := range []struct {
			raw *string
			dst *map[hostapi.Resource]int64
		}{{target, (*map[hostapi.Resource]int64)(&o.Target)}, {before, (*map[hostapi.Resource]int64)(&o.LimitsBefore)}, {after, (*map[hostapi.Resource]int64)(&o.LimitsAfter)}} {
			if pair.raw != nil && *pair.raw != "" {
				if err := json.Unmarshal([]byte(*pair.raw), pair.dst); err != nil {
					return nil, hostapi.Errorf(hostapi.CodeInternal, "order %d limits: %w", o.ID, err)
				}
			}
		}
	}
	return out, nil
}

func (m *Module) order(ctx context.Context, tx hostapi.TxID, id uint64) (Order, error) {
	h, _ := m.deps()
	rows, err := h.Store.Query(ctx, tx, selectOrder, id)
	if err != nil {
		return Order{}, err
	}
	os, err := readOrders(rows)
	if err != nil {
		return Order{}, err
	}
	if len(os) == 0 {
		return Order{}, hostapi.Errorf(hostapi.CodeNotFound, "no order %d", id)
	}
	return os[0], nil
}

func (m *Module) orderByInvoice(ctx context.Context, invoiceID uint64) (Order, bool, error) {
	h, _ := m.deps()
	rows, err := h.Store.Query(ctx, "", selectOrderByInvoice, invoiceID)
	if err != nil {
		return Order{}, false, err
	}
	os, err := readOrders(rows)
	if err != nil || len(os) == 0 {
		return Order{}, false, err
	}
	return os[0], true, nil
}

func (m *Module) history(ctx context.Context, id uint64) ([]eventView, error) {
	h, _ := m.deps()
	rows, err := h.Store.Query(ctx, "", selectEvents, id)
	if err != nil {
		return nil, err
	}
	out := make([]eventView, rows.Len())
	for i := range out {
		if err := rows.Scan(i, &out[i].State, &out[i].Message, &out[i].At); err != nil {
			return nil, hostapi.Errorf(hostapi.CodeInternal, "read history: %w", err)
		}
	}
	return out, nil
}

// orderFilter selects orders for the admin and client lists.
type orderFilter struct {
	ServiceID, UserID uint64
	State             string
	// From and To bound created_at: From included, To excluded; zero
	// means unbounded.
	From, To time.Time
	Limit    int
}

// orders lists orders, newest first. Each filter combination is its own
// constant statement so the host prepares it once.
func (m *Module) orders(ctx context.Context, f orderFilter) ([]Order, error) {
	h, _ := m.deps()
	var where []string
	var args []any
	if f.ServiceID != 0 {
		where, args = append(where, "service_id = ?"), append(args, f.ServiceID)
	}
	if f.UserID != 0 {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	if !f.From.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, f.From.UTC())
	}
	if !f.To.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, f.To.UTC())
	}
	q := `SELECT ` + orderColumns + ` FROM ext_micro_upsell_order_addons`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := h.Store.Query(ctx, "", q, args...)
	if err != nil {
		return nil, err
	}
	return readOrders(rows)
}

func limitsJSON(l map[hostapi.Resource]int64) json.RawMessage {
	if l == nil {
		return nil
	}
	b, _ := json.Marshal(l)
	return b
}

func viewOrder(o Order) orderView {
	v := orderView{ID: o.ID, ServiceID: o.ServiceID, UserID: o.UserID, PackageID: o.PackageID, PackageName: o.PackageName,
		Resource: string(o.Resource), Amount: o.Amount, Currency: o.Currency, DueToday: money.Format(o.DueToday),
		RecurringIncrease: money.Format(o.RecurringIncrease), State: o.State, Reason: o.Reason, InvoiceID: o.InvoiceID,
		InvoiceNumber: o.InvoiceNumber, LimitsBefore: limitsJSON(o.LimitsBefore), LimitsAfter: limitsJSON(o.LimitsAfter),
		CreatedAt: o.CreatedAt, History: o.History}
	if o.PriceBefore != nil {
		v.PriceBefore = money.Format(*o.PriceBefore)
	}
	if o.PriceAfter != nil {
		v.PriceAfter = money.Format(*o.PriceAfter)
	}
	return v
}
