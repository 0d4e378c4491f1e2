// Package intake turns "this panel invoice was paid" into exactly one piece of
// work for the module that owns the invoice, whatever the number of
// deliveries.
//
// Two sources feed it: a webhook signed by the panel-side bridge (HMAC-SHA256
// over timestamp and body, 5-minute window) and a poller that asks the panel
// about upsell's own open invoices only, so its cost grows with open orders,
// not with the panel's invoice table. Both write to upsell_inbox, unique per
// (panel, invoice, kind), and enqueue one job per owning module, unique per
// dedupe key.
//
// A delivery is only a hint; the panel's invoice is the truth. An invoice is
// recorded only once the panel says it is paid, and a job whose invoice the
// panel no longer calls paid is forgotten with its inbox row rather than
// retried to death: either way the poller, which watches invoices without an
// inbox row, and the next webhook still find it however late it is paid. Workers claim jobs with leases (SELECT ... FOR UPDATE SKIP
// LOCKED), so several replicas share the work through the database alone;
// a failed job is retried with backoff and parked as dead after its limit.
// Each claim's lease carries its own token and only the current holder may
// record an outcome; a job whose lease expires (its replica died) is taken
// over, or parked if that was its last attempt.
package intake

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
)

// Source says how an event arrived.
type Source string

// Event sources.
const (
	FromWebhook Source = "webhook"
	FromPoller  Source = "poller"
)

// Inbox records panel events and enqueues their jobs.
type Inbox struct {
	DB *sqlx.DB
	// Panel names the panel ("paymenter").
	Panel string
	// Invoices reads the panel's invoice states (the panel binding).
	Invoices StatusReader
	// MaxAttempts is how often a job is tried before it is parked.
	MaxAttempts int
	Now         func() time.Time
}

// jobPayload is what a job carries to the module.
type jobPayload struct {
	Kind      hostapi.EventKind `json:"kind"`
	Panel     string            `json:"panel"`
	InvoiceID uint64            `json:"invoice_id"`
}

const (
	upsertInbox = `INSERT INTO upsell_inbox (panel, invoice_id, kind, source, first_seen_at, last_seen_at, seen_count)
VALUES (?, ?, ?, ?, ?, ?, 1)
ON DUPLICATE KEY UPDATE last_seen_at = VALUES(last_seen_at), seen_count = seen_count + 1`
	selectInboxID   = `SELECT id FROM upsell_inbox WHERE panel = ? AND invoice_id = ? AND kind = ?`
	selectOwner     = `SELECT module FROM upsell_panel_invoices WHERE panel = ? AND invoice_id = ?`
	insertJobIgnore = `INSERT IGNORE INTO upsell_jobs (kind, module, inbox_id, dedupe_key, payload, state, attempts, max_attempts, run_after, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)`
)

// Recorded says what RecordPaid did.
type Recorded struct {
	// Owned is false for an invoice upsell has no owner row for: nothing is
	// recorded and no job is enqueued. Callers that heard about the invoice
	// from outside (the webhook) should log it: a paid invoice upsell did
	// create but lost the owner row of would otherwise never be delivered.
	Owned bool
	// Paid is false for an owned invoice the panel does not call paid (yet):
	// nothing is recorded, so the poller keeps watching it and a later
	// delivery is new.
	Paid bool
	// NewJob is true the first time; duplicates enqueue nothing.
	NewJob bool
}

// Transaction retries: concurrent INSERT ... ON DUPLICATE KEY UPDATE on the
// same unique key can deadlock in InnoDB (the server then rolls back one
// transaction) or time out waiting for a lock. Both leave nothing written, so
// the whole transaction is simply run again.
const (
	errLockWaitTimeout = 1205 // ER_LOCK_WAIT_TIMEOUT
	errLockDeadlock    = 1213 // ER_LOCK_DEADLOCK

	recordPaidAttempts = 5
)

// RecordPaid notes that invoiceID was paid, once the panel confirms it. It is
// idempotent: any number of calls, from any source and replica, produce one
// job. An invoice upsell did not create is ignored and reported as
// Recorded{Owned: false}; one the panel does not call paid is ignored and
// reported as Recorded{Owned: true, Paid: false}.
func (in *Inbox) RecordPaid(ctx context.Context, invoiceID uint64, src Source) (Recorded, error) {
	return in.recordPaid(ctx, invoiceID, src, false)
}

