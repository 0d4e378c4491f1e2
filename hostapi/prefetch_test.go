package hostapi

import (
	"errors"
	"reflect"
	"testing"
)

func TestRouteValidatePrefetch(t *testing.T) {
	offer := Prefetch{Name: "offer", SQL: "SELECT 1 FROM ext_x_t WHERE id = ?", Args: []PrefetchArg{PrefetchServiceID}}
	tests := []struct {
		name  string
		route Route
		ok    bool
	}{
		{"no prefetch on an admin route", Route{Method: "GET", Path: "/a", Access: AccessAdmin}, true},
		{"client route", Route{Method: "GET", Path: "/p", Access: AccessClient, Prefetch: []Prefetch{offer}}, true},
		{"public route cannot bind a principal", Route{Method: "GET", Path: "/p", Access: AccessPublic, Prefetch: []Prefetch{offer}}, false},
		{"admin route", Route{Method: "GET", Path: "/p", Access: AccessAdmin, Prefetch: []Prefetch{offer}}, false},
		{"repeated name", Route{Method: "GET", Path: "/p", Access: AccessClient, Prefetch: []Prefetch{offer, offer}}, false},
		{"empty name", Route{Method: "GET", Path: "/p", Access: AccessClient, Prefetch: []Prefetch{{SQL: "SELECT 1"}}}, false},
		{"no query", Route{Method: "GET", Path: "/p", Access: AccessClient, Prefetch: []Prefetch{{Name: "x", SQL: "  "}}}, false},
		{"unknown argument", Route{Method: "GET", Path: "/p", Access: AccessClient, Prefetch: []Prefetch{{Name: "x", SQL: "SELECT ?", Args: []PrefetchArg{"email"}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.route.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestPrefetchBindsThePrincipal(t *testing.T) {
	f := Prefetch{Name: "x", SQL: "SELECT ?, ?, ?", Args: []PrefetchArg{PrefetchUserID, PrefetchServiceID, PrefetchUserID}}
	got, err := f.Bind(Principal{Kind: Client, UserID: 7, ServiceID: 42})
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{uint64(7), uint64(42), uint64(7)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Bind = %v, want %v", got, want)
	}
}

func TestRoutesAndPrefetchedRoundTrip(t *testing.T) {
	info := ModuleInfo{Name: "m", Version: "1", TablePrefix: "ext_m_", Routes: []Route{
		{Method: "GET", Path: "/p", Access: AccessClient, Prefetch: []Prefetch{{Name: "offer", SQL: "SELECT 1", Args: []PrefetchArg{PrefetchServiceID}}}},
		{Method: "POST", Path: "/q", Access: AccessPublic},
	}}
	if got := moduleInfoFromWire(moduleInfoToWire(info)); !reflect.DeepEqual(got.Routes, info.Routes) {
		t.Fatalf("routes = %+v, want %+v", got.Routes, info.Routes)
	}
	req := HTTPRequest{Method: "GET", Path: "/p", Principal: Principal{Kind: Client, UserID: 1, ServiceID: 2},
		Prefetched: map[string]*Rows{"offer": {Columns: []string{"id", "name"}, Values: [][]any{{int64(1), "RAM"}}}}}
	w, err := httpRequestToWire(req)
	if err != nil {
		t.Fatal(err)
	}
	back, err := httpRequestFromWire(w)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	var name string
	if err := back.Prefetched["offer"].Scan(0, &id, &name); err != nil || id != 1 || name != "RAM" {
		t.Fatalf("prefetched row = %d %q (%v)", id, name, err)
	}
}
