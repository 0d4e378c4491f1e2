package intake

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

// StatusReader is what the poller needs of the panel binding.
type StatusReader interface {
	InvoiceStatuses(ctx context.Context, ids []uint64) (map[uint64]hostapi.InvoiceStatus, error)
}

// Poller finds paid upsell invoices when no bridge is installed (or a
// webhook was lost). Rounds walk the open invoices in id order, Batch at a
// time, and start over from the oldest once a round reaches the end. Poll is
// meant for one goroutine at a time (Run); concurrent calls are serialised.
type Poller struct {
	Inbox  *Inbox
	Panel  StatusReader
	Logger *slog.Logger
	// Window bounds how old an unpaid invoice is still watched.
	Window time.Duration
	// Batch bounds one round.
	Batch int

	mu sync.Mutex
	// afterID is the upsell_panel_invoices.id the next round starts after.
	// Open invoices that are never paid (cancelled, abandoned) stay in the
	// set for the whole window; without this cursor a round would re-read
	// the same oldest Batch of them forever and never reach newer ones.
	afterID uint64
}

// openInvoices lists upsell's invoices not yet seen paid, after a cursor: the
// poller's cost grows with open orders, never with the panel's invoice table,
// and the primary key serves the range.
const openInvoices = `SELECT pi.id, pi.invoice_id FROM upsell_panel_invoices pi
LEFT JOIN upsell_inbox ib ON ib.panel = pi.panel AND ib.invoice_id = pi.invoice_id AND ib.kind = 'invoice.paid'
WHERE pi.panel = ? AND ib.id IS NULL AND pi.created_at > ? AND pi.id > ?
ORDER BY pi.id LIMIT ?`

type openInvoice struct {
	RowID     uint64 `db:"id"`
	InvoiceID uint64 `db:"invoice_id"`
}

// Poll runs one round and returns how many paid invoices it recorded. A
// round that fails is repeated from the same place by the next call.
func (p *Poller) Poll(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	window, batch := p.Window, p.Batch
	if window == 0 {
		window = 60 * 24 * time.Hour
	}
	if batch == 0 {
		batch = 500
	}
	var open []openInvoice
	if err := p.Inbox.DB.SelectContext(ctx, &open, openInvoices, p.Inbox.Panel, p.Inbox.now().Add(-window), p.afterID, batch); err != nil {
		return 0, fmt.Errorf("list open invoices: %w", err)
	}
	n, err := p.record(ctx, open)
	if err != nil {
		return n, err
	}
	if len(open) < batch {
		p.afterID = 0 // reached the newest: the next round starts over
	} else {
		p.afterID = open[len(open)-1].RowID
	}
	return n, nil
}

// record asks the panel about open and records the paid ones.
func (p *Poller) record(ctx context.Context, open []openInvoice) (int, error) {
	if len(open) == 0 {
		return 0, nil
	}
	ids := make([]uint64, len(open))
	for i, o := range open {
		ids[i] = o.InvoiceID
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
		res, err := p.Inbox.recordPaid(ctx, id, FromPoller, true)
		if err != nil {
			return n, err
		}
		if res.Owned {
			n++
		}
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
