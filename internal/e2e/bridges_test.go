package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/auth"
)

// The panel-side bridges in examples/bridges, driven under php-cli through
// their bin/upsell-sign.php against the real daemon.

var bridgesDir = filepath.Join("..", "..", "examples", "bridges")

// bridgePHPTimeout bounds one php-cli run; the bridges' own HTTP timeout is 3 s.
const bridgePHPTimeout = 30 * time.Second

var bridgeDrivers = []struct{ name, driver string }{
	{"paymenter", filepath.Join(bridgesDir, "paymenter", "Upsell", "bin", "upsell-sign.php")},
	{"whmcs", filepath.Join(bridgesDir, "whmcs", "bin", "upsell-sign.php")},
}

// phpCLI finds php-cli: missing, the test is skipped, or fails under CI=true
// (CI installs php-cli).
func phpCLI(t *testing.T) string {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("php-cli is required under CI=true: %v", err)
		}
		t.Skipf("php-cli not installed: %v", err)
	}
	return php
}

type bridgePHPResult struct {
	stdout, stderr string
	exit           int
}

// runPHP runs php with args and only PATH and env in its environment, so no
// UPSELL_* variable of the caller's shell leaks in.
func runBridgePHP(t *testing.T, php string, env []string, args ...string) bridgePHPResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bridgePHPTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, php, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := bridgePHPResult{stdout: strings.TrimSpace(stdout.String()), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
		res.exit = exit.ExitCode()
	default:
		t.Fatalf("php %v: %v\n%s", args, err, stderr.String())
	}
	return res
}

