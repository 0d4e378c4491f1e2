package pterosim

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	buildPath  = "/api/application/servers/1/build"
	pelicanKey = "papp_0123456789abcdefghijklmnopqrstuvwxyz0123456789ab"
)

// validBuild is the full body recommendation D.3 prescribes for server 1.
func validBuild(allocation int) map[string]any {
	return map[string]any{
		"allocation":     allocation,
		"oom_disabled":   true,
		"limits":         map[string]any{"memory": 2048, "swap": 0, "disk": 10240, "io": 500, "cpu": 200, "threads": nil},
		"feature_limits": map[string]any{"databases": 2, "allocations": 3, "backups": 1},
	}
}

// edit returns a deep copy of body with the dotted path set to value, or
// removed if value is the remove sentinel.
func edit(body map[string]any, path string, value any) map[string]any {
	raw, _ := json.Marshal(body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	parent := out
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		parent = parent[k].(map[string]any)
	}
	if value == remove {
		delete(parent, keys[len(keys)-1])
	} else {
		parent[keys[len(keys)-1]] = value
	}
	return out
}

type removeMarker struct{}

var remove = removeMarker{}

// failedRules lists the "field rule" pairs of a 422.
func failedRules(t *testing.T, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	var env struct {
		Errors []errorEntry `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range env.Errors {
		if e.Code != "ValidationException" || e.Status != "422" || e.Meta == nil {
			t.Errorf("bad 422 entry %+v", e)
			continue
		}
		out = append(out, e.Meta.SourceField+" "+e.Meta.Rule)
	}
	return out
}

func TestBuildValidationPterodactyl(t *testing.T) {
	f := newFixture(t, Config{})
	valid := validBuild(f.alloc[0])
	flat := edit(valid, "limits", remove)
	for k, v := range map[string]any{"memory": 2048, "swap": 0, "disk": 10240, "io": 500, "cpu": 200} {
		flat[k] = v
	}
	tests := []struct {
		name string
		body map[string]any
		want []string // failed "field rule"; nil means 200
	}{
		{"valid limits form", valid, nil},
		{"valid flat legacy form", flat, nil},
		{"numeric strings and floats are numeric", edit(edit(valid, "limits.memory", "3072"), "limits.disk", 100.5), nil},
		{"swap -1 is unlimited", edit(valid, "limits.swap", -1), nil},
		{"threads pinning", edit(valid, "limits.threads", "0-1,3"), nil},
		{"missing limits.memory", edit(valid, "limits.memory", remove), []string{"limits.memory required_with"}},
		{"missing limits.swap", edit(valid, "limits.swap", remove), []string{"limits.swap required_with"}},
		{"missing limits.io", edit(valid, "limits.io", remove), []string{"limits.io required_with"}},
		{"missing limits.cpu", edit(valid, "limits.cpu", remove), []string{"limits.cpu required_with"}},
		{"missing limits.disk", edit(valid, "limits.disk", remove), []string{"limits.disk required_with"}},
		{"null limits.memory", edit(valid, "limits.memory", nil), []string{"limits.memory required_with"}},
		{"empty string limits.memory is null", edit(valid, "limits.memory", "  "), []string{"limits.memory required_with"}},
		{"missing flat disk", edit(flat, "disk", remove), []string{"disk required_without"}},
		{"no limits at all", edit(valid, "limits", remove), []string{
			"memory required_without", "swap required_without", "io required_without", "cpu required_without", "disk required_without",
		}},
		{"empty limits object counts as absent", edit(valid, "limits", map[string]any{}), []string{
			"memory required_without", "swap required_without", "io required_without", "cpu required_without", "disk required_without",
		}},
		{"missing feature_limits", edit(valid, "feature_limits", remove), []string{
			"feature_limits required", "feature_limits.databases present", "feature_limits.backups present",
		}},
		{"missing feature_limits.databases", edit(valid, "feature_limits.databases", remove), []string{"feature_limits.databases present"}},
		{"missing feature_limits.backups", edit(valid, "feature_limits.backups", remove), []string{"feature_limits.backups present"}},
		{"null databases and backups are present", edit(edit(valid, "feature_limits.databases", nil), "feature_limits.backups", nil), nil},
		{"missing allocation", edit(valid, "allocation", remove), []string{"allocation required"}},
		{"another server's primary", edit(valid, "allocation", f.alloc[2]), []string{"allocation unique"}},
		{"nonexistent allocation", edit(valid, "allocation", 99999), []string{"allocation exists"}},
		{"non-numeric allocation", edit(valid, "allocation", "abc"), []string{"allocation exists"}},
		{"non-numeric memory", edit(valid, "limits.memory", "lots"), []string{"limits.memory numeric"}},
		{"boolean memory", edit(valid, "limits.memory", true), []string{"limits.memory numeric"}},
		{"negative memory", edit(valid, "limits.memory", -1), []string{"limits.memory min"}},
		{"swap below -1", edit(valid, "limits.swap", -2), []string{"limits.swap min"}},
		{"io below 10", edit(valid, "limits.io", 5), []string{"limits.io between"}},
		{"io above 1000", edit(valid, "limits.io", 1001), []string{"limits.io between"}},
		// Laravel keeps checking after a non-implicit failure: "abc" is not a
		// number, and its length 3 is not between 10 and 1000 either.
		{"non-numeric io fails twice", edit(valid, "limits.io", "abc"), []string{"limits.io numeric", "limits.io between"}},
		{"bad threads", edit(valid, "limits.threads", "all"), []string{"limits.threads regex"}},
		{"bad oom_disabled", edit(valid, "oom_disabled", "yes"), []string{"oom_disabled boolean"}},
		{"fractional databases", edit(valid, "feature_limits.databases", 1.5), []string{"feature_limits.databases integer"}},
		{"negative backups", edit(valid, "feature_limits.backups", -1), []string{"feature_limits.backups min"}},
		{"feature_limits not an object", edit(valid, "feature_limits", 5), []string{
			"feature_limits array", "feature_limits.databases present", "feature_limits.backups present",
		}},
		{"add_allocations not an array", edit(valid, "add_allocations", 5), []string{"add_allocations array"}},
		{"add_allocations element not an integer", edit(valid, "add_allocations", []any{f.alloc[5], "x"}), []string{"add_allocations.1 integer"}},
		{"remove_allocations element not an integer", edit(valid, "remove_allocations", []any{1.5}), []string{"remove_allocations.0 integer"}},
		{"many failures at once", map[string]any{"limits": map[string]any{"memory": 1}}, []string{
			"allocation required", "limits.swap required_with", "limits.io required_with", "limits.cpu required_with",
			"limits.disk required_with", "feature_limits required", "feature_limits.databases present", "feature_limits.backups present",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.sim.Server(1)
			rec := f.do("PATCH", buildPath, tc.body)
			if tc.want == nil {
				if rec.Code != 200 {
					t.Fatalf("status = %d, want 200: %s", rec.Code, rec.Body.String())
				}
				return
			}
			if rec.Code != 422 {
				t.Fatalf("status = %d, want 422: %s", rec.Code, rec.Body.String())
			}
			if got := failedRules(t, rec); !slices.Equal(got, tc.want) {
				t.Errorf("failed rules = %q, want %q", got, tc.want)
			}
			if after, _ := f.sim.Server(1); !reflect.DeepEqual(after, before) {
				t.Error("a rejected PATCH changed the server")
			}
		})
	}

	t.Run("messages follow the panel's translations", func(t *testing.T) {
		rec := f.do("PATCH", buildPath, edit(edit(valid, "limits.memory", remove), "allocation", f.alloc[2]))
		var details []string
		for _, e := range errorsOf(t, rec) {
			details = append(details, e["detail"].(string))
		}
		want := []string{"The allocation has already been taken.", "The limits.memory field is required when limits is present."}
		if !slices.Equal(details, want) {
			t.Errorf("details = %q, want %q", details, want)
		}
	})
}

func TestBuildStoresFullReplace(t *testing.T) {
	tests := []struct {
		name    string
		feature map[string]any
		want    string // databases/allocations/backups as stored
	}{
		{"all given", map[string]any{"databases": 2, "allocations": 3, "backups": 1}, "2/3/1"},
		{"allocations omitted becomes null", map[string]any{"databases": 2, "backups": 1}, "2/null/1"},
		{"backups null becomes 0", map[string]any{"databases": 2, "allocations": 3, "backups": nil}, "2/3/0"},
		{"databases null is unlimited", map[string]any{"databases": nil, "allocations": nil, "backups": 1}, "null/null/1"},
		{"integer strings", map[string]any{"databases": "4", "allocations": "5", "backups": "6"}, "4/5/6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			rec := f.do("PATCH", buildPath, edit(validBuild(f.alloc[0]), "feature_limits", tc.feature))
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
			doc := decode(t, rec)
			got := fmt.Sprintf("%v/%v/%v", jsonValue(get(t, doc, "attributes.feature_limits.databases")),
				jsonValue(get(t, doc, "attributes.feature_limits.allocations")), jsonValue(get(t, doc, "attributes.feature_limits.backups")))
			if got != tc.want {
				t.Errorf("response feature_limits = %s, want %s", got, tc.want)
			}
			// The response is the full server object, the same as a GET.
			again := decode(t, f.do("GET", "/api/application/servers/1", nil))
			if fmt.Sprint(again) != fmt.Sprint(doc) {
				t.Errorf("PATCH response differs from GET:\n%v\n%v", doc, again)
			}
		})
	}
}

func jsonValue(v any) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(v)
}

func TestBuildOptionalFields(t *testing.T) {
	f := newFixture(t, Config{})
	body := edit(validBuild(f.alloc[0]), "limits.threads", "0-1")
	body["oom_disabled"] = false
	if rec := f.do("PATCH", buildPath, body); rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	// Omitted threads and oom_disabled stay as they are.
	body = edit(edit(validBuild(f.alloc[0]), "limits.threads", remove), "oom_disabled", remove)
	body["limits"].(map[string]any)["memory"] = "3000.6" // numeric string; the integer column rounds
	doc := decode(t, f.do("PATCH", buildPath, body))
	if get(t, doc, "attributes.limits.threads") != "0-1" || get(t, doc, "attributes.limits.oom_disabled") != false {
		t.Errorf("omitted optional fields changed: %v", get(t, doc, "attributes.limits"))
	}
	if got := get(t, doc, "attributes.limits.memory"); got != 3001.0 {
		t.Errorf("memory = %v, want 3001", got)
	}
	// Null clears the pinning.
	doc = decode(t, f.do("PATCH", buildPath, validBuild(f.alloc[0])))
	if get(t, doc, "attributes.limits.threads") != nil {
		t.Errorf("threads = %v, want null", get(t, doc, "attributes.limits.threads"))
	}
	// With both forms, limits wins key by key, and a flat key limits lacks is used.
	body = validBuild(f.alloc[0])
	body["memory"], body["threads"] = 9999, "2"
	doc = decode(t, f.do("PATCH", buildPath, body))
	if get(t, doc, "attributes.limits.memory") != 2048.0 || get(t, doc, "attributes.limits.threads") != nil {
		t.Errorf("limits vs flat: %v", get(t, doc, "attributes.limits"))
	}
	body = edit(validBuild(f.alloc[0]), "limits.threads", remove)
	body["threads"] = "2"
	doc = decode(t, f.do("PATCH", buildPath, body))
	if get(t, doc, "attributes.limits.threads") != "2" {
		t.Errorf("flat threads not taken when limits lacks it: %v", get(t, doc, "attributes.limits"))
	}
}

// owners returns the server id owning each allocation (0 = free).
func (f *fixture) owners(ids ...int) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		a, _ := f.sim.Allocation(id)
		out[i] = a.ServerID
	}
	return out
}

func TestBuildAllocations(t *testing.T) {
	type check struct {
		primary int   // index into alloc
		owners  []int // owners of alloc[0..5] then foreign
	}
	tests := []struct {
		name       string
		body       func(f *fixture) map[string]any
		wantStatus int
		wantDetail string
		want       check
	}{
		{
			name: "taken, foreign and already-own ids are skipped silently",
			body: func(f *fixture) map[string]any {
				b := validBuild(f.alloc[0])
				b["add_allocations"] = []int{f.alloc[4], f.alloc[3], f.foreign, f.alloc[1], f.alloc[4]}
				return b
			},
			wantStatus: 200, want: check{0, []int{1, 1, 2, 2, 1, 0, 0}},
		},
		{
			name: "remove an additional allocation",
			body: func(f *fixture) map[string]any {
				b := validBuild(f.alloc[0])
				b["remove_allocations"] = []int{f.alloc[1], f.alloc[3], f.alloc[5]} // others' and free ids are ignored
				return b
			},
			wantStatus: 200, want: check{0, []int{1, 0, 2, 2, 0, 0, 0}},
		},
		{
			name: "removing the primary without a fallback is a DisplayException",
			body: func(f *fixture) map[string]any {
				b := validBuild(f.alloc[0])
				b["remove_allocations"] = []int{f.alloc[0]}
				return b
			},
			wantStatus: 400, wantDetail: msgNoFallback, want: check{0, []int{1, 1, 2, 2, 0, 0, 0}},
		},
		{
			name: "a skipped add is no fallback",
			body: func(f *fixture) map[string]any {
				b := validBuild(f.alloc[0])
				b["add_allocations"] = []int{f.alloc[3]}
				b["remove_allocations"] = []int{f.alloc[0]}
				return b
			},
			wantStatus: 400, wantDetail: msgNoFallback, want: check{0, []int{1, 1, 2, 2, 0, 0, 0}},
		},
		{
			name: "removing the primary falls back to the first freshly added",
			body: func(f *fixture) map[string]any {
				b := validBuild(f.alloc[0])
				b["add_allocations"] = []int{f.alloc[5], f.alloc[4]}
				b["remove_allocations"] = []int{f.alloc[0]}
				return b
			},
			wantStatus: 200, want: check{4, []int{0, 1, 2, 2, 1, 1, 0}},
		},
		{
			name: "switching the primary to a port added in the same call",
			body: func(f *fixture) map[string]any {
				b := validBuild(f.alloc[5])
				b["add_allocations"] = []int{f.alloc[5]}
				return b
			},
			wantStatus: 200, want: check{5, []int{1, 1, 2, 2, 0, 1, 0}},
		},
		{
			name:       "switching the primary to an own additional allocation",
			body:       func(f *fixture) map[string]any { return validBuild(f.alloc[1]) },
			wantStatus: 200, want: check{1, []int{1, 1, 2, 2, 0, 0, 0}},
		},
		{
			name:       "switching the primary to a free port not added",
			body:       func(f *fixture) map[string]any { return validBuild(f.alloc[5]) },
			wantStatus: 400, wantDetail: msgPrimaryNotOwned, want: check{0, []int{1, 1, 2, 2, 0, 0, 0}},
		},
		{
			name: "an id in both lists is kept",
			body: func(f *fixture) map[string]any {
				b := validBuild(f.alloc[0])
				b["add_allocations"] = []int{f.alloc[4]}
				b["remove_allocations"] = []int{f.alloc[4], f.alloc[1]}
				return b
			},
			wantStatus: 200, want: check{0, []int{1, 0, 2, 2, 1, 0, 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			rec := f.do("PATCH", buildPath, tc.body(f))
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body.String())
			}
			if tc.wantDetail != "" {
				if e := expectError(t, rec, tc.wantStatus, "DisplayException"); e["detail"] != tc.wantDetail {
					t.Errorf("detail = %v", e["detail"])
				}
			}
			srv, _ := f.sim.Server(1)
			if srv.AllocationID != f.alloc[tc.want.primary] {
				t.Errorf("primary = %d, want %d", srv.AllocationID, f.alloc[tc.want.primary])
			}
			ids := append(slices.Clone(f.alloc[:6]), f.foreign)
			if got := f.owners(ids...); !slices.Equal(got, tc.want.owners) {
				t.Errorf("owners = %v, want %v", got, tc.want.owners)
			}
			if rec.Code == 200 {
				doc := decode(t, rec)
				if got := get(t, doc, "attributes.allocation"); got != float64(srv.AllocationID) {
					t.Errorf("response allocation = %v", got)
				}
			}
		})
	}
}

func TestBuildIsAtomic(t *testing.T) {
	f := newFixture(t, Config{})
	before, _ := f.sim.Server(1)
	f.clock.Advance(1)
	// The add of alloc[4] and the new limits are applied first, then the
	// primary check fails: all of it must be rolled back.
	body := validBuild(f.alloc[3]) // server 2's additional allocation
	body["add_allocations"] = []int{f.alloc[4]}
	body["remove_allocations"] = []int{f.alloc[1]}
	expectError(t, f.do("PATCH", buildPath, body), 400, "DisplayException")

	after, _ := f.sim.Server(1)
	if !reflect.DeepEqual(after, before) {
		t.Errorf("server changed:\n before %+v\n after  %+v", before, after)
	}
	if got := f.owners(f.alloc[1], f.alloc[3], f.alloc[4]); !slices.Equal(got, []int{1, 2, 0}) {
		t.Errorf("owners of alloc[1], alloc[3], alloc[4] = %v, want [1 2 0]", got)
	}
}

func TestBuildStealRace(t *testing.T) {
	f := newFixture(t, Config{})
	f.sim.StealOnNextBuild(2, f.alloc[4])
	// Reads do not trigger the steal; the allocation is still listed as free.
	doc := decode(t, f.do("GET", "/api/application/nodes/1/allocations?filter[server_id]=0", nil))
	if n := len(get(t, doc, "data").([]any)); n != 7 {
		t.Fatalf("free allocations = %d, want 7", n)
	}
	body := validBuild(f.alloc[0])
	body["add_allocations"] = []int{f.alloc[4], f.alloc[5]}
	doc = decode(t, f.do("PATCH", buildPath+"?include=allocations", body))
	var ids []int
	for _, a := range get(t, doc, "attributes.relationships.allocations.data").([]any) {
		ids = append(ids, int(get(t, a, "attributes.id").(float64)))
	}
	if want := []int{f.alloc[0], f.alloc[1], f.alloc[5]}; !slices.Equal(ids, want) {
		t.Errorf("allocations after the race = %v, want %v (the stolen one silently skipped)", ids, want)
	}
	if got := f.owners(f.alloc[4]); got[0] != 2 {
		t.Errorf("stolen allocation owner = %d, want 2", got[0])
	}
	// The steal is used up.
	body["add_allocations"] = []int{f.alloc[6]}
	f.do("PATCH", buildPath, body)
	if got := f.owners(f.alloc[6]); got[0] != 1 {
		t.Errorf("second PATCH: owner = %d, want 1", got[0])
	}
}

func TestBuildIsIdempotent(t *testing.T) {
	f := newFixture(t, Config{})
	body := validBuild(f.alloc[5])
	body["add_allocations"] = []int{f.alloc[5]}
	body["remove_allocations"] = []int{f.alloc[1]}
	first := f.do("PATCH", buildPath, body)
	second := f.do("PATCH", buildPath, body)
	if first.Code != 200 || second.Code != 200 || first.Body.String() != second.Body.String() {
		t.Errorf("re-sending the full state is not a no-op:\n%s\n%s", first.Body.String(), second.Body.String())
	}
}

func TestWingsSyncFailure(t *testing.T) {
	for _, tc := range []struct {
		flavor     Flavor
		wantStatus int
	}{
		{Pterodactyl, 200}, // an HTTP error from Wings is caught and logged
		{Pelican, 500},     // RequestException is not caught: 500 after commit
	} {
		t.Run(tc.flavor.String(), func(t *testing.T) {
			f := newFixture(t, Config{Flavor: tc.flavor})
			f.sim.FailWingsSync(1)
			body := edit(validBuild(f.alloc[0]), "limits.memory", 8192)
			rec := f.do("PATCH", buildPath, body)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body.String())
			}
			if tc.wantStatus == 500 {
				if e := expectError(t, rec, 500, "RequestException"); e["detail"] != genericErrorDetail {
					t.Errorf("detail = %v", e["detail"])
				}
			}
			doc := decode(t, f.do("GET", "/api/application/servers/1", nil))
			if got := get(t, doc, "attributes.limits.memory"); got != 8192.0 {
				t.Errorf("memory after the sync failure = %v, want the committed 8192", got)
			}
			if rec := f.do("PATCH", buildPath, body); rec.Code != 200 {
				t.Errorf("retry = %d, want 200", rec.Code)
			}
		})
	}
}

func TestBuildPelican(t *testing.T) {
	valid := func(f *fixture) map[string]any {
		b := edit(validBuild(f.alloc[0]), "oom_disabled", remove)
		b["oom_killer"] = false
		return b
	}
	tests := []struct {
		name       string
		body       func(f *fixture) map[string]any
		wantStatus int
		wantCode   string
		wantRules  []string
		check      func(t *testing.T, f *fixture, srv Server)
	}{
		{
			name: "oom_killer false disables the OOM killer", body: valid, wantStatus: 200,
			check: func(t *testing.T, f *fixture, srv Server) {
				doc := decode(t, f.do("GET", "/api/application/servers/1", nil))
				if get(t, doc, "attributes.limits.oom_killer") != false || get(t, doc, "attributes.limits.oom_disabled") != true {
					t.Errorf("limits = %v", get(t, doc, "attributes.limits"))
				}
				if _, hasNest := get(t, doc, "attributes").(map[string]any)["nest"]; hasNest {
					t.Error("Pelican servers have no nest")
				}
			},
		},
		{
			name: "oom_disabled is dropped",
			body: func(f *fixture) map[string]any {
				b := valid(f)
				delete(b, "oom_killer")
				b["oom_disabled"] = false
				return b
			},
			wantStatus: 200,
			check: func(t *testing.T, _ *fixture, srv Server) {
				if !srv.Limits.OOMDisabled {
					t.Error("oom_disabled was applied")
				}
			},
		},
		{
			name: "flat fields are ignored and omitted limits stay",
			body: func(f *fixture) map[string]any {
				b := edit(valid(f), "limits", remove)
				b["memory"], b["swap"], b["disk"], b["io"], b["cpu"] = 9999, 0, 1, 500, 1
				return b
			},
			wantStatus: 200,
			check: func(t *testing.T, _ *fixture, srv Server) {
				if srv.Limits.Memory != 1024 || srv.Limits.Disk != 5120 {
					t.Errorf("limits = %+v, want unchanged", srv.Limits)
				}
				if srv.FeatureLimits.Allocations == nil || *srv.FeatureLimits.Allocations != 3 {
					t.Error("feature limits were not applied")
				}
			},
		},
		{
			name: "io 0 is allowed",
			body: func(f *fixture) map[string]any { return edit(valid(f), "limits.io", 0) }, wantStatus: 200,
		},
		{
			name: "limits still need all five",
			body: func(f *fixture) map[string]any { return edit(valid(f), "limits.io", remove) }, wantStatus: 422,
			wantRules: []string{"limits.io required_with"},
		},
		{
			name: "feature limits are identical",
			body: func(f *fixture) map[string]any { return edit(valid(f), "feature_limits.backups", remove) }, wantStatus: 422,
			wantRules: []string{"feature_limits.backups present"},
		},
		{
			name: "another server's primary fails unique only",
			body: func(f *fixture) map[string]any { return edit(valid(f), "allocation", f.alloc[2]) }, wantStatus: 422,
			wantRules: []string{"allocation unique"},
		},
		{
			name: "omitted allocation is a 500",
			body: func(f *fixture) map[string]any { return edit(valid(f), "allocation", remove) }, wantStatus: 500,
			wantCode: "ErrorException",
		},
		{
			name: "removing the primary falls back to the first remaining allocation",
			body: func(f *fixture) map[string]any {
				b := valid(f)
				b["remove_allocations"] = []int{f.alloc[0]}
				return b
			},
			wantStatus: 200,
			check: func(t *testing.T, f *fixture, srv Server) {
				if srv.AllocationID != f.alloc[1] || len(srv.AdditionalAllocations) != 0 {
					t.Errorf("primary %d, additional %v; want %d and none", srv.AllocationID, srv.AdditionalAllocations, f.alloc[1])
				}
			},
		},
		{
			name: "removing every allocation leaves no primary",
			body: func(f *fixture) map[string]any {
				b := valid(f)
				b["remove_allocations"] = []int{f.alloc[0], f.alloc[1]}
				return b
			},
			wantStatus: 200,
			check: func(t *testing.T, f *fixture, srv Server) {
				doc := decode(t, f.do("GET", "/api/application/servers/1", nil))
				if srv.AllocationID != 0 || get(t, doc, "attributes.allocation") != nil {
					t.Errorf("primary = %d, want none", srv.AllocationID)
				}
			},
		},
		{
			name: "a primary the server does not own is a 404, rolled back",
			body: func(f *fixture) map[string]any {
				b := edit(valid(f), "allocation", f.alloc[5])
				b["add_allocations"] = []int{f.alloc[4]}
				return b
			},
			wantStatus: 404, wantCode: "NotFoundHttpException",
			check: func(t *testing.T, f *fixture, srv Server) {
				if got := f.owners(f.alloc[4]); got[0] != 0 || srv.Limits.Memory != 1024 {
					t.Errorf("not rolled back: owner %d, memory %d", got[0], srv.Limits.Memory)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{Flavor: Pelican, Keys: []APIKey{{Token: pelicanKey}, {Token: testKey}}})
			rec := f.do("PATCH", buildPath, tc.body(f), withHeader("Authorization", "Bearer "+pelicanKey))
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body.String())
			}
			if tc.wantCode != "" {
				expectError(t, rec, tc.wantStatus, tc.wantCode)
			}
			if tc.wantRules != nil {
				if got := failedRules(t, rec); !slices.Equal(got, tc.wantRules) {
					t.Errorf("failed rules = %q, want %q", got, tc.wantRules)
				}
			}
			if tc.check != nil {
				srv, _ := f.sim.Server(1)
				tc.check(t, f, srv)
			}
		})
	}
}
