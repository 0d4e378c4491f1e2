package hostapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

func TestHandleWith(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /packages", func(w http.ResponseWriter, r *http.Request) {
		req := hostapi.RequestOf(r)
		hostapi.MarkReusable(w, 1700000000)
		w.Header().Set("X-Service", r.URL.Query().Get("service"))
		hostapi.WriteJSON(w, http.StatusOK, map[string]any{"user": req.Principal.UserID, "service": req.Service.ID, "key": r.Header.Get("Idempotency-Key")})
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		hostapi.Fail(w, hostapi.Invalid("package_id", "no such package"))
	})
	ctx := context.Background()
	principal := hostapi.Principal{Kind: hostapi.Client, UserID: 7, ServiceID: 42}

	resp, err := hostapi.HandleWith(ctx, mux, hostapi.HTTPRequest{
		Method: "GET", Path: "/packages", Query: map[string][]string{"service": {"42"}},
		Header: map[string][]string{"Idempotency-Key": {"k1"}}, Principal: principal, Service: &hostapi.Service{ID: 42},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || string(resp.Body) != `{"key":"k1","service":42,"user":7}` {
		t.Errorf("GET /packages = %d %s", resp.Status, resp.Body)
	}
	if got := http.Header(resp.Header).Get("X-Service"); got != "42" {
		t.Errorf("query not passed: X-Service = %q", got)
	}
	if !resp.ReuseUntil.Equal(time.Unix(1700000000, 0)) || http.Header(resp.Header).Get("X-Upsell-Reuse-Until") != "" {
		t.Errorf("ReuseUntil = %s, header %v", resp.ReuseUntil, resp.Header)
	}

	_, err = hostapi.HandleWith(ctx, mux, hostapi.HTTPRequest{Method: "POST", Path: "/orders", Principal: principal})
	if hostapi.CodeOf(err) != hostapi.CodeInvalid {
		t.Errorf("POST /orders error = %v, want the handler's invalid error", err)
	}

	resp, err = hostapi.HandleWith(ctx, mux, hostapi.HTTPRequest{Method: "DELETE", Path: "/orders", Principal: principal})
	if err != nil || resp.Status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /orders = %d, %v; want the mux's 405", resp.Status, err)
	}
}