func TestBridge(t *testing.T) {
	php := phpCLI(t)
	for _, b := range bridgeDrivers {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t)
			webhookSecret := "UPSELL_WEBHOOK_SECRET=" + e.cfg.Security.WebhookSecret.Reveal()
			linkSecret := "UPSELL_LINK_SECRET=" + e.cfg.Security.LinkSecret.Reveal()
			hook := e.http.URL + "/webhooks/paymenter"

			o := e.buy(e.ramPackage(), "bridge-"+b.name)
			e.pay(o.InvoiceID)
			invoice := strconv.FormatUint(o.InvoiceID, 10)

			// (b) Forged deliveries: 401, nothing recorded.
			forged := []struct {
				name string
				env  []string
				mode string
			}{
				{"body changed after signing", []string{webhookSecret}, "webhook-tampered"},
				{"wrong secret", []string{"UPSELL_WEBHOOK_SECRET=not-the-daemons-secret-0123456789abcdef"}, "webhook"},
			}
			for _, f := range forged {
				r := runBridgePHP(t, php, f.env, b.driver, f.mode, hook, invoice)
				if r.stdout != "401" || r.exit != 3 {
					t.Fatalf("%s: got %q (exit %d), want 401\n%s", f.name, r.stdout, r.exit, r.stderr)
				}
			}
			if n := bridgeCount(e, "SELECT COUNT(*) FROM upsell_inbox"); n != 0 {
				t.Fatalf("forged webhooks recorded %d inbox rows", n)
			}
			if n := bridgeCount(e, "SELECT COUNT(*) FROM upsell_jobs"); n != 0 {
				t.Fatalf("forged webhooks enqueued %d jobs", n)
			}

			// (a) The signed webhook: 202, recorded once, and the order is
			// applied from it; a second delivery only counts.
			for i := 1; i <= 2; i++ {
				r := runBridgePHP(t, php, []string{webhookSecret}, b.driver, "webhook", hook, invoice)
				if r.stdout != "202" || r.exit != 0 {
					t.Fatalf("webhook %d: got %q (exit %d), want 202\n%s", i, r.stdout, r.exit, r.stderr)
				}
				checkBridgeInbox(e, o.InvoiceID, i)
			}
			e.drain()
			if got := e.order(o.ID); got.State != "applied" {
				t.Fatalf("order after the bridge's webhook: %+v", got)
			}

			// (c) Links minted under php.
			user, svc := strconv.FormatUint(e.seeded.UserID, 10), strconv.FormatUint(e.seeded.ServiceID, 10)
			mint := func(secretEnv, ttl string) string {
				r := runBridgePHP(t, php, []string{secretEnv}, b.driver, "link", user, svc, ttl)
				if r.exit != 0 || strings.Count(r.stdout, ".") != 5 {
					t.Fatalf("link %s: %q (exit %d)\n%s", ttl, r.stdout, r.exit, r.stderr)
				}
				return r.stdout
			}
			token := mint(linkSecret, "3600")
			checkBridgeToken(e, token, time.Hour)
			if c := bridgePackages(e, token); c != http.StatusOK {
				t.Fatalf("php link %q: %d, want 200", token, c)
			}
			parts := strings.Split(token, ".")
			mac := []byte(parts[5])
			mac[0] = flipBase64URL(mac[0])
			wrongSecret := mint("UPSELL_LINK_SECRET=not-the-daemons-secret-0123456789abcdef", "3600")
			expired := mint(linkSecret, "-60")
			// The daemon's security.link_ttl is one hour: a panel set to two
			// mints links the daemon refuses.
			tooLong := mint(linkSecret, "7200")
			for name, bad := range map[string]string{
				"mac changed":       strings.Join(append(parts[:5:5], string(mac)), "."),
				"service changed":   strings.Join([]string{parts[0], parts[1], strconv.FormatUint(e.seeded.ServiceID+1, 10), parts[3], parts[4], parts[5]}, "."),
				"wrong secret":      wrongSecret,
				"expired":           expired,
				"lifetime too long": tooLong,
			} {
				if c := bridgePackages(e, bad); c != http.StatusUnauthorized {
					t.Errorf("%s (%q): %d, want 401", name, bad, c)
				}
			}

			// The client URL, link in the query as a browser follows it.
			r := runBridgePHP(t, php, []string{linkSecret}, b.driver, "url", e.http.URL+"/", user, svc, "600")
			prefix := e.http.URL + "/m/microupsell/packages?link="
			if !strings.HasPrefix(r.stdout, prefix) {
				t.Fatalf("client URL %q does not start with %q", r.stdout, prefix)
			}
			checkBridgeToken(e, strings.TrimPrefix(r.stdout, prefix), 10*time.Minute)
			if c := bridgeGet(e, r.stdout); c != http.StatusOK {
				t.Fatalf("client URL %q: %d, want 200", r.stdout, c)
			}

			switch b.name {
			case "whmcs":
				checkWHMCSHooks(t, e, php, o.InvoiceID)
			case "paymenter":
				checkPaymenterPageLinks(t, e, php, b.driver)
			}
		})
	}
}

