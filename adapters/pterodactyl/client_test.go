package pterodactyl

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	response := func(status int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	tests := []struct {
		name     string
		resp     *http.Response
		attempt  int
		cap      time.Duration
		min, max time.Duration // the wait must lie in [min, max]
	}{
		{"429 seconds", response(429, "42"), 0, time.Minute, 42 * time.Second, 42 * time.Second},
		{"429 capped", response(429, "120"), 0, 65 * time.Second, 65 * time.Second, 65 * time.Second},
		{"503 http date", response(503, now.Add(7*time.Second).Format(http.TimeFormat)), 0, time.Minute, 7 * time.Second, 7 * time.Second},
		{"429 date in the past", response(429, now.Add(-time.Hour).Format(http.TimeFormat)), 0, time.Minute, 0, 0},
		{"429 without header backs off", response(429, ""), 0, time.Minute, 50 * time.Millisecond, 100 * time.Millisecond},
		{"500 first retry", response(500, "30"), 0, time.Minute, 50 * time.Millisecond, 100 * time.Millisecond},
		{"500 third retry", response(500, ""), 2, time.Minute, 200 * time.Millisecond, 400 * time.Millisecond},
		{"network error capped", nil, 20, time.Minute, 500 * time.Millisecond, time.Second},
		{"huge attempt does not overflow", nil, 200, time.Minute, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 { // jitter: every draw must be in range
				got := backoff(100*time.Millisecond, time.Second, tt.attempt, tt.resp, tt.cap, now)
				if got < tt.min || got > tt.max {
					t.Fatalf("wait %s outside [%s, %s]", got, tt.min, tt.max)
				}
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	get := context.WithValue(context.Background(), callKey{}, call{idempotent: true})
	patch := context.WithValue(context.Background(), callKey{}, call{idempotent: false})
	cancelled, cancel := context.WithCancel(get)
	cancel()
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name  string
		ctx   context.Context
		resp  *http.Response
		err   error
		retry bool
	}{
		{"GET 502", get, &http.Response{StatusCode: 502}, nil, true},
		{"GET 501", get, &http.Response{StatusCode: 501}, nil, false},
		{"GET 404", get, &http.Response{StatusCode: 404}, nil, false},
		{"GET 302", get, &http.Response{StatusCode: 302}, nil, false},
		{"GET network error", get, nil, errors.New("connection reset"), true},
		{"PATCH 429", patch, &http.Response{StatusCode: 429}, nil, true},
		{"PATCH 500 may have committed", patch, &http.Response{StatusCode: 500}, nil, false},
		{"PATCH reset may have committed", patch, nil, errors.New("connection reset"), false},
		{"PATCH dial error never sent", patch, nil, dialErr, true},
		{"PATCH 422", patch, &http.Response{StatusCode: 422}, nil, false},
		{"cancelled", cancelled, &http.Response{StatusCode: 502}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retry, _ := retryPolicy(tt.ctx, tt.resp, tt.err)
			if retry != tt.retry {
				t.Fatalf("retry %v, want %v", retry, tt.retry)
			}
		})
	}
}

func TestTokenBucket(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	b := newTokenBucket(200, clock)
	// A burst of a tenth of the rate goes at once.
	for i := range 20 {
		if d := b.reserve(); d != 0 {
			t.Fatalf("request %d waits %s", i, d)
		}
	}
	// Then one every 300 ms, queued in order.
	for i := 1; i <= 3; i++ {
		want := time.Duration(i) * 300 * time.Millisecond
		if d := b.reserve(); d < want-time.Millisecond || d > want+time.Millisecond {
			t.Fatalf("queued request %d waits %s, want %s", i, d, want)
		}
	}
	// After a minute the bucket is full again, but never above the burst.
	now = now.Add(time.Minute)
	for range 20 {
		if d := b.reserve(); d != 0 {
			t.Fatalf("after refill: wait %s", d)
		}
	}
	if d := b.reserve(); d == 0 {
		t.Fatal("the bucket held more than its burst")
	}
}

// TestTokenBucketMinuteStaysUnderPanelLimit: whatever the backlog, no window
// of one minute sees more than burst + rate requests, which is under 240.
func TestTokenBucketMinuteStaysUnderPanelLimit(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	b := newTokenBucket(200, func() time.Time { return now })
	var sendTimes []time.Duration
	for range 1000 {
		sendTimes = append(sendTimes, b.reserve())
	}
	for i, start := range sendTimes {
		n := 0
		for _, at := range sendTimes[i:] {
			if at < start+time.Minute {
				n++
			}
		}
		if n > 221 {
			t.Fatalf("%d requests within a minute from %s", n, start)
		}
	}
}

func TestTokenBucketWaitHonoursCancellation(t *testing.T) {
	b := newTokenBucket(1, time.Now) // one per minute
	if err := b.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	// The token of the cancelled wait was given back.
	b.mu.Lock()
	tokens := b.tokens
	b.mu.Unlock()
	if tokens < -0.01 {
		t.Fatalf("tokens %f after a cancelled wait", tokens)
	}
	var nilBucket *tokenBucket // pacing off
	if err := nilBucket.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestServerLockHonoursCancellation(t *testing.T) {
	l := newServerLocks()
	unlock, err := l.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.lock(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	// Another server is not blocked.
	other, err := l.lock(context.Background(), "b")
	if err != nil {
		t.Fatal(err)
	}
	other()
	unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.held) != 0 {
		t.Fatalf("lock entries leak: %v", l.held)
	}
}

func TestNormalizeEndpoint(t *testing.T) {
	tests := []struct {
		in, want string
		invalid  bool
	}{
		{"https://panel.example.com", "https://panel.example.com", false},
		{"https://panel.example.com/", "https://panel.example.com", false},
		{"https://panel.example.com/api/application/", "https://panel.example.com", false},
		{"https://example.com/panel", "https://example.com/panel", false},
		{"panel.example.com", "", true},
		{"ftp://panel.example.com", "", true},
		{"https://user:ptla_secret@panel.example.com", "", true},
		{"https://panel.example.com/?x=1", "", true},
	}
	for _, tt := range tests {
		got, err := normalizeEndpoint(tt.in)
		if tt.invalid {
			if err == nil {
				t.Errorf("%q accepted as %q", tt.in, got)
			} else if strings.Contains(err.Error(), "ptla_secret") {
				t.Errorf("%q: error echoes the credentials: %v", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %q %v, want %q", tt.in, got, err, tt.want)
		}
	}
}
