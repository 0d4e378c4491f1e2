package supervisor_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/hostapitest"
	. "github.com/upsell-io/upsell/internal/supervisor"
)

const envHostMode = "UPSELL_SUPERVISOR_TEST_HOST"

func TestMain(m *testing.M) {
	hostapitest.ServeIfRequested(map[string]func(){
		"crashy": func() { hostapi.ServeModule(crashyModule{}) },
	})
	if dir := os.Getenv(envHostMode); dir != "" {
		runTestHost(dir)
		return
	}
	os.Exit(m.Run())
}

// crashyModule dies when asked to, the way a real bug would: a panic
// outside any request, which no interceptor can catch.
type crashyModule struct{}

func (crashyModule) Describe(context.Context) (hostapi.ModuleInfo, error) {
	return hostapi.ModuleInfo{Name: "crashy", Version: "1.2.3", TablePrefix: "ext_crashy_"}, nil
}
func (crashyModule) Configure(context.Context, hostapi.Host, map[string]string) error { return nil }
func (crashyModule) HandleHTTP(_ context.Context, req hostapi.HTTPRequest) (hostapi.HTTPResponse, error) {
	if req.Path == "/crash" {
		go func() { panic("crashy module crashed") }()
		// Never answer: the panic ends the process first.
		select {}
	}
	return hostapi.HTTPResponse{Status: 200, Body: []byte(strconv.Itoa(os.Getpid()))}, nil
}
func (crashyModule) HandleEvent(context.Context, hostapi.Event) (hostapi.EventResult, error) {
	return hostapi.EventResult{}, nil
}

// installSelf copies the test binary into a plugin directory, as a provider
// installs a third-party plugin, and returns its path and sha256.
func installSelf(t *testing.T, dir string) (string, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "upsell-module-crashy")
	in, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
	sum, err := FileSHA256(dst)
	if err != nil {
		t.Fatal(err)
	}
	return dst, sum
}

func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ups")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func newSupervisor(t *testing.T, pluginDir string, maxRestarts int) *Supervisor {
	s := New(Options{
		PluginDir: pluginDir, SocketDir: shortDir(t), MaxRestarts: maxRestarts,
		RestartBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	t.Cleanup(s.Stop)
	return s
}

func crashySpec(path, sum string) Spec {
	return Spec{Name: "crashy", Kind: hostapi.KindModule, Command: path, SHA256: sum,
		Env: []string{hostapitest.EnvServe + "=crashy"}}
}

// waitState polls the supervisor (no wall-clock assertion: the test binary's
// own -timeout bounds it).
func waitState(t *testing.T, s *Supervisor, want State, restarts int) Status {
	t.Helper()
	for {
		st := s.Statuses()[0]
		if st.State == want && st.Restarts >= restarts {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pidOf(t *testing.T, s *Supervisor) int {
	t.Helper()
	m, err := s.Module("crashy")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.HandleHTTP(context.Background(), hostapi.HTTPRequest{Path: "/pid"})
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(resp.Body))
	return pid
}

func TestCrashedPluginIsRestarted(t *testing.T) {
	dir := shortDir(t)
	path, sum := installSelf(t, dir)
	s := newSupervisor(t, dir, 3)
	if err := s.Start(context.Background(), []Spec{crashySpec(path, sum)}); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, s, Running, 0)
	if st.Version != "1.2.3" || st.PID == 0 {
		t.Fatalf("status after start: %+v", st)
	}
	first := pidOf(t, s)
	m, _ := s.Module("crashy")
	_, err := m.HandleHTTP(context.Background(), hostapi.HTTPRequest{Path: "/crash"})
	if !errors.Is(err, hostapi.ErrUnavailable) {
		t.Fatalf("call into a crashing plugin: %v", err)
	}
	waitState(t, s, Running, 1)
	if second := pidOf(t, s); second == first || second == 0 {
		t.Fatalf("plugin not restarted: pid %d then %d", first, second)
	}
	if processAlive(first) {
		t.Fatalf("crashed plugin %d still running", first)
	}
}

func TestGivesUpAfterRestartLimit(t *testing.T) {
	dir := shortDir(t)
	path, sum := installSelf(t, dir)
	s := newSupervisor(t, dir, 2)
	if err := s.Start(context.Background(), []Spec{crashySpec(path, sum)}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		waitState(t, s, Running, i-1)
		m, err := s.Module("crashy")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = m.HandleHTTP(context.Background(), hostapi.HTTPRequest{Path: "/crash"})
	}
	st := waitState(t, s, Failed, 3)
	if !strings.Contains(st.LastError, "gave up after 2 restarts") {
		t.Fatalf("failed status: %+v", st)
	}
	if _, err := s.Module("crashy"); !errors.Is(err, hostapi.ErrUnavailable) {
		t.Fatalf("failed module still handed out: %v", err)
	}
}

func TestTamperedBinaryIsRefused(t *testing.T) {
	dir := shortDir(t)
	path, sum := installSelf(t, dir)
	// Append a byte: the file still runs, but is not what was registered.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	s := newSupervisor(t, dir, 1)
	if err := s.Start(context.Background(), []Spec{crashySpec(path, sum)}); err != nil {
		t.Fatal(err)
	}
	// Refused outright, not retried: the file cannot start matching.
	st := waitState(t, s, Failed, 0)
	if !strings.Contains(st.LastError, "checksum") || !strings.Contains(st.LastError, "refusing to run plugin crashy") || st.Restarts != 0 || st.PID != 0 {
		t.Fatalf("tampered binary: %+v", st)
	}
}

func TestBinaryOutsidePluginDirIsRefused(t *testing.T) {
	dir, other := shortDir(t), shortDir(t)
	path, sum := installSelf(t, other)
	link := filepath.Join(dir, "escape")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	s := newSupervisor(t, dir, 1)
	for _, cmd := range []string{path, link, "../" + filepath.Base(other) + "/upsell-module-crashy"} {
		if err := s.Start(context.Background(), []Spec{crashySpec(cmd, sum)}); err == nil || !strings.Contains(err.Error(), "outside the plugin directory") {
			t.Errorf("%s: %v", cmd, err)
		}
	}
	if err := s.Start(context.Background(), []Spec{crashySpec("upsell-module-crashy", "abc")}); err == nil {
		t.Error("bad checksum format accepted")
	}
}

// runTestHost is a minimal host process: it supervises the crashy plugin,
// prints the plugin's pid and waits to be killed.
func runTestHost(dir string) {
	s := New(Options{PluginDir: dir, SocketDir: dir})
	sum, _ := FileSHA256(filepath.Join(dir, "upsell-module-crashy"))
	if err := s.Start(context.Background(), []Spec{crashySpec("upsell-module-crashy", sum)}); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for s.Statuses()[0].State != Running {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("plugin", s.Statuses()[0].PID)
	select {}
}

func TestHostSIGKILLLeavesNoPlugin(t *testing.T) {
	dir := shortDir(t)
	installSelf(t, dir)
	exe, _ := os.Executable()
	host := exec.Command(exe, "-test.run=^$")
	host.Env = []string{envHostMode + "=" + dir}
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "plugin ") {
		host.Process.Kill()
		t.Fatalf("test host said %q: %v", line, err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "plugin ")))
	if !processAlive(pid) {
		t.Fatalf("plugin %d not running under the host", pid)
	}
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	for processAlive(pid) {
		time.Sleep(10 * time.Millisecond)
	}
}

// processAlive reports whether pid runs and is not a zombie.
func processAlive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b))
	return len(fields) > 2 && fields[2] != "Z"
}