// checkPaymenterPageLinks drives the Paymenter bridge's page links under
// php: the service pages' URLs carry the service's link; a user link
// (service 0) verifies in Go as the user's alone and opens the daemon's
// user route but no service's; the checkout route's next must stay on the
// daemon's checkout page.
func checkPaymenterPageLinks(t *testing.T, e *env, php, driver string) {
	linkSecret := "UPSELL_LINK_SECRET=" + e.cfg.Security.LinkSecret.Reveal()
	user, svc := strconv.FormatUint(e.seeded.UserID, 10), strconv.FormatUint(e.seeded.ServiceID, 10)

	for page, path := range map[string]string{"shop": "/m/microupsell/shop", "change": "/m/configoptions/change"} {
		r := runBridgePHP(t, php, []string{linkSecret}, driver, "page", e.http.URL+"/", page, user, svc, "600")
		prefix := e.http.URL + path + "?link="
		if r.exit != 0 || !strings.HasPrefix(r.stdout, prefix) {
			t.Fatalf("%s page URL %q (exit %d) does not start with %q\n%s", page, r.stdout, r.exit, prefix, r.stderr)
		}
		checkBridgeToken(e, strings.TrimPrefix(r.stdout, prefix), 10*time.Minute)
	}
	if r := runBridgePHP(t, php, []string{linkSecret}, driver, "page", e.http.URL, "admin", user, svc, "600"); r.exit != 2 || r.stdout != "" {
		t.Fatalf("unknown page: %q (exit %d), want a usage error", r.stdout, r.exit)
	}

	// A user link: service 0, the one spelling Go signs, verified as the
	// user's alone.
	r := runBridgePHP(t, php, []string{linkSecret}, driver, "link", user, "0", "3600")
	if r.exit != 0 {
		t.Fatalf("user link: exit %d\n%s", r.exit, r.stderr)
	}
	userToken := r.stdout
	checkBridgeUserLink(e, userToken, time.Hour)
	serviceToken := runBridgePHP(t, php, []string{linkSecret}, driver, "link", user, svc, "3600").stdout
	// The user's link opens the checkout (refused for its missing
	// Idempotency-Key, after authentication) and no service's route; the
	// service's link is the reverse.
	for _, c := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"user link, checkout", "POST", "/m/configoptions/checkout", userToken, http.StatusUnprocessableEntity},
		{"user link, packages", "GET", "/m/microupsell/packages", userToken, http.StatusUnauthorized},
		{"service link, checkout", "POST", "/m/configoptions/checkout", serviceToken, http.StatusUnauthorized},
		{"service link, packages", "GET", "/m/microupsell/packages", serviceToken, http.StatusOK},
	} {
		if got := e.do(c.method, c.path, map[string]string{"X-Upsell-Link": c.token}, nil).code; got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}

	// The checkout route's next: a path and query under the daemon's
	// checkout page, nothing that leaves it or carries its own link.
	accepted := []string{
		"/m/configoptions/checkout",
		"/m/configoptions/checkout?product=3&plan=7",
		"/m/configoptions/checkout?product=3&plan=7&opt%5B12%5D=4&note=a%20b",
		"/m/configoptions/checkout/review?product=3",
		"/m/configoptions/checkout?back=/m/configoptions/configure",
		"/m/configoptions/checkout?",
		"/m/configoptions/checkout?linked=1&blink=2",
	}
	for _, next := range accepted {
		r := runBridgePHP(t, php, []string{linkSecret}, driver, "checkout", e.http.URL+"/", next, user, "600")
		sep := "?"
		if strings.Contains(next, "?") {
			sep = "&"
		}
		prefix := e.http.URL + next + sep + "link="
		if r.exit != 0 || !strings.HasPrefix(r.stdout, prefix) {
			t.Errorf("next %q: %q (exit %d), want %q<token>\n%s", next, r.stdout, r.exit, prefix, r.stderr)
			continue
		}
		checkBridgeUserLink(e, strings.TrimPrefix(r.stdout, prefix), 10*time.Minute)
	}
	// The accepted URL as the browser sends it: the daemon reads the link
	// from its query and lets the user through to the checkout.
	r = runBridgePHP(t, php, []string{linkSecret}, driver, "checkout", e.http.URL, "/m/configoptions/checkout?product=3", user, "600")
	if c := bridgeDo(e, "POST", r.stdout); c != http.StatusUnprocessableEntity {
		t.Fatalf("checkout URL %q: %d, want 422 (authenticated, no Idempotency-Key)", r.stdout, c)
	}
	refused := map[string]string{
		"empty":                      "",
		"absolute URL":               "https://evil.example/m/configoptions/checkout",
		"scheme-relative":            "//evil.example/m/configoptions/checkout",
		"double slash in path":       "/m/configoptions/checkout//evil.example",
		"double slash in query":      "/m/configoptions/checkout?u=//evil.example",
		"backslash":                  "/m/configoptions/checkout\\evil",
		"backslash host":             "/\\evil.example/m/configoptions/checkout",
		"CRLF":                       "/m/configoptions/checkout?a=1\r\nSet-Cookie:x=1",
		"LF":                         "/m/configoptions/checkout\n",
		"tab":                        "/m/configoptions/checkout?a=\t",
		"space":                      "/m/configoptions/checkout?a=b c",
		"other page":                 "/m/microupsell/shop",
		"prefix only":                "/m/configoptions/checkoutx",
		"no leading slash":           "m/configoptions/checkout",
		"dot-dot segment":            "/m/configoptions/checkout/../../../admin",
		"dot segment":                "/m/configoptions/checkout/./x",
		"encoded dot-dot":            "/m/configoptions/checkout/%2e%2e/%2e%2e/admin",
		"encoded slash":              "/m/configoptions/checkout%2f..%2fadmin",
		"fragment":                   "/m/configoptions/checkout?product=3#x",
		"own link":                   "/m/configoptions/checkout?link=v2.1.0.1.2.x",
		"own link after others":      "/m/configoptions/checkout?product=3&link=x",
		"own link, other case":       "/m/configoptions/checkout?LINK=x",
		"own link, escaped":          "/m/configoptions/checkout?%6cink=x",
		"bad escape":                 "/m/configoptions/checkout?a=%zz",
		"cut escape":                 "/m/configoptions/checkout?a=%4",
		"non-ASCII":                  "/m/configoptions/checkout?a=\u00e9",
		"too long":                   "/m/configoptions/checkout?a=" + strings.Repeat("x", 2048),
		"javascript scheme":          "javascript:alert(1)//m/configoptions/checkout",
		"userinfo trick":             "/m/configoptions/checkout@evil.example",
		"query before checkout path": "/?x=/m/configoptions/checkout",
	}
	for name, next := range refused {
		r := runBridgePHP(t, php, []string{linkSecret}, driver, "checkout", e.http.URL, next, user, "600")
		if r.exit != 4 || r.stdout != "" {
			t.Errorf("%s: next %q gave %q (exit %d), want refused (exit 4)\n%s", name, next, r.stdout, r.exit, r.stderr)
		}
	}
}

