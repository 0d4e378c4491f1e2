package auth

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/migrate"
	"github.com/upsell-io/upsell/internal/testdb"
)

type revocationRow struct {
	user uint64
	at   time.Time
}

func revocationRows(t *testing.T, db *sql.DB) []revocationRow {
	t.Helper()
	rows, err := db.Query("SELECT user_id, revoked_at FROM upsell_link_revocations ORDER BY user_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []revocationRow
	for rows.Next() {
		var r revocationRow
		if err := rows.Scan(&r.user, &r.at); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRevokeUserLinks: revoking user 3's links refuses the ones issued
// before (and in the same second as) the revocation, on this replica at
// once and on another within its refresh; a link issued after, and every
// other user's links, still verify; a refused revocation changes nothing.
func TestRevokeUserLinks(t *testing.T) {
	ctx := context.Background()
	tdb := testdb.New(t)
	if _, err := migrate.Host(ctx, tdb.DB.DB); err != nil {
		t.Fatal(err)
	}
	db := tdb.DB.DB
	revokedAt := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	readAt := revokedAt.Add(-time.Millisecond) // both replicas' first read
	now := readAt
	clock := func() time.Time { return now }
	const refresh = 5 * time.Second
	here := &Revocations{DB: db, MaxTTL: 24 * time.Hour, Refresh: refresh, Now: clock}
	replica := &Revocations{DB: db, MaxTTL: 24 * time.Hour, Refresh: refresh, Now: clock}

	links := []struct {
		name    string
		link    Link
		revoked bool
	}{
		{"user 3's link issued 10 minutes before", NewLink(3, 7, revokedAt.Add(-10*time.Minute), time.Hour), true},
		{"user 3's user link issued a second before", NewLink(3, 0, revokedAt.Add(-time.Second), time.Hour), true},
		{"user 3's link issued in the same second", NewLink(3, 7, revokedAt.Add(500*time.Millisecond), time.Hour), true},
		{"user 3's link issued a second after", NewLink(3, 7, revokedAt.Add(time.Second), time.Hour), false},
		{"user 4's link issued before", NewLink(4, 9, revokedAt.Add(-10*time.Minute), time.Hour), false},
	}
	check := func(t *testing.T, r *Revocations, afterRevocation bool) {
		t.Helper()
		for _, tt := range links {
			err := r.Check(ctx, tt.link)
			if want := afterRevocation && tt.revoked; (err == ErrBadLink) != want || (err != nil && err != ErrBadLink) {
				t.Errorf("%s: Check = %v, want refused %v", tt.name, err, want)
			}
		}
	}
	// Both replicas have read the (empty) table: everything verifies.
	check(t, here, false)
	check(t, replica, false)

	now = revokedAt
	got, err := RevokeUserLinks(ctx, db, 3, revokedAt.Add(300*time.Millisecond))
	if err != nil || !got.Equal(revokedAt) {
		t.Fatalf("RevokeUserLinks = %v, %v; want %v", got, err, revokedAt)
	}
	here.Invalidate() // what the admin route does on the replica serving it
	t.Run("at once on the revoking replica", func(t *testing.T) { check(t, here, true) })
	t.Run("not yet on another replica within its refresh", func(t *testing.T) {
		now = readAt.Add(refresh - time.Nanosecond)
		check(t, replica, false)
	})
	t.Run("on another replica after its refresh", func(t *testing.T) {
		now = readAt.Add(refresh)
		check(t, replica, true)
	})
	want := []revocationRow{{3, revokedAt}}
	assertRows := func(t *testing.T) {
		t.Helper()
		rows := revocationRows(t, db)
		if len(rows) != len(want) {
			t.Fatalf("rows %+v, want %+v", rows, want)
		}
		for i := range rows {
			if rows[i].user != want[i].user || !rows[i].at.Equal(want[i].at) {
				t.Fatalf("rows %+v, want %+v", rows, want)
			}
		}
	}
	assertRows(t)

	t.Run("an older revocation moves nothing back", func(t *testing.T) {
		got, err := RevokeUserLinks(ctx, db, 3, revokedAt.Add(-time.Hour))
		if err != nil || !got.Equal(revokedAt) {
			t.Fatalf("RevokeUserLinks = %v, %v; want %v still in force", got, err, revokedAt)
		}
		assertRows(t)
	})
	t.Run("no user: refused, nothing written", func(t *testing.T) {
		if _, err := RevokeUserLinks(ctx, db, 0, revokedAt); err == nil {
			t.Fatal("revoked user 0")
		}
		assertRows(t)
	})
	t.Run("a revocation older than the longest lifetime is not read", func(t *testing.T) {
		old := revokedAt.Add(-24*time.Hour - MaxClockSkew - time.Second)
		if _, err := RevokeUserLinks(ctx, db, 5, old); err != nil {
			t.Fatal(err)
		}
		here.Invalidate()
		v, err := here.current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := v.before[5]; ok || len(v.before) != 1 {
			t.Fatalf("view %v holds a revocation no live link predates", v.before)
		}
		// Any link of user 5 issued before it expired long ago.
		if err := here.Check(ctx, NewLink(5, 1, revokedAt.Add(-time.Hour), time.Hour)); err != nil {
			t.Fatalf("user 5's recent link: %v", err)
		}
	})
}

// TestRevocationsUnreadable: when the table cannot be read, Check fails
// with an error that is not ErrBadLink (the daemon answers 503), for every
// link: a revocation is never skipped.
func TestRevocationsUnreadable(t *testing.T) {
	tdb := testdb.New(t) // no migrations: the table does not exist
	r := &Revocations{DB: tdb.DB.DB, MaxTTL: time.Hour}
	err := r.Check(context.Background(), NewLink(3, 7, time.Now(), time.Minute))
	if err == nil || errors.Is(err, ErrBadLink) {
		t.Fatalf("Check without a table = %v, want a read error", err)
	}
	noMax := &Revocations{DB: tdb.DB.DB}
	if err := noMax.Check(context.Background(), NewLink(3, 7, time.Now(), time.Minute)); err == nil {
		t.Fatal("Check without MaxTTL let a link through")
	}
}
