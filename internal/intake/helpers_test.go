package intake_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

func mustDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// logBuffer collects JSON log lines from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// capture returns a logger writing JSON lines to the returned buffer.
func capture() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, nil)), b
}

// funcModule delivers events to handle.
type funcModule struct {
	hostapi.Module
	handle func(ctx context.Context, ev hostapi.Event) error
}

func (m funcModule) HandleEvent(ctx context.Context, ev hostapi.Event) (hostapi.EventResult, error) {
	if err := m.handle(ctx, ev); err != nil {
		return hostapi.EventResult{}, err
	}
	return hostapi.EventResult{Handled: true}, nil
}

// results records what a Worker reports to OnResult.
type results struct {
	mu  sync.Mutex
	got []string
}

func (r *results) add(kind, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, kind+":"+result)
}

func (r *results) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}