// checkBridgeUserLink asserts a php-minted token is the user link Go signs
// for the seeded user, living exactly ttl, and that VerifyLink accepts it as
// the user's alone.
func checkBridgeUserLink(e *env, token string, ttl time.Duration) {
	e.t.Helper()
	l, err := auth.VerifyLink([]byte(e.cfg.Security.LinkSecret.Reveal()), token, time.Now(), e.cfg.Security.LinkTTL)
	if err != nil {
		e.t.Fatalf("user link %q: %v", token, err)
	}
	if l.UserID != e.seeded.UserID || l.ServiceID != 0 || l.Lifetime() != ttl {
		e.t.Fatalf("user link %q: %+v, want user %d, service 0, lifetime %v", token, l, e.seeded.UserID, ttl)
	}
	if d := time.Since(l.Issued); d < -time.Minute || d > time.Minute {
		e.t.Fatalf("user link %q issued at %v, want about now", token, l.Issued)
	}
	if want := auth.SignLink([]byte(e.cfg.Security.LinkSecret.Reveal()), auth.NewLink(e.seeded.UserID, 0, l.Issued, ttl)); token != want {
		e.t.Fatalf("php user link %q, Go signs %q", token, want)
	}
}

// whmcsHookHarness loads upsell_hooks.php with stand-ins for WHMCS's add_hook
// and logActivity, then calls the hooks as WHMCS would.
const whmcsHookHarness = `
define('WHMCS', true);
$hooks = [];
function add_hook($name, $priority, $fn) { global $hooks; $hooks[$name] = $fn; }
function logActivity($message) { fwrite(STDERR, $message . "\n"); }
require getenv('T_HOOKS');
$_SESSION = ['uid' => (int) getenv('T_USER')];
$service = (object) ['id' => (int) getenv('T_SERVICE'), 'userid' => (int) getenv('T_USER'), 'domainstatus' => 'Active'];
$other = clone $service; $other->userid = $service->userid + 1;
$suspended = clone $service; $suspended->domainstatus = 'Suspended';
$hooks['InvoicePaid'](['invoiceid' => (int) getenv('T_INVOICE')]);
echo "own=", $hooks['ClientAreaProductDetailsOutput'](['service' => $service]), "\n";
echo "other=", $hooks['ClientAreaProductDetailsOutput'](['service' => $other]), "\n";
echo "suspended=", $hooks['ClientAreaProductDetailsOutput'](['service' => $suspended]), "\n";
`

var bridgeHrefRE = regexp.MustCompile(`href="([^"]+)"`)

