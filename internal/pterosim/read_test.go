package pterosim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// ids returns the attributes.id of each item of a list document.
func ids(t *testing.T, doc map[string]any) []int {
	t.Helper()
	var out []int
	for _, item := range get(t, doc, "data").([]any) {
		out = append(out, int(get(t, item, "attributes.id").(float64)))
	}
	return out
}

func TestGetServer(t *testing.T) {
	f := newFixture(t, Config{})
	tests := []struct {
		path   string
		wantID int // 0 means 404
	}{
		{"/api/application/servers/1", 1},
		{"/api/application/servers/2/", 2},
		{"/api/application/servers/external/ext-1", 1},
		{"/api/application/servers/external/ext-10", 2},
		{"/api/application/servers/external/ext-", 0}, // the route is an exact match, unlike filter[external_id]
		{"/api/application/servers/external/1", 0},    // an internal id is not an external id
		{"/api/application/servers/999", 0},
		{"/api/application/servers/abc", 0},
		{"/api/application/servers/ext-1", 0}, // {server:id} binds the internal id only
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			rec := f.do("GET", tc.path, nil)
			if tc.wantID == 0 {
				e := expectError(t, rec, 404, "NotFoundHttpException")
				if e["detail"] != "The requested resource could not be found on the server." {
					t.Errorf("detail = %v", e["detail"])
				}
				return
			}
			doc := decode(t, rec)
			if doc["object"] != "server" || get(t, doc, "attributes.id") != float64(tc.wantID) {
				t.Errorf("got %v", doc)
			}
		})
	}

	t.Run("transformer shape", func(t *testing.T) {
		doc := decode(t, f.do("GET", "/api/application/servers/1?include=allocations", nil))
		attrs := get(t, doc, "attributes").(map[string]any)
		srv, _ := f.sim.Server(1)
		want := map[string]any{
			"id": 1.0, "external_id": "ext-1", "uuid": srv.UUID, "identifier": srv.UUID[:8], "name": "alpha",
			"description": "", "status": nil, "suspended": false, "user": 7.0, "node": 1.0,
			"allocation": float64(f.alloc[0]), "nest": 1.0, "egg": 5.0,
			"limits.memory": 1024.0, "limits.swap": 0.0, "limits.disk": 5120.0, "limits.io": 500.0, "limits.cpu": 100.0,
			"limits.threads": nil, "limits.oom_disabled": true,
			"feature_limits.databases": 1.0, "feature_limits.allocations": nil, "feature_limits.backups": 2.0,
			"container.startup_command": "java -jar server.jar", "container.image": "ghcr.io/pterodactyl/yolks:java_17",
			"container.installed": 1.0, "container.environment.SERVER_JARFILE": "server.jar",
			"created_at": "2025-03-01T12:00:00+00:00", "updated_at": "2025-03-01T12:00:00+00:00",
			"relationships.allocations.object": "list",
		}
		for path, v := range want {
			if got := get(t, attrs, path); got != v {
				t.Errorf("%s = %#v, want %#v", path, got, v)
			}
		}
		allocs := get(t, attrs, "relationships.allocations.data").([]any)
		if len(allocs) != 2 {
			t.Fatalf("allocations = %v", allocs)
		}
		first := get(t, allocs[0], "attributes").(map[string]any)
		wantAlloc := map[string]any{"id": float64(f.alloc[0]), "ip": "10.0.0.1", "alias": nil, "port": 25565.0, "notes": nil, "assigned": true}
		if fmt.Sprint(first) != fmt.Sprint(wantAlloc) {
			t.Errorf("allocation = %v, want %v", first, wantAlloc)
		}
		if _, included := get(t, decode(t, f.do("GET", "/api/application/servers/1", nil)), "attributes").(map[string]any)["relationships"]; included {
			t.Error("relationships present without include")
		}
	})

	t.Run("node include", func(t *testing.T) {
		doc := decode(t, f.do("GET", "/api/application/servers/external/ext-10?include=node,egg", nil))
		if get(t, doc, "attributes.relationships.node.attributes.fqdn") != "a.example.test" {
			t.Errorf("node include = %v", get(t, doc, "attributes.relationships"))
		}
	})
}

