package hostapi_test

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/hostapitest"
)

// countingModule answers how often it was asked; /reusable replies may be
// reused for a minute, /missing is a reusable 404, /fresh is never reused.
type countingModule struct{ calls atomic.Int64 }

func (m *countingModule) Describe(context.Context) (hostapi.ModuleInfo, error) {
	return hostapi.ModuleInfo{Name: "counting"}, nil
}
func (m *countingModule) Configure(context.Context, hostapi.Host, map[string]string) error {
	return nil
}
func (m *countingModule) HandleEvent(context.Context, hostapi.Event) (hostapi.EventResult, error) {
	return hostapi.EventResult{}, nil
}
func (m *countingModule) HandleHTTP(_ context.Context, req hostapi.HTTPRequest) (hostapi.HTTPResponse, error) {
	n := m.calls.Add(1)
	resp := hostapi.HTTPResponse{Status: http.StatusOK, Body: []byte(strconv.FormatInt(n, 10))}
	switch req.Path {
	case "/reusable":
		resp.ReuseUntil = time.Now().Add(time.Minute)
	case "/missing":
		resp.Status, resp.ReuseUntil = http.StatusNotFound, time.Now().Add(time.Minute)
	}
	return resp, nil
}

// The host reuses a reply the module marked reusable for the identical
// request only, whatever its request id; the module decides which replies,
// and a host can turn reuse off.
func TestModuleClientReusesMarkedReplies(t *testing.T) {
	m := &countingModule{}
	client := hostapitest.InProcessModule(t, m, hostapi.Host{}, nil)
	ctx := context.Background()
	alice := hostapi.Principal{Kind: hostapi.Client, UserID: 1, ServiceID: 10}
	ask := func(path, id string, p hostapi.Principal) string {
		t.Helper()
		resp, err := client.HandleHTTP(ctx, hostapi.HTTPRequest{Method: "GET", Path: path, RequestID: id, Principal: p})
		if err != nil {
			t.Fatal(err)
		}
		return string(resp.Body)
	}

	first := ask("/reusable", "a", alice)
	if again := ask("/reusable", "b", alice); again != first || m.calls.Load() != 1 {
		t.Fatalf("identical request: %q after %q, %d module calls; want the reply reused", again, first, m.calls.Load())
	}
	if other := ask("/reusable", "c", hostapi.Principal{Kind: hostapi.Client, UserID: 2, ServiceID: 10}); other == first || m.calls.Load() != 2 {
		t.Fatalf("another user got %q (%d calls): a reply is reused only for the identical request", other, m.calls.Load())
	}
	for range 2 {
		ask("/fresh", "d", alice)
		ask("/missing", "e", alice)
	}
	if n := m.calls.Load(); n != 6 {
		t.Fatalf("%d module calls, want 6: replies not marked reusable, and errors, are never reused", n)
	}

	client.MemoizeReplies(0)
	if client.MemoizedReplies() != 0 {
		t.Fatal("replies kept after turning reuse off")
	}
	ask("/reusable", "f", alice)
	ask("/reusable", "g", alice)
	if n := m.calls.Load(); n != 8 {
		t.Fatalf("%d module calls with reuse off, want 8", n)
	}
	client.MemoizeReplies(hostapi.DefaultReplyMemoEntries)
	ask("/reusable", "h", alice)
	ask("/reusable", "i", alice)
	if n := m.calls.Load(); n != 9 || client.MemoizedReplies() != 1 {
		t.Fatalf("%d module calls, %d kept after turning reuse back on; want 9, 1", n, client.MemoizedReplies())
	}
}