// checkWHMCSHooks runs the WHMCS hooks themselves: InvoicePaid delivers the
// webhook (a third delivery of invoice), or only logs when the daemon is
// unreachable; the product details hook shows the owner of an active service
// a working link and nobody else anything.
func checkWHMCSHooks(t *testing.T, e *env, php string, invoice uint64) {
	hooks, err := filepath.Abs(filepath.Join(bridgesDir, "whmcs", "upsell_hooks.php"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(webhookURL string) bridgePHPResult {
		return runBridgePHP(t, php, []string{
			"T_HOOKS=" + hooks, "T_USER=" + strconv.FormatUint(e.seeded.UserID, 10),
			"T_SERVICE=" + strconv.FormatUint(e.seeded.ServiceID, 10), "T_INVOICE=" + strconv.FormatUint(invoice, 10),
			"UPSELL_URL=" + e.http.URL, "UPSELL_WEBHOOK_URL=" + webhookURL,
			"UPSELL_WEBHOOK_SECRET=" + e.cfg.Security.WebhookSecret.Reveal(), "UPSELL_LINK_SECRET=" + e.cfg.Security.LinkSecret.Reveal(),
		}, "-r", whmcsHookHarness)
	}
	r := run(e.http.URL + "/webhooks/paymenter")
	if r.exit != 0 || r.stderr != "" {
		t.Fatalf("hooks: exit %d\n%s\n%s", r.exit, r.stdout, r.stderr)
	}
	checkBridgeInbox(e, invoice, 3)
	out := map[string]string{}
	for _, line := range strings.Split(r.stdout, "\n") {
		k, v, _ := strings.Cut(line, "=")
		out[k] = v
	}
	if out["other"] != "" || out["suspended"] != "" {
		t.Fatalf("button shown to another client or for a suspended service: %q", r.stdout)
	}
	m := bridgeHrefRE.FindStringSubmatch(out["own"])
	if m == nil || !strings.Contains(out["own"], "Upgrade resources") {
		t.Fatalf("no upgrade button: %q", out["own"])
	}
	if c := bridgeGet(e, strings.ReplaceAll(m[1], "&amp;", "&")); c != http.StatusOK {
		t.Fatalf("button link %q: %d, want 200", m[1], c)
	}

	// The daemon down: the hook logs and returns; the payment goes on.
	r = run("http://127.0.0.1:1/webhooks/paymenter")
	if r.exit != 0 || !strings.Contains(r.stderr, "upsell: paid-invoice webhook for invoice") {
		t.Fatalf("hooks with the daemon down: exit %d\n%s\n%s", r.exit, r.stdout, r.stderr)
	}
	checkBridgeInbox(e, invoice, 3)
}

func bridgeCount(e *env, q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.Get(&n, q, args...); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// checkInbox asserts invoice's inbox row came first by webhook and was seen
// deliveries times, with exactly one job.
func checkBridgeInbox(e *env, invoice uint64, deliveries int) {
	e.t.Helper()
	var row struct {
		Source    string `db:"source"`
		SeenCount int    `db:"seen_count"`
		ID        uint64 `db:"id"`
	}
	if err := e.db.Get(&row, "SELECT id, source, seen_count FROM upsell_inbox WHERE panel = 'paymenter' AND invoice_id = ? AND kind = 'invoice.paid'", invoice); err != nil {
		e.t.Fatalf("inbox row of invoice %d: %v", invoice, err)
	}
	if row.Source != "webhook" || row.SeenCount != deliveries {
		e.t.Fatalf("inbox row %+v, want source webhook seen %d times", row, deliveries)
	}
	if n := bridgeCount(e, "SELECT COUNT(*) FROM upsell_jobs WHERE inbox_id = ?", row.ID); n != 1 {
		e.t.Fatalf("%d jobs for invoice %d, want 1", n, invoice)
	}
}

// checkBridgeToken asserts a php-minted token is the one Go signs for the
// same user, service, issue time and expiry, living exactly ttl and issued
// about now.
func checkBridgeToken(e *env, token string, ttl time.Duration) {
	e.t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 6 {
		e.t.Fatalf("token %q", token)
	}
	issued, err1 := strconv.ParseInt(parts[3], 10, 64)
	exp, err2 := strconv.ParseInt(parts[4], 10, 64)
	if err1 != nil || err2 != nil {
		e.t.Fatalf("token %q: %v %v", token, err1, err2)
	}
	if d := time.Since(time.Unix(issued, 0)); d < -time.Minute || d > time.Minute {
		e.t.Fatalf("token %q issued at %d, want about now", token, issued)
	}
	if got := time.Duration(exp-issued) * time.Second; got != ttl {
		e.t.Fatalf("token %q lives %v, want %v", token, got, ttl)
	}
	want := auth.SignLink([]byte(e.cfg.Security.LinkSecret.Reveal()), auth.Link{UserID: e.seeded.UserID, ServiceID: e.seeded.ServiceID, Issued: time.Unix(issued, 0), Expires: time.Unix(exp, 0)})
	if token != want {
		e.t.Fatalf("php token %q, Go signs %q", token, want)
	}
}

func bridgePackages(e *env, token string) int {
	e.t.Helper()
	return e.do("GET", "/m/microupsell/packages", map[string]string{"X-Upsell-Link": token}, nil).code
}

func bridgeGet(e *env, url string) int {
	e.t.Helper()
	return bridgeDo(e, http.MethodGet, url)
}

// bridgeDo sends a bodiless request to a full URL and returns the status.
func bridgeDo(e *env, method, url string) int {
	e.t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// flipped is another base64url character than c.
func flipBase64URL(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

// TestBridgePHPLint runs php -l on every PHP file of the bridges.
func TestBridgePHPLint(t *testing.T) {
	php := phpCLI(t)
	var files []string
	err := filepath.WalkDir(bridgesDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".php") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found only %d PHP files under %s: %v", len(files), bridgesDir, files)
	}
	for _, f := range files {
		if r := runBridgePHP(t, php, nil, "-l", f); r.exit != 0 {
			t.Errorf("php -l %s: exit %d\n%s\n%s", f, r.exit, r.stdout, r.stderr)
		}
	}
}

var paymenterDriver = bridgeDrivers[0].driver

// TestBridgePaymenterAdminLink mints admin links under php, as the Paymenter
// bridge's /admin/upsell route does, and checks each against Go: the token
// is the one auth.SignAdminLink signs for the same admin and times, the
// daemon's verifier takes it (or refuses it when expired or signed with
// another secret), and admin and client links never pass for each other.
func TestBridgePaymenterAdminLink(t *testing.T) {
	php := phpCLI(t)
	secret := "a-link-secret-for-the-admin-link-test-0123456789"
	secretEnv := []string{"UPSELL_LINK_SECRET=" + secret}
	key := auth.AdminLinkKey([]byte(secret))

	mint := func(env []string, args ...string) string {
		t.Helper()
		r := runBridgePHP(t, php, env, append([]string{paymenterDriver}, args...)...)
		if r.exit != 0 || r.stderr != "" {
			t.Fatalf("%v: %q (exit %d)\n%s", args, r.stdout, r.exit, r.stderr)
		}
		return r.stdout
	}

	for _, c := range []struct {
		name      string
		args      []string
		admin     uint64
		life      time.Duration
		expiresIn time.Duration // from now; negative: expired
	}{
		{"two minutes", []string{"admin-link", "7", "120"}, 7, 2 * time.Minute, 2 * time.Minute},
		{"default lifetime", []string{"admin-link", "42"}, 42, 2 * time.Minute, 2 * time.Minute},
		{"the longest", []string{"admin-link", "42", "300"}, 42, 5 * time.Minute, 5 * time.Minute},
		{"large admin id", []string{"admin-link", "18446744073709551", "60"}, 18446744073709551, time.Minute, time.Minute},
		{"expired", []string{"admin-link", "9", "-60"}, 9, time.Minute, -time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			token := mint(secretEnv, c.args...)
			parts := strings.Split(token, ".")
			if len(parts) != 5 || parts[0] != "al1" {
				t.Fatalf("token %q", token)
			}
			issued, err1 := strconv.ParseInt(parts[2], 10, 64)
			expires, err2 := strconv.ParseInt(parts[3], 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("token %q: %v %v", token, err1, err2)
			}
			l := auth.AdminLink{AdminID: c.admin, Issued: time.Unix(issued, 0), Expires: time.Unix(expires, 0)}
			if want := auth.SignAdminLink(key, l); token != want {
				t.Fatalf("php admin link %q, Go signs %q", token, want)
			}
			if got := l.Expires.Sub(l.Issued); got != c.life {
				t.Fatalf("token %q lives %v, want %v", token, got, c.life)
			}
			if d := time.Until(l.Expires) - c.expiresIn; d < -10*time.Second || d > 10*time.Second {
				t.Fatalf("token %q expires at %v, want %v from now", token, l.Expires, c.expiresIn)
			}
			got, err := auth.VerifyAdminLink(key, token, time.Now())
			switch {
			case c.expiresIn < 0 && err == nil:
				t.Fatalf("expired admin link %q verified: %+v", token, got)
			case c.expiresIn > 0 && (err != nil || got.AdminID != c.admin):
				t.Fatalf("admin link %q: %+v, %v; want admin %d", token, got, err, c.admin)
			}
			if _, err := auth.VerifyLink([]byte(secret), token, time.Now(), time.Hour); err == nil {
				t.Fatalf("admin link %q verified as a client link", token)
			}
		})
	}

	// Another panel's secret: well formed, refused.
	other := mint([]string{"UPSELL_LINK_SECRET=another-panels-link-secret-0123456789abcdef"}, "admin-link", "7", "120")
	if _, err := auth.VerifyAdminLink(key, other, time.Now()); err == nil {
		t.Fatalf("admin link under another secret %q verified", other)
	}
	// A client link, signed with the raw link secret, is no admin link.
	client := mint(secretEnv, "link", "7", "0", "120")
	if _, err := auth.VerifyAdminLink(key, client, time.Now()); err == nil {
		t.Fatalf("client link %q verified as an admin link", client)
	}

	// The console URL, with and without a trailing slash on the public URL.
	for _, base := range []string{"https://billing.example.com/upsell", "https://billing.example.com/upsell/"} {
		url := mint(secretEnv, "admin-url", base, "7", "120")
		prefix := "https://billing.example.com/upsell/console/?link="
		if !strings.HasPrefix(url, prefix) {
			t.Fatalf("console URL %q does not start with %q", url, prefix)
		}
		if l, err := auth.VerifyAdminLink(key, strings.TrimPrefix(url, prefix), time.Now()); err != nil || l.AdminID != 7 {
			t.Fatalf("console URL %q: %+v, %v", url, l, err)
		}
	}

	// Refused: usage errors (exit 2), nothing printed.
	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{"admin id 0", secretEnv, []string{"admin-link", "0", "120"}},
		{"negative admin id", secretEnv, []string{"admin-link", "-7", "120"}},
		{"non-numeric admin id", secretEnv, []string{"admin-link", "admin", "120"}},
		{"admin id with a leading zero", secretEnv, []string{"admin-link", "07", "120"}},
		{"admin id beyond int64", secretEnv, []string{"admin-link", "99999999999999999999", "120"}},
		{"ttl over 300", secretEnv, []string{"admin-link", "7", "301"}},
		{"ttl of an hour", secretEnv, []string{"admin-link", "7", "3600"}},
		{"ttl 0", secretEnv, []string{"admin-link", "7", "0"}},
		{"non-numeric ttl", secretEnv, []string{"admin-link", "7", "2m"}},
		{"fractional ttl", secretEnv, []string{"admin-link", "7", "1.5"}},
		{"no admin id", secretEnv, []string{"admin-link"}},
		{"extra argument", secretEnv, []string{"admin-link", "7", "120", "1"}},
		{"url: admin id 0", secretEnv, []string{"admin-url", "https://billing.example.com/upsell", "0", "120"}},
		{"url: ttl over 300", secretEnv, []string{"admin-url", "https://billing.example.com/upsell", "7", "301"}},
		{"url: no admin id", secretEnv, []string{"admin-url", "https://billing.example.com/upsell"}},
		{"no link secret", nil, []string{"admin-link", "7", "120"}},
		{"empty link secret", []string{"UPSELL_LINK_SECRET="}, []string{"admin-link", "7", "120"}},
	} {
		r := runBridgePHP(t, php, c.env, append([]string{paymenterDriver}, c.args...)...)
		if r.exit != 2 || r.stdout != "" {
			t.Errorf("%s: %q (exit %d), want a usage error (exit 2)\n%s", c.name, r.stdout, r.exit, r.stderr)
		}
	}
}

// TestBridgePaymenterConsoleSignIn follows the console URL the Paymenter
// bridge's /admin/upsell route redirects to, minted under php, on the real
// daemon: it signs panel admin 7 in (303 to the console with the session
// cookie), and a changed, expired, foreign or client link signs nobody in.
func TestBridgePaymenterConsoleSignIn(t *testing.T) {
	php := phpCLI(t)
	e := newEnv(t)
	linkSecret := []string{"UPSELL_LINK_SECRET=" + e.cfg.Security.LinkSecret.Reveal()}
	mint := func(env []string, args ...string) string {
		t.Helper()
		r := runBridgePHP(t, php, env, append([]string{paymenterDriver}, args...)...)
		if r.exit != 0 {
			t.Fatalf("%v: %q (exit %d)\n%s", args, r.stdout, r.exit, r.stderr)
		}
		return r.stdout
	}

	consoleURL := mint(linkSecret, "admin-url", e.http.URL+"/", "7", "120")
	prefix := e.http.URL + "/console/?link="
	if !strings.HasPrefix(consoleURL, prefix) {
		t.Fatalf("console URL %q does not start with %q", consoleURL, prefix)
	}
	b := e.adminBrowser(t)
	p := b.get(strings.TrimPrefix(consoleURL, e.http.URL), nil)
	cookie := p.header.Get("Set-Cookie")
	if p.code != http.StatusSeeOther || p.location != "/console/" || !strings.HasPrefix(cookie, "upsell_a=") {
		t.Fatalf("php console URL: %d %q, cookie %q; want 303 to /console/ with upsell_a", p.code, p.location, cookie)
	}
	for _, want := range []string{"HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("admin cookie %q lacks %s", cookie, want)
		}
	}
	if p := b.get("/console/", nil); p.code != http.StatusOK || !strings.Contains(p.body, "Signed in as panel admin 7") {
		t.Fatalf("console after the php link: %d\n%s", p.code, p.body)
	}
	var actor string
	if err := e.db.QueryRow("SELECT actor FROM upsell_audit WHERE action = 'console.sign_in'").Scan(&actor); err != nil || actor != "admin:7" {
		t.Errorf("sign-in audit actor = %q, %v; want admin:7", actor, err)
	}

	token := mint(linkSecret, "admin-link", "7", "120")
	parts := strings.Split(token, ".")
	mac := []byte(parts[4])
	mac[len(mac)/2] = flipBase64URL(mac[len(mac)/2])
	for name, bad := range map[string]string{
		"mac changed":      strings.Join(append(parts[:4:4], string(mac)), "."),
		"admin id changed": strings.Join(append([]string{parts[0], "8"}, parts[2:]...), "."),
		"expiry extended":  strings.Join([]string{parts[0], parts[1], parts[2], parts[3] + "0", parts[4]}, "."),
		"expired":          mint(linkSecret, "admin-link", "7", "-60"),
		"another secret":   mint([]string{"UPSELL_LINK_SECRET=another-panels-link-secret-0123456789abcdef"}, "admin-link", "7", "120"),
		"a client's link":  mint(linkSecret, "link", "7", "0", "120"),
	} {
		p := e.adminBrowser(t).get("/console/?link="+url.QueryEscape(bad), nil)
		if p.code != http.StatusUnauthorized || strings.Contains(p.header.Get("Set-Cookie"), "upsell_a") {
			t.Errorf("%s (%q): %d, cookie %q; want 401 and no session", name, bad, p.code, p.header.Get("Set-Cookie"))
		}
	}
}
