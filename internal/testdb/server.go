package testdb

import (
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Server is a private MariaDB server that one test owns: its own data
// directory and port, so the test may stop it and start it again (a
// database restart under traffic) without touching the shared test server.
type Server struct {
	t       testing.TB
	bin     string
	dir     string
	port    int
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
}

// serverBinaries finds mariadbd and its install tool; Debian puts mariadbd
// in /usr/sbin, which is not on every user's PATH.
func serverBinaries() (server, install string, err error) {
	find := func(names ...string) (string, error) {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				return p, nil
			}
			for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"} {
				p := filepath.Join(dir, n)
				if st, err := os.Stat(p); err == nil && !st.IsDir() {
					return p, nil
				}
			}
		}
		return "", fmt.Errorf("none of %v found", names)
	}
	if server, err = find("mariadbd"); err != nil {
		return "", "", err
	}
	if install, err = find("mariadb-install-db", "mysql_install_db"); err != nil {
		return "", "", err
	}
	return server, install, nil
}

// StartServer initialises a data directory and starts a MariaDB server on a
// free port of 127.0.0.1, with root and no password; it is stopped and
// removed when the test ends. Without a mariadbd binary the test is skipped,
// saying why; under CI=true (where CI installs MariaDB) it fails instead.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, install, err := serverBinaries()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a private MariaDB server is needed under CI=true: %v", err)
		}
		t.Skipf("needs a MariaDB server binary to start a private server (%v); install mariadb-server to run it", err)
	}
	// A short path: the socket path must fit in sun_path (108 bytes).
	dir, err := os.MkdirTemp("", "upmdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	args := append([]string{"--no-defaults", "--datadir=" + filepath.Join(dir, "data"), "--auth-root-authentication-method=normal", "--skip-test-db"}, serverTuning()...)
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	if out, err := exec.Command(install, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", install, err, out)
	}
	s := &Server{t: t, bin: bin, dir: dir, port: freePort(t)}
	t.Cleanup(func() {
		if s.cmd != nil {
			s.stop()
		}
	})
	s.Start()
	return s
}

// serverTuning keeps the private server small: the defaults would write
// a 100 MB redo log and reserve a 128 MB buffer pool.
func serverTuning() []string {
	return []string{"--innodb-log-file-size=8M", "--innodb-buffer-pool-size=16M"}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// DSN connects to the server as root, with no database selected.
func (s *Server) DSN() string {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	return cfg.FormatDSN()
}

// Start starts the server on its data directory and port and returns once
// it accepts connections. It fails the test if the server exits first.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("testdb: the private server is already running")
	}
	args := append([]string{"--no-defaults",
		"--datadir=" + filepath.Join(s.dir, "data"),
		"--port=" + strconv.Itoa(s.port),
		"--bind-address=127.0.0.1",
		"--socket=" + filepath.Join(s.dir, "sock"),
		"--pid-file=" + filepath.Join(s.dir, "pid"),
		"--log-error=" + filepath.Join(s.dir, "error.log"),
		"--skip-name-resolve",
	}, serverTuning()...)
	if os.Geteuid() == 0 {
		// mariadbd refuses to run as root unless told to.
		args = append(args, "--user=root")
	}
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.bin, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { s.exitErr = cmd.Wait(); close(s.exited) }()

	db, err := sql.Open("mysql", s.DSN())
	if err != nil {
		s.t.Fatal(err)
	}
	defer db.Close()
	// Ready when it answers; a server that exits instead fails the test
	// with its log, so this wait ends either way.
	for {
		if err := db.Ping(); err == nil {
			return
		}
		select {
		case <-s.exited:
			s.cmd = nil
			log, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
			s.t.Fatalf("the private MariaDB server exited while starting: %v\n%s", s.exitErr, log)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop shuts the server down as an operator would (SIGTERM: connections are
// killed, open transactions rolled back) and returns once it has exited.
func (s *Server) Stop() {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatal("testdb: the private server is not running")
	}
	if err := s.stop(); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
		s.t.Fatalf("stop the private MariaDB server: %v\n%s", err, log)
	}
}

func (s *Server) stop() error {
	defer func() { s.cmd = nil }()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-s.exited
	var exit *exec.ExitError
	if errors.As(s.exitErr, &exit) {
		return fmt.Errorf("mariadbd exited with %v", exit)
	}
	return nil
}
