package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultRevocationRefresh is how often a replica reads the revocations
// again: the longest a revocation made elsewhere (the CLI, another replica)
// takes to reach this replica.
const DefaultRevocationRefresh = 5 * time.Second

// RevokeUserLinks refuses, from now on and on every replica, every link of
// userID issued at or before at (whole seconds: a link issued in the same
// second is refused too). A revocation never moves back: an older at than
// the one stored changes nothing. It returns the revocation time in force.
func RevokeUserLinks(ctx context.Context, db *sql.DB, userID uint64, at time.Time) (time.Time, error) {
	if userID == 0 {
		return time.Time{}, errors.New("revoke links: no user id")
	}
	at = at.UTC().Truncate(time.Second)
	if _, err := db.ExecContext(ctx, `INSERT INTO upsell_link_revocations (user_id, revoked_at) VALUES (?, ?)
		ON DUPLICATE KEY UPDATE revoked_at = GREATEST(revoked_at, VALUES(revoked_at))`, userID, at); err != nil {
		return time.Time{}, fmt.Errorf("revoke links of user %d: %w", userID, err)
	}
	var inForce time.Time
	if err := db.QueryRowContext(ctx, "SELECT revoked_at FROM upsell_link_revocations WHERE user_id = ?", userID).Scan(&inForce); err != nil {
		return time.Time{}, fmt.Errorf("read back revocation of user %d: %w", userID, err)
	}
	return inForce.UTC(), nil
}

// Revocations is a replica's copy of upsell_link_revocations, so that
// checking a link costs a map lookup, not a query. The copy is read again
// when it is older than Refresh, by the first request that finds it so
// (the others wait for that one read): a revocation reaches every replica
// within Refresh. Only the rows that can still refuse a live link are read:
// those newer than now - MaxTTL - MaxClockSkew.
type Revocations struct {
	DB      *sql.DB
	MaxTTL  time.Duration    // security.link_ttl: the longest a link lives
	Refresh time.Duration    // default DefaultRevocationRefresh
	Now     func() time.Time // default time.Now

	mu   sync.Mutex // one read at a time
	view atomic.Pointer[revocationView]
}

type revocationView struct {
	read   time.Time
	before map[uint64]int64 // user -> last revoked second
}

// Check refuses (ErrBadLink) a link its user's revocation covers. Any
// other error means the revocations could not be read: the caller answers
// 503, and never lets the link through.
func (r *Revocations) Check(ctx context.Context, l Link) error {
	v, err := r.current(ctx)
	if err != nil {
		return err
	}
	if at, ok := v.before[l.UserID]; ok && l.Issued.Unix() <= at {
		return ErrBadLink
	}
	return nil
}

// Invalidate makes the next Check read the table again: a replica that
// revokes a link itself enforces it at once.
func (r *Revocations) Invalidate() { r.view.Store(nil) }

func (r *Revocations) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Revocations) refresh() time.Duration {
	if r.Refresh > 0 {
		return r.Refresh
	}
	return DefaultRevocationRefresh
}

func (r *Revocations) fresh(v *revocationView, now time.Time) bool {
	return v != nil && now.Sub(v.read) < r.refresh() && !now.Before(v.read)
}

// current returns a view at most Refresh old, reading one if needed.
func (r *Revocations) current(ctx context.Context) (*revocationView, error) {
	now := r.now()
	if v := r.view.Load(); r.fresh(v, now) {
		return v, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now = r.now()
	if v := r.view.Load(); r.fresh(v, now) {
		return v, nil // another request read it meanwhile
	}
	if r.MaxTTL <= 0 {
		return nil, errors.New("link revocations: no maximum link lifetime")
	}
	cutoff := now.Add(-r.MaxTTL - MaxClockSkew).UTC()
	rows, err := r.DB.QueryContext(ctx, "SELECT user_id, revoked_at FROM upsell_link_revocations WHERE revoked_at >= ?", cutoff)
	if err != nil {
		return nil, fmt.Errorf("read link revocations: %w", err)
	}
	defer rows.Close()
	v := &revocationView{read: now, before: map[uint64]int64{}}
	for rows.Next() {
		var user uint64
		var at time.Time
		if err := rows.Scan(&user, &at); err != nil {
			return nil, fmt.Errorf("read link revocations: %w", err)
		}
		v.before[user] = at.Unix()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read link revocations: %w", err)
	}
	r.view.Store(v)
	return v, nil
}
