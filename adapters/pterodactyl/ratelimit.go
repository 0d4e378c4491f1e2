package pterodactyl

import (
	"context"
	"sync"
	"time"
)

// tokenBucket paces requests to one panel. The panel counts requests in a
// fixed one-minute window, so the bucket's burst must be small: a full
// bucket of B tokens plus a minute of refill at rate R may all land in one
// window, and B+R has to stay under the panel's limit. With the default
// 200/min and a burst of a tenth of that, any minute sees at most 220.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newTokenBucket(perMinute int, now func() time.Time) *tokenBucket {
	return newWindowBucket(perMinute, time.Minute, now)
}

// newWindowBucket paces to perWindow requests per window (the panel's
// window is a minute; tests scale it down), with a burst of a tenth.
func newWindowBucket(perWindow int, window time.Duration, now func() time.Time) *tokenBucket {
	burst := max(1, perWindow/10)
	return &tokenBucket{
		rate:   float64(perWindow) / window.Seconds(),
		burst:  float64(burst),
		tokens: float64(burst),
		last:   now(),
		now:    now,
	}
}

// reserve takes a token and returns how long the caller must wait before
// using it. Tokens may go negative: waiting callers queue up in order.
func (b *tokenBucket) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// unreserve gives back a token whose caller gave up waiting.
func (b *tokenBucket) unreserve() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(b.burst, b.tokens+1)
}

// wait blocks until the caller may send a request, or ctx is done.
func (b *tokenBucket) wait(ctx context.Context) error {
	if b == nil {
		return ctx.Err()
	}
	d := b.reserve()
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		b.unreserve()
		return ctx.Err()
	}
}

// limiterSet holds one bucket per panel endpoint: the panel's budget belongs
// to the key's owner, and one endpoint is one panel.
type limiterSet struct {
	perWindow int
	window    time.Duration
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*tokenBucket
}

func newLimiterSet(perWindow int, window time.Duration) *limiterSet {
	if window <= 0 {
		window = time.Minute
	}
	return &limiterSet{perWindow: perWindow, window: window, now: time.Now, buckets: map[string]*tokenBucket{}}
}

// forEndpoint returns the endpoint's bucket, or nil when pacing is off.
func (s *limiterSet) forEndpoint(endpoint string) *tokenBucket {
	if s.perWindow <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[endpoint]
	if !ok {
		b = newWindowBucket(s.perWindow, s.window, s.now)
		s.buckets[endpoint] = b
	}
	return b
}
