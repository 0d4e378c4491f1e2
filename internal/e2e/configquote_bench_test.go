package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// BenchmarkConfigQuote measures the public Build-Your-Own quote (every
// slider move of a pricing page) through upsell: HTTP -> host -> the
// configoptions process, which prices from its catalog snapshot. "bare" runs
// the same validation and pricing in-process behind net/http: the difference
// is what the plugin boundary costs.
func BenchmarkConfigQuote(b *testing.B) {
	e := newEnv(b)
	ids := seedVPS(b, e)
	body, _ := json.Marshal(map[string]any{"service_type": "vps", "choices": []map[string]any{
		{"option_id": ids["cpu_cores"], "quantity": 4}, {"option_id": ids["ram_gb"], "quantity": 8}, {"option_id": ids["disk_gb"], "quantity": 100}}})
	post := func(b *testing.B, c *http.Client, url string) {
		resp, err := c.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("quote: %s", resp.Status)
		}
	}
	b.Run("upsell", func(b *testing.B) {
		c := e.http.Client()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				post(b, c, e.http.URL+"/m/configoptions/quote")
			}
		})
	})
	b.Run("bare", func(b *testing.B) {
		// The same catalog, validated and priced in this process.
		seeded := catalog.SeedGroups()[0]
		for i := range seeded.Options {
			seeded.Options[i].ID = ids[seeded.Options[i].ProvisioningKey]
		}
		choices := []catalog.Choice{{OptionID: ids["cpu_cores"], Quantity: 4}, {OptionID: ids["ram_gb"], Quantity: 8}, {OptionID: ids["disk_gb"], Quantity: 100}}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var in map[string]any
			_ = json.NewDecoder(r.Body).Decode(&in)
			sel, err := catalog.Validate([]catalog.Group{seeded}, choices)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			out := map[string]string{}
			for _, t := range []catalog.Term{catalog.Monthly, catalog.Quarterly, catalog.SemiAnnual, catalog.Annual, catalog.Hourly} {
				q, err := catalog.PriceBYO(sel, t)
				if err == nil {
					out[string(t)] = q.Total.String()
				}
			}
			_ = json.NewEncoder(w).Encode(out)
		}))
		defer srv.Close()
		c := srv.Client()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				post(b, c, srv.URL)
			}
		})
	})
}

// seedVPS loads the Build-Your-Own seed groups and returns the VPS group's
// option ids by provisioning key.
func seedVPS(t testing.TB, e *env) map[string]uint64 {
	if r := e.do("POST", "/m/configoptions/admin/seed", e.admin(), nil); r.code != http.StatusOK {
		t.Fatalf("seed: %d %s", r.code, r.body)
	}
	var list struct {
		Groups []struct {
			ID          uint64 `json:"id"`
			ServiceType string `json:"service_type"`
		} `json:"groups"`
	}
	e.do("GET", "/m/configoptions/admin/groups", e.admin(), nil).decode(t, &list)
	var doc struct {
		Options []struct {
			ID  uint64 `json:"id"`
			Key string `json:"provisioning_key"`
		} `json:"options"`
	}
	for _, g := range list.Groups {
		if g.ServiceType == "vps" {
			e.do("GET", "/m/configoptions/admin/groups/"+strconv.FormatUint(g.ID, 10), e.admin(), nil).decode(t, &doc)
		}
	}
	ids := map[string]uint64{}
	for _, o := range doc.Options {
		ids[o.Key] = o.ID
	}
	return ids
}
