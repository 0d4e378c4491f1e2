package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/internal/laravelcrypt"
	"github.com/upsell-io/upsell/internal/testdb"
)

// These tests build the real binary and drive it as a provider would.

func buildBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "upsell")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func env(t *testing.T, db *testdb.DB, listen string) []string {
	t.Helper()
	sockets, err := os.MkdirTemp("", "upc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockets) })
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"UPSELL_DATABASE_DSN=" + db.DSN,
		"UPSELL_PANEL_BASE_URL=https://panel.example",
		"UPSELL_PANEL_APP_KEY=" + appKey(t),
		"UPSELL_HTTP_LISTEN=" + listen,
		"UPSELL_HTTP_PUBLIC_URL=https://panel.example/upsell",
		"UPSELL_SECURITY_ADMIN_TOKEN=admin-token-0123456789abcdef0123456789",
		"UPSELL_SECURITY_LINK_SECRET=link-secret-0123456789abcdef0123456789",
		"UPSELL_SECURITY_WEBHOOK_SECRET=hook-secret-0123456789abcdef0123456789",
		"UPSELL_PLUGINS_SOCKET_DIR=" + sockets,
		"UPSELL_LOG_LEVEL=warn",
	}
}

func appKey(t *testing.T) string {
	t.Helper()
	k, err := laravelcrypt.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k.AppKey()
}

func panelDB(t *testing.T) *testdb.DB {
	t.Helper()
	db := testdb.New(t)
	ctx := context.Background()
	if err := schema.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := schema.Seed(ctx, db, schema.SeedOptions{}); err != nil {
		t.Fatal(err)
	}
	return db
}

func tableCount(t *testing.T, db *testdb.DB) int {
	t.Helper()
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	bin := buildBinary(t)
	db := panelDB(t)
	before := tableCount(t, db)
	run := func() string {
		cmd := exec.Command(bin, "migrate")
		cmd.Env = env(t, db, "127.0.0.1:0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("upsell migrate: %v\n%s", err, out)
		}
		return string(out)
	}
	first := run()
	if !strings.Contains(first, "applied host") {
		t.Fatalf("first migrate applied nothing:\n%s", first)
	}
	created := tableCount(t, db)
	if created <= before {
		t.Fatalf("no tables created (%d -> %d)", before, created)
	}
	second := run()
	if strings.Contains(second, "applied") {
		t.Fatalf("second migrate applied something:\n%s", second)
	}
	if tableCount(t, db) != created {
		t.Fatal("second migrate changed the tables")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type pluginStatus struct {
	Name  string
	State string
	PID   int
}

// TestKill9LeavesNoPlugin starts `upsell serve`, waits until it is ready,
// kills it with SIGKILL and checks that every plugin process is gone.
func TestKill9LeavesNoPlugin(t *testing.T) {
	bin := buildBinary(t)
	db := panelDB(t)
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	e := append(env(t, db, addr), "UPSELL_HTTP_METRICS_LISTEN="+metricsAddr)
	mig := exec.Command(bin, "migrate")
	mig.Env = e
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	serve := exec.Command(bin, "serve")
	serve.Env = e
	serve.Stderr = os.Stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill() })

	base := "http://" + addr
	for !ready(base) {
		if serve.ProcessState != nil {
			t.Fatal("serve exited")
		}
		time.Sleep(50 * time.Millisecond)
	}
	plugins := listPlugins(t, base)
	if len(plugins) == 0 {
		t.Fatal("no plugins running")
	}
	// The scrape is on its own listener, without a token, and only there.
	metrics := get(t, "http://"+metricsAddr+"/metrics", "")
	if !strings.Contains(metrics, "upsell_plugin_up") {
		t.Fatal("/metrics lacks upsell_plugin_up")
	}
	if code := statusOf(t, base+"/metrics", "admin-token-0123456789abcdef0123456789"); code != http.StatusNotFound {
		t.Fatalf("/metrics on the API listener with a metrics listener configured: %d, want 404", code)
	}
	if err := serve.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = serve.Wait()
	for _, p := range plugins {
		for alive(p.PID) {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func ready(base string) bool {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func get(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b.String())
	}
	return b.String()
}

// statusOf is the status GET url answers.
func statusOf(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func listPlugins(t *testing.T, base string) []pluginStatus {
	t.Helper()
	var body struct{ Plugins []pluginStatus }
	if err := json.Unmarshal([]byte(get(t, base+"/api/v1/admin/plugins", "admin-token-0123456789abcdef0123456789")), &body); err != nil {
		t.Fatal(err)
	}
	for _, p := range body.Plugins {
		if p.State != "running" || p.PID == 0 {
			t.Fatalf("plugin %+v not running", p)
		}
	}
	return body.Plugins
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses: "Z" is a zombie.
	_, rest, ok := strings.Cut(string(b), ") ")
	return ok && !strings.HasPrefix(rest, "Z")
}