func TestListServers(t *testing.T) {
	f := newFixture(t, Config{})
	tests := []struct {
		query      string
		wantStatus int
		wantIDs    []int
		wantCode   string
	}{
		{"", 200, []int{1, 2}, ""},
		// Plain query-builder filters are partial matches.
		{"filter[external_id]=ext-1", 200, []int{1, 2}, ""},
		{"filter[external_id]=ext-10", 200, []int{2}, ""},
		{"filter[external_id]=EXT-10", 200, []int{2}, ""},
		{"filter[external_id]=", 200, []int{1, 2}, ""},
		{"filter[name]=alpha,beta", 200, []int{1, 2}, ""},
		{"filter[image]=yolks", 200, []int{1}, ""},
		{"sort=-id", 200, []int{2, 1}, ""},
		{"per_page=1&page=2", 200, []int{2}, ""},
		{"filter[user]=7", 400, nil, "InvalidFilterQuery"},
		{"sort=name", 400, nil, "InvalidSortQuery"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			rec := f.do("GET", "/api/application/servers?"+tc.query, nil)
			if tc.wantCode != "" {
				expectError(t, rec, tc.wantStatus, tc.wantCode)
				return
			}
			if got := ids(t, decode(t, rec)); !slices.Equal(got, tc.wantIDs) {
				t.Errorf("ids = %v, want %v", got, tc.wantIDs)
			}
		})
	}
}

func TestGetNode(t *testing.T) {
	f := newFixture(t, Config{})
	doc := decode(t, f.do("GET", "/api/application/nodes/1", nil))
	want := map[string]any{
		"object": "node", "attributes.id": 1.0, "attributes.name": "node-a", "attributes.memory": 16384.0,
		"attributes.memory_overallocate": 10.0, "attributes.disk": 102400.0, "attributes.disk_overallocate": 0.0,
		"attributes.scheme": "https", "attributes.daemon_listen": 8080.0,
		// Sums over both servers on the node.
		"attributes.allocated_resources.memory": 3072.0, "attributes.allocated_resources.disk": 15360.0,
	}
	for path, v := range want {
		if got := get(t, doc, path); got != v {
			t.Errorf("%s = %v, want %v", path, got, v)
		}
	}
	expectError(t, f.do("GET", "/api/application/nodes/3", nil), 404, "NotFoundHttpException")
}

func TestListNodeAllocationsFilters(t *testing.T) {
	f := newFixture(t, Config{})
	free := append(slices.Clone(f.alloc[4:]), f.secondIP)
	all := append(slices.Clone(f.alloc), f.secondIP)
	tests := []struct {
		query    string
		want     []int
		wantCode string
	}{
		{"", all, ""},
		{"filter[server_id]=0", free, ""},
		{"filter[server_id]=false", free, ""},
		{"filter[server_id]=true", free, ""},
		{"filter[server_id]=abc", free, ""},
		// Empty is null and ignored: it returns everything, not the free ones.
		{"filter[server_id]=", all, ""},
		{"filter[server_id]=%20", all, ""},
		{"filter[server_id]=1", f.alloc[:2], ""},
		{"filter[server_id]=2", f.alloc[2:4], ""},
		{"filter[server_id]=00", nil, ""},
		{"filter[ip]=10.0.0.2", []int{f.secondIP}, ""},
		{"filter[ip]=10.0.0.1&filter[port]=25565,25574", []int{f.alloc[0], f.alloc[9]}, ""},
		{"filter[port]=25565&filter[server_id]=0", []int{f.secondIP}, ""},
		{"filter[ip_alias]=game", nil, ""},
		{"filter[server]=1", nil, "InvalidFilterQuery"},
		{"filter[assigned]=", nil, "InvalidFilterQuery"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			rec := f.do("GET", "/api/application/nodes/1/allocations?"+tc.query, nil)
			if tc.wantCode != "" {
				e := expectError(t, rec, 400, tc.wantCode)
				if want := "are not allowed. Allowed filter(s) are `ip, port, ip_alias, server_id`."; !strings.Contains(fmt.Sprint(e["detail"]), want) {
					t.Errorf("detail = %v", e["detail"])
				}
				return
			}
			if got := ids(t, decode(t, rec)); !slices.Equal(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
		})
	}
	expectError(t, f.do("GET", "/api/application/nodes/9/allocations", nil), 404, "NotFoundHttpException")

	doc := decode(t, f.do("GET", "/api/application/nodes/1/allocations?filter[server_id]=0", nil))
	for _, item := range get(t, doc, "data").([]any) {
		if get(t, item, "attributes.assigned") != false {
			t.Errorf("free-only filter returned %v", item)
		}
	}
}

