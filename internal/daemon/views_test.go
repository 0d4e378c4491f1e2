package daemon

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

// TestConnGate: a gate holds half the pool left beside the lock session,
// a request takes a place per connection it uses at once, and one that
// cannot get in answers unavailable.
func TestConnGate(t *testing.T) {
	if g := newConnGate(0); g != nil {
		t.Fatal("an unbounded pool needs no gate")
	}
	for _, tc := range []struct{ maxOpen, places int }{{2, 1}, {3, 1}, {10, 4}, {32, 15}} {
		if got := newConnGate(tc.maxOpen).places; got != int64(tc.places) {
			t.Errorf("pool of %d: %d places, want %d", tc.maxOpen, got, tc.places)
		}
	}
	views, changes := newConnGate(10), newConnGate(10) // 4 places each
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
