package hostapi

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	pb "github.com/upsell-io/upsell/hostapi/internal/upsellv1"
)

func TestReplyMemo(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	reply := func(status int32, until time.Time) *pb.HTTPResponse {
		return &pb.HTTPResponse{Status: status, Body: []byte("x"), ReuseUntil: timeToWire(until)}
	}
	key := func(b byte) [32]byte { return [32]byte{b} }

	t.Run("kept until ReuseUntil", func(t *testing.T) {
		m := newReplyMemo(4)
		m.put(key(1), reply(200, t0.Add(time.Minute)), t0)
		if _, ok := m.get(key(1), t0.Add(59*time.Second)); !ok {
			t.Fatal("a reply within its ReuseUntil was not reused")
		}
		if _, ok := m.get(key(1), t0.Add(time.Minute)); ok {
			t.Fatal("a reply was reused at its ReuseUntil")
		}
		if m.len() != 0 {
			t.Fatal("an expired reply was kept")
		}
	})
	t.Run("never beyond the cap", func(t *testing.T) {
		m := newReplyMemo(4)
		m.put(key(1), reply(200, t0.Add(24*time.Hour)), t0)
		if _, ok := m.get(key(1), t0.Add(maxReuse)); ok {
			t.Fatalf("reused past %s", maxReuse)
		}
	})
	t.Run("not kept", func(t *testing.T) {
		m := newReplyMemo(4)
		for name, r := range map[string]*pb.HTTPResponse{
			"no ReuseUntil":      reply(200, time.Time{}),
			"ReuseUntil passed":  reply(200, t0.Add(-time.Second)),
			"ReuseUntil now":     reply(200, t0),
			"an error":           reply(409, t0.Add(time.Minute)),
			"a redirect":         reply(302, t0.Add(time.Minute)),
			"an internal error":  reply(500, t0.Add(time.Minute)),
			"status not set yet": reply(0, t0.Add(time.Minute)),
		} {
			m.put(key(1), r, t0)
			if m.len() != 0 {
				t.Fatalf("%s: kept", name)
			}
		}
	})
	t.Run("oldest evicted when full", func(t *testing.T) {
		m := newReplyMemo(3)
		for b := byte(1); b <= 3; b++ {
			m.put(key(b), reply(200, t0.Add(time.Minute)), t0)
		}
		m.put(key(2), reply(201, t0.Add(time.Minute)), t0) // refreshed in place
		m.put(key(4), reply(200, t0.Add(time.Minute)), t0) // evicts 1
		if _, ok := m.get(key(1), t0); ok {
			t.Fatal("the oldest reply survived a full memo")
		}
		if r, ok := m.get(key(2), t0); !ok || r.GetStatus() != 201 {
			t.Fatalf("refreshed reply: %v %v", r, ok)
		}
		m.put(key(5), reply(200, t0.Add(time.Minute)), t0) // evicts 2
		m.put(key(6), reply(200, t0.Add(time.Minute)), t0) // evicts 3
		for b, want := range map[byte]bool{2: false, 3: false, 4: true, 5: true, 6: true} {
			if _, ok := m.get(key(b), t0); ok != want {
				t.Errorf("key %d kept %v, want %v", b, ok, want)
			}
		}
		if m.len() != 3 {
			t.Fatalf("%d replies kept, capacity 3", m.len())
		}
	})
	t.Run("disabled", func(t *testing.T) {
		if newReplyMemo(0) != nil {
			t.Fatal("a memo of capacity 0")
		}
	})
}

// The digest covers every field a module sees but the request id.
func TestRequestDigest(t *testing.T) {
	berlin := "Europe/Berlin"
	base := func() HTTPRequest {
		return HTTPRequest{Method: "GET", Path: "/packages", RequestID: "r1",
			Query:     map[string][]string{"a": {"1"}},
			Header:    map[string][]string{"Content-Type": nil, "Idempotency-Key": nil},
			Principal: Principal{Kind: Client, UserID: 3, ServiceID: 7},
			Service:   &Service{ID: 7, UserID: 3, Status: ServiceActive, Currency: "EUR"},
			Settings:  &PanelSettings{Timezone: berlin},
			Prefetched: map[string]*Rows{"offer": {Columns: []string{"id", "held"}, Values: [][]any{{int64(1), int64(0)}}},
				"other": {Columns: []string{"x"}}},
		}
	}
	digest := func(r HTTPRequest) [32]byte {
		w, err := httpRequestToWire(r)
		if err != nil {
			t.Fatal(err)
		}
		d, err := requestDigest(w)
		if err != nil {
			t.Fatal(err)
		}
		if w.RequestId != r.RequestID {
			t.Fatal("the digest changed the request")
		}
		return d
	}
	want := digest(base())
	for i := 0; i < 20; i++ { // map order must not matter
		if digest(base()) != want {
			t.Fatal("the digest of one request varies")
		}
	}
	same := base()
	same.RequestID = "r2"
	if digest(same) != want {
		t.Fatal("the request id changed the digest")
	}
	for name, change := range map[string]func(*HTTPRequest){
		"path":       func(r *HTTPRequest) { r.Path = "/orders" },
		"query":      func(r *HTTPRequest) { r.Query["a"] = []string{"2"} },
		"header":     func(r *HTTPRequest) { r.Header["Idempotency-Key"] = []string{"k"} },
		"body":       func(r *HTTPRequest) { r.Body = []byte("{}") },
		"user":       func(r *HTTPRequest) { r.Principal.UserID = 4 },
		"service":    func(r *HTTPRequest) { r.Principal.ServiceID = 8 },
		"price":      func(r *HTTPRequest) { r.Service.Price = decimal.RequireFromString("0.01") },
		"status":     func(r *HTTPRequest) { r.Service.Status = ServiceSuspended },
		"timezone":   func(r *HTTPRequest) { r.Settings.Timezone = "UTC" },
		"a held row": func(r *HTTPRequest) { r.Prefetched["offer"].Values[0][1] = int64(1) },
		"another row": func(r *HTTPRequest) {
			r.Prefetched["offer"].Values = append(r.Prefetched["offer"].Values, []any{int64(2), int64(0)})
		},
	} {
		r := base()
		change(&r)
		if digest(r) == want {
			t.Errorf("a different %s gives the same digest", name)
		}
	}
}
