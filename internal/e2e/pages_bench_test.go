package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

// pageBenchServices is how many distinct services the page benchmarks
// cycle through: no reply the host may reuse hides the module round trip,
// since each request names a service the previous ones did not.
const pageBenchServices = 64

// BenchmarkPages measures each client page against the JSON route that
// carries the same figures, side by side in one loop (so the noise of a
// shared machine falls on both alike): time to first byte of each, their
// ratio (target: a page under 2x its JSON route) and the page's bytes
// (target: under 100 KB before images). The page is the whole HTML the
// browser gets; the stylesheet and script are fetched once and cached by
// name, so they are reported apart (assets-B).
func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	for range 3 {
		e.ramPackage()
	}
	type target struct {
		id      uint64
		link    string
		browser *http.Client
	}
	targets := make([]target, pageBenchServices)
	for i := range targets {
		id := e.seeded.ServiceID
		if i > 0 {
			id = e.addService()
		}
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Transport: e.http.Client().Transport}
		link := e.link(e.seeded.UserID, id, time.Hour)
		// The panel's button: the link is exchanged for the session
		// cookie once, as a browser does.
		resp, err := c.Get(e.http.URL + "/m/microupsell/shop?link=" + link)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("open the shop of service %d: %s", id, resp.Status)
		}
		targets[i] = target{id: id, link: link, browser: c}
	}

	var assets int
	for _, name := range []string{"upsell.css", "upsell.js", "theme.css"} {
		_, n := ttfb(b, e.http.Client(), "GET", e.http.URL+"/assets/"+name, nil, "")
		assets += n
	}

	b.Run("shop", func(b *testing.B) {
		var page, json time.Duration
		var bytes int
		i := 0
		for b.Loop() {
			t := targets[i%len(targets)]
			i++
			d, _ := ttfb(b, e.http.Client(), "GET", e.http.URL+"/m/microupsell/packages", map[string]string{"X-Upsell-Link": t.link}, "")
			json += d
			d, n := ttfb(b, t.browser, "GET", fmt.Sprintf("%s/m/microupsell/shop?service=%d", e.http.URL, t.id), nil, "")
			page += d
			bytes = n
		}
		reportPage(b, page, json, bytes, assets)
	})

	ids := seedVPS(b, e)
	b.Run("configurator", func(b *testing.B) {
		var page, json time.Duration
		var bytes int
		// The public quote the page's summary shows, for the same sliders:
		// 4 cores, 8 GB, 100 GB.
		body := fmt.Sprintf(`{"service_type":"vps","choices":[{"option_id":%d,"quantity":4},{"option_id":%d,"quantity":8},{"option_id":%d,"quantity":100}]}`,
			ids["cpu_cores"], ids["ram_gb"], ids["disk_gb"])
		query := fmt.Sprintf("type=vps&o%d=4&o%d=8&o%d=100", ids["cpu_cores"], ids["ram_gb"], ids["disk_gb"])
		for b.Loop() {
			d, _ := ttfb(b, e.http.Client(), "POST", e.http.URL+"/m/configoptions/quote", map[string]string{"Content-Type": "application/json"}, body)
			json += d
			d, n := ttfb(b, e.http.Client(), "GET", e.http.URL+"/m/configoptions/configure?"+query, nil, "")
			page += d
			bytes = n
		}
		reportPage(b, page, json, bytes, assets)
	})
}

func reportPage(b *testing.B, page, json time.Duration, bytes, assets int) {
	n := float64(b.N)
	b.ReportMetric(float64(page.Microseconds())/n, "page-us")
	b.ReportMetric(float64(json.Microseconds())/n, "json-us")
	b.ReportMetric(float64(page)/float64(json), "page/json")
	b.ReportMetric(float64(bytes), "page-B")
	b.ReportMetric(float64(assets), "assets-B")
	if bytes > 100<<10 {
		b.Errorf("the page is %d bytes; the budget is 100 KB before images", bytes)
	}
}

// ttfb sends a request and returns the time until the reply's header
// arrived and the body's size. A 4xx or 5xx fails the benchmark, and so
// does a JSON route that answers with a refusal (a seed the benchmark did
// not set up must not pass as a fast answer).
func ttfb(b testing.TB, c *http.Client, method, url string, header map[string]string, body string) (time.Duration, int) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		b.Fatalf("%s %s: %s", method, url, resp.Status)
	}
	return d, int(n)
}
