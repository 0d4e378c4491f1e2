package intake

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

// StatusReader is what the poller needs of the panel binding.
type StatusReader interface {
	InvoiceStatuses(ctx context.Context, ids []uint64) (map[uint64]hostapi.InvoiceStatus, error)
}

// Poller finds paid upsell invoices when no bridge is installed (or a
// webhook was lost).
type Poller struct {
	Inbox  *Inbox
	Panel  StatusReader
	Logger *slog.Logger
	// Window bounds how old an unpaid invoice is still watched.
	Window time.Duration
	// Batch bounds one round.
	Batch int
}

// openInvoices lists upsell's invoices not yet seen paid: the poller's cost
// grows with open orders, never with the panel's invoice table.
const openInvoices = `SELECT pi.invoice_id FROM upsell_panel_invoices pi
LEFT JOIN upsell_inbox ib ON ib.panel = pi.panel AND ib.invoice_id = pi.invoice_id AND ib.kind = 'invoice.paid'
WHERE pi.panel = ? AND ib.id IS NULL AND pi.created_at > ?
ORDER BY pi.id LIMIT ?`

// Poll runs one round and returns how many paid invoices it recorded.
func (p *Poller) Poll(ctx context.Context) (int, error) {
	window, batch := p.Window, p.Batch
	if window == 0 {
		window = 60 * 24 * time.Hour
	}
	if batch == 0 {
		batch = 500
	}
	var ids []uint64
	if err := p.Inbox.DB.SelectContext(ctx, &ids, openInvoices, p.Inbox.Panel, p.Inbox.now().Add(-window), batch); err != nil {
		return 0, fmt.Errorf("list open invoices: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	statuses, err := p.Panel.InvoiceStatuses(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("read invoice statuses: %w", err)
	}
	n := 0
	for _, id := range ids {
		if statuses[id] != hostapi.InvoicePaid {
			continue
		}
		if _, err := p.Inbox.RecordPaid(ctx, id, FromPoller); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Run polls every interval until ctx ends.
func (p *Poller) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.Logger.Warn("poll paid invoices", "error", err)
		} else if n > 0 {
			p.Logger.Info("paid invoices found by the poller", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
