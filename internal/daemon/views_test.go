package daemon

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

// TestConnGate: the gates share the pool left beside the lock session, two
// fifths for views and the rest for changes; a request takes a place per
// connection it uses at once, and one that cannot get in answers
// unavailable.
func TestConnGate(t *testing.T) {
	if v, c := newConnGates(0); v != nil || c != nil {
		t.Fatal("an unbounded pool needs no gate")
	}
	for _, tc := range []struct{ maxOpen, views, changes int }{{2, 1, 1}, {3, 1, 1}, {4, 1, 2}, {10, 4, 5}, {32, 12, 19}} {
		v, c := newConnGates(tc.maxOpen)
		if v.places != int64(tc.views) || c.places != int64(tc.changes) {
			t.Errorf("pool of %d: %d places for views and %d for changes, want %d and %d", tc.maxOpen, v.places, c.places, tc.views, tc.changes)
		}
	}
	views, changes := newConnGate(4), newConnGate(4)
	ctx := context.Background()
	r1, err := views.enter(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := views.enter(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Full: a third view waits, and gives up with the context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = views.enter(short, 1)
	cancel()
	if !errors.Is(err, hostapi.ErrUnavailable) {
		t.Fatalf("a view on a full gate: %v, want unavailable", err)
	}
	// Views filling theirs leave the changes' gate whole.
	var held []func()
	for i := 0; i < 4; i++ {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		r, err := changes.enter(short, 1)
		cancel()
		if err != nil {
			t.Fatalf("change %d waited for views: %v", i, err)
		}
		held = append(held, r)
	}
	for _, r := range held {
		r()
		r() // a second release gives nothing back twice
	}
	r1()
	// A view reading on more connections than the gate has takes it all.
	r2()
	big, err := views.enter(ctx, 9)
	if err != nil {
		t.Fatalf("a view wider than the gate: %v", err)
	}
	big()
}
