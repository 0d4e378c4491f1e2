package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/supervisor"
)

// TestThirdPartyAdapterLoadsByChecksum builds examples/adapter-skeleton as a
// separate binary, registers it with its sha256, and checks that
// `upsell serve` runs it, then refuses it once the file is tampered with.
func TestThirdPartyAdapterLoadsByChecksum(t *testing.T) {
	bin := buildBinary(t)
	pluginDir := t.TempDir()
	skeleton := filepath.Join(pluginDir, "upsell-adapter-filepanel")
	build := exec.Command("go", "build", "-o", skeleton, ".")
	build.Dir = filepath.Join("..", "..", "examples", "adapter-skeleton")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build skeleton: %v\n%s", err, out)
	}
	sum, err := supervisor.FileSHA256(skeleton)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "upsell.yaml")
	yaml := "plugins:\n  dir: " + pluginDir + "\n  max_restarts: 1\n  restart_backoff: 10ms\n  external:\n" +
		"    - name: filepanel\n      kind: adapter\n      path: upsell-adapter-filepanel\n      sha256: \"" + sum + "\"\n"
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	db := panelDB(t)
	addr := freeAddr(t)
	e := append(env(t, db, addr), "UPSELL_CONFIG="+cfgFile)
	mig := exec.Command(bin, "migrate")
	mig.Env = e
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}

	serve := func() (*exec.Cmd, string) {
		cmd := exec.Command(bin, "serve")
		cmd.Env = e
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		base := "http://" + addr
		for {
			resp, err := http.Get(base + "/healthz")
			if err == nil {
				resp.Body.Close()
				return cmd, base
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	stop := func(cmd *exec.Cmd) {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}

	cmd, base := serve()
	for !ready(base) {
		time.Sleep(50 * time.Millisecond)
	}
	body := get(t, base+"/api/v1/admin/plugins", "admin-token-0123456789abcdef0123456789")
	if !strings.Contains(body, `"Name":"filepanel"`) || !strings.Contains(body, `"State":"running"`) {
		t.Fatalf("skeleton not running: %s", body)
	}
	stop(cmd)

	// Tamper: one byte more and the registered checksum no longer matches.
	f, err := os.OpenFile(skeleton, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte{0})
	f.Close()
	cmd, base = serve()
	defer stop(cmd)
	for {
		body = get(t, base+"/api/v1/admin/plugins", "admin-token-0123456789abcdef0123456789")
		if strings.Contains(body, `"State":"failed"`) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, "checksum") {
		t.Fatalf("tampered skeleton: %s", body)
	}
	if ready(base) {
		t.Fatal("/readyz is OK with a refused plugin")
	}
}