func TestListNodeAllocationsPagination(t *testing.T) {
	f := newFixture(t, Config{})
	base := "http://example.com/api/application/nodes/1/allocations?page="
	tests := []struct {
		query          string
		wantCount      int
		wantPage       int
		wantPerPage    int
		wantTotalPages int
		wantLinks      map[string]any
	}{
		{"", 11, 1, 50, 1, map[string]any{}},
		{"per_page=4", 4, 1, 4, 3, map[string]any{"next": base + "2"}},
		{"per_page=4&page=2", 4, 2, 4, 3, map[string]any{"previous": base + "1", "next": base + "3"}},
		{"per_page=4&page=3", 3, 3, 4, 3, map[string]any{"previous": base + "2"}},
		{"per_page=4&page=7", 0, 7, 4, 3, map[string]any{"previous": base + "6"}},
		{"per_page=500", 11, 1, 500, 1, map[string]any{}}, // no upper cap
		{"per_page=abc&page=abc", 11, 1, 50, 1, map[string]any{}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			doc := decode(t, f.do("GET", "/api/application/nodes/1/allocations?"+tc.query, nil))
			want := map[string]any{
				"total": 11.0, "count": float64(tc.wantCount), "per_page": float64(tc.wantPerPage),
				"current_page": float64(tc.wantPage), "total_pages": float64(tc.wantTotalPages),
			}
			for k, v := range want {
				if got := get(t, doc, "meta.pagination."+k); got != v {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
			if got := get(t, doc, "meta.pagination.links"); fmt.Sprint(got) != fmt.Sprint(tc.wantLinks) {
				t.Errorf("links = %v, want %v", got, tc.wantLinks)
			}
			if n := len(get(t, doc, "data").([]any)); n != tc.wantCount {
				t.Errorf("len(data) = %d, want %d", n, tc.wantCount)
			}
		})
	}

	t.Run("walking the pages sees every allocation once", func(t *testing.T) {
		var seen []int
		for page := 1; ; page++ {
			doc := decode(t, f.do("GET", fmt.Sprintf("/api/application/nodes/1/allocations?per_page=3&page=%d", page), nil))
			seen = append(seen, ids(t, doc)...)
			if _, more := get(t, doc, "meta.pagination.links").(map[string]any)["next"]; !more {
				break
			}
		}
		if want := append(slices.Clone(f.alloc), f.secondIP); !slices.Equal(seen, want) {
			t.Errorf("seen %v, want %v", seen, want)
		}
	})

	t.Run("free-only filter paginates the filtered set", func(t *testing.T) {
		doc := decode(t, f.do("GET", "/api/application/nodes/1/allocations?filter[server_id]=0&per_page=5&page=2", nil))
		if got := ids(t, doc); !slices.Equal(got, []int{f.alloc[9], f.secondIP}) {
			t.Errorf("page 2 of free = %v", got)
		}
		if get(t, doc, "meta.pagination.total") != 7.0 {
			t.Errorf("total = %v, want 7", get(t, doc, "meta.pagination.total"))
		}
	})
}
