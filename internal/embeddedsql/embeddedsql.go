// Package embeddedsql runs an in-process MySQL-compatible server
// (dolthub/go-mysql-server, in memory) on a loopback port.
//
// It exists for `upsell demo` and for running the test suite on a machine
// without MariaDB. It is never used by `upsell serve`: it keeps everything in
// memory, does not take row locks (SELECT ... FOR UPDATE does not block), and
// is slower than a real server. Tests that depend on real locking ask for
// MariaDB explicitly (see internal/testdb).
package embeddedsql

import (
	"fmt"
	"net"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/sirupsen/logrus"
)

// Server is a running embedded engine.
type Server struct {
	srv  *server.Server
	addr string
}

// Start listens on a free loopback port and serves in the background. The
// engine accepts user "root" with an empty password.
func Start() (*Server, error) {
	// The engine logs every connection through logrus at info level; only
	// its errors are worth seeing next to the demo's output.
	logrus.SetLevel(logrus.ErrorLevel)
	provider := memory.NewDBProvider()
	engine := sqle.NewDefault(provider)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("embedded sql listen: %w", err)
	}
	addr := ln.Addr().String()
	// The server wants to open the listener itself; release the probe port.
	ln.Close()
	cfg := server.Config{Protocol: "tcp", Address: addr}
	srv, err := server.NewServer(cfg, engine, gmssql.NewContext, memory.NewSessionBuilder(provider), nil)
	if err != nil {
		return nil, fmt.Errorf("embedded sql server: %w", err)
	}
	go func() { _ = srv.Start() }()
	return &Server{srv: srv, addr: addr}, nil
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return s.addr }

// DSN returns a go-sql-driver/mysql DSN for database (which may be empty).
func (s *Server) DSN(database string) string {
	return fmt.Sprintf("root:@tcp(%s)/%s?parseTime=true&loc=UTC&multiStatements=true", s.addr, database)
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }
