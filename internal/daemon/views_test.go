package daemon

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

// TestViewGate: views share half the pool left beside the lock session,
// each taking a place per connection it reads on; requests that move
// money never wait; a view that cannot get in answers unavailable.
func TestViewGate(t *testing.T) {
	if g := newViewGate(0); g != nil {
		t.Fatal("an unbounded pool needs no gate")
	}
	for _, tc := range []struct{ maxOpen, places int }{{2, 1}, {3, 1}, {10, 4}, {32, 15}} {
		if got := newViewGate(tc.maxOpen).places; got != int64(tc.places) {
			t.Errorf("pool of %d: %d places, want %d", tc.maxOpen, got, tc.places)
		}
	}
	g := newViewGate(10) // 4 places
	ctx := context.Background()
	r1, err := g.enter(ctx, "GET", 2)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := g.enter(ctx, "HEAD", 2)
	if err != nil {
		t.Fatal(err)
	}
	// Full: a third view waits, and gives up with the context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = g.enter(short, "GET", 1)
	cancel()
	if !errors.Is(err, hostapi.ErrUnavailable) {
		t.Fatalf("a view on a full gate: %v, want unavailable", err)
	}
	// A purchase never waits.
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		r, err := g.enter(short, m, 1)
		cancel()
		if err != nil {
			t.Fatalf("%s waited for views: %v", m, err)
		}
		r()
	}
	r1()
	// A view reading on more connections than the gate has takes it all.
	r2()
	big, err := g.enter(ctx, "GET", 9)
	if err != nil {
		t.Fatalf("a view wider than the gate: %v", err)
	}
	big()
}