// replaceFile puts a different binary at path the way an upgrade does: a
// new file renamed over the old one (the running one cannot be written:
// ETXTBSY). The new binary is the old one plus a byte: it would still run
// and serve the plugin, so only the checksum can refuse it.
func replaceFile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, append(b, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestBuiltinRestartChecksTheHostBinary runs a first-party plugin from a
// copy of the host executable, kills the plugin, and shows the restart runs
// the binary only while it is still the one the host started from.
func TestBuiltinRestartChecksTheHostBinary(t *testing.T) {
	tests := []struct {
		name     string
		replace  bool
		want     State
		restarts int
	}{
		{"unchanged binary restarts", false, Running, 1},
		{"replaced binary is refused", true, Failed, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Builtin: the copy is run from where it is, outside any plugin
			// directory; the checksum is taken as the daemon takes Self's.
			exe, sum := installSelf(t, shortDir(t))
			spec := crashySpec(exe, sum)
			spec.Builtin = true
			logs := &syncBuffer{}
			s := New(Options{
				SocketDir: shortDir(t), MaxRestarts: 3, RestartBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
				Logger: hclog.New(&hclog.LoggerOptions{Output: logs, JSONFormat: true}),
			})
			t.Cleanup(s.Stop)
			if err := s.Start(context.Background(), []Spec{spec}); err != nil {
				t.Fatal(err)
			}
			first := waitState(t, s, Running, 0).PID
			if tt.replace {
				replaceFile(t, exe)
			}
			if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			st := waitState(t, s, tt.want, tt.restarts)
			switch tt.want {
			case Running:
				if second := pidOf(t, s); second == first || second == 0 {
					t.Fatalf("plugin not restarted: pid %d then %d", first, second)
				}
			case Failed:
				for _, want := range []string{"refusing to run plugin crashy", "changed on disk since the host started", exe, sum} {
					if !strings.Contains(st.LastError, want) {
						t.Errorf("state's error lacks %q: %s", want, st.LastError)
					}
				}
				if st.PID != 0 {
					t.Errorf("refused plugin has pid %d", st.PID)
				}
				if log := logs.String(); !strings.Contains(log, `"plugin binary refused"`) || !strings.Contains(log, "changed on disk since the host started") {
					t.Errorf("the log does not say why:\n%s", log)
				}
				if _, err := s.Module("crashy"); !errors.Is(err, hostapi.ErrUnavailable) {
					t.Errorf("refused module handed out: %v", err)
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the supervisor's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSelfIsTheRunningExecutable(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := FileSHA256(exe)
	if err != nil {
		t.Fatal(err)
	}
	if self.Path != exe || self.SHA256 != sum {
		t.Fatalf("Self() = %+v, want %s %s", self, exe, sum)
	}
}

func TestBuiltinNeedsAChecksum(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := newSupervisor(t, "", 1)
	for _, sum := range []string{"", "abc"} {
		spec := crashySpec(exe, sum)
		spec.Builtin = true
		if err := s.Start(context.Background(), []Spec{spec}); err == nil || !strings.Contains(err.Error(), "sha256 must be 64 hex characters") {
			t.Errorf("builtin with checksum %q: %v", sum, err)
		}
	}
	if len(s.Statuses()) != 0 {
		t.Errorf("a refused spec was registered: %+v", s.Statuses())
	}
}