// recordPaid is RecordPaid; confirmed says the caller has just read the
// invoice's state from the panel (the poller, which reads a batch at once).
func (in *Inbox) recordPaid(ctx context.Context, invoiceID uint64, src Source, confirmed bool) (Recorded, error) {
	for attempt := 1; ; attempt++ {
		rec, err := in.recordPaidOnce(ctx, invoiceID, src, confirmed)
		if err == nil || attempt == recordPaidAttempts || !isLockConflict(err) {
			return rec, err
		}
		select {
		case <-ctx.Done():
			return Recorded{}, err
		case <-time.After(lockConflictBackoff(attempt)):
		}
	}
}

func (in *Inbox) recordPaidOnce(ctx context.Context, invoiceID uint64, src Source, confirmed bool) (Recorded, error) {
	now := in.now()
	var module string
	err := in.DB.GetContext(ctx, &module, selectOwner, in.Panel, invoiceID)
	if errors.Is(err, sql.ErrNoRows) {
		return Recorded{Owned: false}, nil
	}
	if err != nil {
		return Recorded{}, fmt.Errorf("find invoice owner: %w", err)
	}
	if !confirmed {
		paid, err := isPaid(ctx, in.Invoices, invoiceID)
		if err != nil {
			return Recorded{}, err
		}
		if !paid {
			return Recorded{Owned: true, Paid: false}, nil
		}
	}
	tx, err := in.DB.BeginTxx(ctx, nil)
	if err != nil {
		return Recorded{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	kind := string(hostapi.InvoicePaidEvent)
	if _, err := tx.ExecContext(ctx, upsertInbox, in.Panel, invoiceID, kind, string(src), now, now); err != nil {
		return Recorded{}, fmt.Errorf("record inbox: %w", err)
	}
	var inboxID uint64
	if err := tx.GetContext(ctx, &inboxID, selectInboxID, in.Panel, invoiceID, kind); err != nil {
		return Recorded{}, fmt.Errorf("read inbox: %w", err)
	}
	payload, _ := json.Marshal(jobPayload{Kind: hostapi.InvoicePaidEvent, Panel: in.Panel, InvoiceID: invoiceID})
	dedupe := fmt.Sprintf("%s:%s:%d:%s", kind, in.Panel, invoiceID, module)
	res, err := tx.ExecContext(ctx, insertJobIgnore, "event", module, inboxID, dedupe, string(payload), in.maxAttempts(), now, now, now)
	if err != nil {
		return Recorded{}, fmt.Errorf("enqueue job: %w", err)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return Recorded{}, fmt.Errorf("commit inbox: %w", err)
	}
	return Recorded{Owned: true, Paid: true, NewJob: n == 1}, nil
}

// isPaid asks the panel whether invoiceID is paid: the one test of "paid"
// that intake applies before it records an invoice and before it retries a
// job that failed on it. An invoice the panel does not have is not paid.
func isPaid(ctx context.Context, panel StatusReader, invoiceID uint64) (bool, error) {
	if panel == nil {
		return false, errors.New("intake: no panel to read invoice states from")
	}
	statuses, err := panel.InvoiceStatuses(ctx, []uint64{invoiceID})
	if err != nil {
		return false, fmt.Errorf("read invoice %d state: %w", invoiceID, err)
	}
	return statuses[invoiceID] == hostapi.InvoicePaid, nil
}

// isLockConflict reports whether err is an InnoDB deadlock or lock wait
// timeout, after which the transaction can be run again.
func isLockConflict(err error) bool {
	var myErr *mysql.MySQLError
	if !errors.As(err, &myErr) {
		return false
	}
	return myErr.Number == errLockDeadlock || myErr.Number == errLockWaitTimeout
}

// lockConflictBackoff is the pause before retry n (1-based): a few
// milliseconds, growing, with jitter so the transactions that collided do not
// collide again in step.
func lockConflictBackoff(attempt int) time.Duration {
	base := time.Duration(attempt) * 5 * time.Millisecond
	return base + rand.N(base)
}

func (in *Inbox) now() time.Time {
	if in.Now != nil {
		return in.Now().UTC()
	}
	return time.Now().UTC()
}

func (in *Inbox) maxAttempts() int {
	if in.MaxAttempts > 0 {
		return in.MaxAttempts
	}
	return 10
}
