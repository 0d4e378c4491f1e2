package configoptions

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

func TestParsePrice(t *testing.T) {
	for _, tc := range []struct {
		in     string
		places int32
		want   string // "" means refused
	}{
		{"2.00", cyclePlaces, "2"},
		{"2", cyclePlaces, "2"},
		{"0.0015", hourlyPlaces, "0.0015"},
		{"-1.50", cyclePlaces, "-1.5"}, // the sign is ValidateGroup's business
		{"999999999999999.99", cyclePlaces, "999999999999999.99"},
		{"9999999999999.9999", hourlyPlaces, "9999999999999.9999"},
		{"2.005", cyclePlaces, ""},
		{"0.00015", hourlyPlaces, ""},
		{"1000000000000000", cyclePlaces, ""},
		{"10000000000000", hourlyPlaces, ""},
		{"1e3", cyclePlaces, ""},
		{"+1", cyclePlaces, ""},
		{" 1", cyclePlaces, ""},
		{"1,00", cyclePlaces, ""},
		{".5", cyclePlaces, ""},
		{"", cyclePlaces, ""},
	} {
		s := tc.in
		got, err := parsePrice("p", &s, tc.places)
		switch {
		case tc.want == "" && !errors.Is(err, hostapi.ErrInvalid):
			t.Errorf("%q: %v, %v; want refused", tc.in, got, err)
		case tc.want != "" && (err != nil || got.String() != tc.want):
			t.Errorf("%q: %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if got, err := parsePrice("p", nil, cyclePlaces); got != nil || err != nil {
		t.Errorf("null price: %v %v", got, err)
	}
}

func TestRouteMatch(t *testing.T) {
	// An unconfigured module: a path that reaches the handler answers
	// unavailable (it has no store), one that does not is the JSON 404.
	m := New()
	admin := hostapi.Principal{Kind: hostapi.Admin}
	for path, reaches := range map[string]bool{
		"/admin/groups/7":    true,
		"/admin/groups/0":    false,
		"/admin/groups/":     false,
		"/admin/groups/-1":   false,
		"/admin/groups/7/x":  false,
		"/admin/groups/7x":   false,
		"/admin/groupsx/7":   false,
		"/admin/groups/+7":   false,
		"/admin/groups/07":   false,
		"/admin/groups/0x10": false,
	} {
		resp, err := m.HandleHTTP(t.Context(), hostapi.HTTPRequest{Method: "GET", Path: path, Principal: admin})
		switch {
		case reaches && !errors.Is(err, hostapi.ErrUnavailable):
			t.Errorf("%s: %d %s %v; want the handler (unavailable)", path, resp.Status, resp.Body, err)
		case !reaches && (err != nil || resp.Status != http.StatusNotFound || !strings.Contains(string(resp.Body), `"not_found"`)):
			t.Errorf("%s: %d %s %v; want the JSON 404", path, resp.Status, resp.Body, err)
		}
	}
	if resp, err := m.HandleHTTP(t.Context(), hostapi.HTTPRequest{Method: "PATCH", Path: "/admin/groups/7", Principal: admin}); err != nil || resp.Status != http.StatusNotFound {
		t.Errorf("another method: %d %v; want the JSON 404", resp.Status, err)
	}
	if _, err := m.HandleHTTP(t.Context(), hostapi.HTTPRequest{Method: "GET", Path: "/admin/groups/7", Principal: hostapi.Principal{Kind: hostapi.Client, UserID: 1}}); !errors.Is(err, hostapi.ErrPermission) {
		t.Errorf("a client on an admin route: %v; want permission_denied", err)
	}
}

func TestPlanReplace(t *testing.T) {
	cur := catalog.Group{ID: 1, Options: []catalog.Option{
		{ID: 10, Name: "Location", Type: catalog.Dropdown, Values: []catalog.Value{{ID: 100}, {ID: 101}, {ID: 102, Deleted: true}, {ID: 103}}},
		{ID: 11, Name: "RAM", Type: catalog.Quantity},
		{ID: 12, Name: "Notes", Type: catalog.Text},
	}}
	counts := selectionCounts{ByOption: map[uint64]int64{10: 3, 11: 1}, ByValue: map[uint64]int64{101: 2, 102: 1}}
	next := catalog.Group{ID: 1, Options: []catalog.Option{
		{ID: 10, Type: catalog.Radio, Values: []catalog.Value{{ID: 100}, {}}},
		{ID: 11, Type: catalog.Slider},
	}}
	plan, err := planReplace(cur, next, counts)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.deleteOptions) != 1 || plan.deleteOptions[0] != 12 {
		t.Errorf("delete options %v, want [12]", plan.deleteOptions)
	}
	if got := plan.retireValues[10]; len(got) != 1 || got[0] != 101 {
		t.Errorf("retire %v, want [101] (102 is already retired)", got)
	}
	if got := plan.deleteValues[10]; len(got) != 1 || got[0] != 103 {
		t.Errorf("delete values %v, want [103]", got)
	}

	refuse := map[string]struct {
		next catalog.Group
		code hostapi.Code
	}{
		"held option left out": {catalog.Group{ID: 1, Options: []catalog.Option{{ID: 10, Type: catalog.Dropdown}}}, hostapi.CodeConflict},
		"held option retyped": {catalog.Group{ID: 1, Options: []catalog.Option{next.Options[0], {ID: 11, Type: catalog.Dropdown}}},
			hostapi.CodeConflict},
		"foreign option": {catalog.Group{ID: 1, Options: []catalog.Option{next.Options[0], next.Options[1], {ID: 99}}}, hostapi.CodeInvalid},
		"retired value": {catalog.Group{ID: 1, Options: []catalog.Option{{ID: 10, Values: []catalog.Value{{ID: 102}}}, next.Options[1]}},
			hostapi.CodeInvalid},
		"value of another option": {catalog.Group{ID: 1, Options: []catalog.Option{next.Options[0], {ID: 12, Type: catalog.Text, Values: []catalog.Value{{ID: 100}}}, next.Options[1]}},
			hostapi.CodeInvalid},
	}
	for name, tc := range refuse {
		if _, err := planReplace(cur, tc.next, counts); hostapi.CodeOf(err) != tc.code {
			t.Errorf("%s: %v; want %s", name, err, tc.code)
		}
	}
}

func TestConfigureRefusesSettings(t *testing.T) {
	m := New()
	if err := m.Configure(t.Context(), hostapi.Host{}, map[string]string{"currency": "EUR"}); !errors.Is(err, hostapi.ErrInvalid) {
		t.Fatalf("unknown setting: %v", err)
	}
	if _, err := m.groups(); !errors.Is(err, hostapi.ErrUnavailable) {
		t.Fatalf("unconfigured module: %v", err)
	}
}
