// Package pgtest starts throwaway PostgreSQL 15 + PostGIS clusters on
// loopback for tests and benchmarks.
//
// It needs the Debian packages postgresql-15 and postgresql-15-postgis-3
// (binaries in /usr/lib/postgresql/15/bin). apt does not start a cluster,
// so each Server runs initdb in a fresh temp dir and pg_ctl on a free
// port. When running as root the server runs as the "postgres" user via
// runuser, because PostgreSQL refuses to run as root.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultBinDir is where Debian's postgresql-15 package puts the server binaries.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// Packages are the Debian packages that provide the binaries and PostGIS.
const Packages = "postgresql-15 postgresql-15-postgis-3"

// ErrNotInstalled is returned (wrapped) when the PostgreSQL binaries or
// the PostGIS extension are missing.
var ErrNotInstalled = errors.New("PostgreSQL 15 with PostGIS is not installed: run `apt-get update && apt-get install -y " + Packages + "`")

// Server is a running throwaway cluster. Superuser is "postgres" with a
// random password; TCP connections (127.0.0.1 only) use scram-sha-256.
type Server struct {
	Host     string
	Port     int
	User     string
	Password string

	dir    string // temp root: data/, sock/, log
	binDir string
	runAs  string // "" or the OS user to run binaries as

	watchdog   *exec.Cmd
	watchdogIn io.WriteCloser
}

// BinDir returns the directory holding initdb and pg_ctl: env
// PGTEST_BIN_DIR if set, else DefaultBinDir.
func BinDir() string {
	if d := os.Getenv("PGTEST_BIN_DIR"); d != "" {
		return d
	}
	return DefaultBinDir
}

// Installed reports whether the binaries and PostGIS are present, or an
// error wrapping ErrNotInstalled that names what is missing.
func Installed() error {
	bin := BinDir()
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return fmt.Errorf("%w (missing %s)", ErrNotInstalled, filepath.Join(bin, b))
		}
	}
	// postgis.control lives in the share dir next to the bin dir:
	// /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15/extension.
	// Only checked for the Debian layout, /usr/lib/postgresql/<major>/bin.
	if major := filepath.Dir(bin); filepath.Dir(major) == "/usr/lib/postgresql" {
		ctl := filepath.Join("/usr/share/postgresql", filepath.Base(major), "extension", "postgis.control")
		if _, err := os.Stat(ctl); err != nil {
			return fmt.Errorf("%w (missing %s)", ErrNotInstalled, ctl)
		}
	}
	return nil
}

// StartServer initialises and starts a new cluster. Call Stop to shut it
// down and delete its files.
func StartServer(ctx context.Context) (*Server, error) {
	if err := Installed(); err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", User: "postgres", binDir: BinDir()}
	if os.Geteuid() == 0 {
		s.runAs = "postgres"
	}
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return nil, fmt.Errorf("generate password: %w", err)
	}
	s.Password = hex.EncodeToString(pw)

	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	s.dir = dir
	if err := s.startWatchdog(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := s.init(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	// The port is picked by binding :0 and releasing it, so another
	// process may grab it before postgres does: retry with a new port.
	var startErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			_ = s.Stop()
			return nil, err
		}
		s.Port = port
		if startErr = s.start(ctx); startErr == nil {
			return s, nil
		}
	}
	_ = s.Stop()
	return nil, startErr
}

// watchdogScript waits for stdin to close, which happens when Stop closes
// it or when the test process dies however it dies (panic, timeout,
// SIGKILL), then stops the cluster and deletes its files. Without it a
// crashed test run would leave postgres running on the shared machine.
// Arguments: $1 temp dir, $2 bin dir, $3 OS user to run as (or empty).
const watchdogScript = `cat >/dev/null
if [ -n "$3" ]; then
  runuser -u "$3" -- "$2/pg_ctl" -D "$1/data" -m immediate -w stop
else
  "$2/pg_ctl" -D "$1/data" -m immediate -w stop
fi >/dev/null 2>&1
rm -rf "$1"`

func (s *Server) startWatchdog() error {
	cmd := exec.Command("sh", "-c", watchdogScript, "pgtest-watchdog", s.dir, s.binDir, s.runAs)
	// Its own session, so a Ctrl-C to the test's process group does not
	// kill the watchdog before it has cleaned up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("watchdog stdin: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start watchdog: %w", err)
	}
	s.watchdog, s.watchdogIn = cmd, stdin
	return nil
}

func (s *Server) init(ctx context.Context) error {
	sock := filepath.Join(s.dir, "sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		return fmt.Errorf("create socket dir: %w", err)
	}
	pwfile := filepath.Join(s.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}
	if s.runAs != "" {
		u, err := user.Lookup(s.runAs)
		if err != nil {
			return fmt.Errorf("look up OS user %q (needed to run postgres as non-root): %w", s.runAs, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{s.dir, sock, pwfile} {
			if err := os.Chown(p, uid, gid); err != nil {
				return fmt.Errorf("chown %s to %s: %w", p, s.runAs, err)
			}
		}
	}
	out, err := s.command(ctx, "initdb",
		"-D", filepath.Join(s.dir, "data"),
		"-U", s.User,
		"--pwfile="+pwfile,
		"--auth-local=trust",
		"--auth-host=scram-sha-256",
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
	).CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb in %s: %w: %s", s.dir, err, out)
	}
	return nil
}

func (s *Server) start(ctx context.Context) error {
	opts := strings.Join([]string{
		"-p", strconv.Itoa(s.Port),
		"-k", filepath.Join(s.dir, "sock"),
		"-c", "listen_addresses=127.0.0.1",
		// Durability is pointless for a throwaway cluster.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
	}, " ")
	logFile := filepath.Join(s.dir, "postgres.log")
	// -l sends the server's output to a file: without it the postmaster
	// would inherit our output pipe and CombinedOutput would never return.
	out, err := s.command(ctx, "pg_ctl", "-D", filepath.Join(s.dir, "data"),
		"-l", logFile, "-o", opts, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		logText, _ := os.ReadFile(logFile)
		return fmt.Errorf("pg_ctl start on port %d: %w: %s\nserver log:\n%s", s.Port, err, out, tail(string(logText), 2000))
	}
	return nil
}

// Stop shuts the server down and removes its files. It is safe to call twice.
func (s *Server) Stop() error {
	if s == nil || s.dir == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	if out, err := s.command(ctx, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w", "stop").CombinedOutput(); err != nil {
		errs = append(errs, fmt.Errorf("pg_ctl stop: %w: %s", err, out))
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", s.dir, err))
	}
	if s.watchdog != nil {
		// Nothing is left for it to do; wait so it cannot touch a later
		// server's files.
		_ = s.watchdogIn.Close()
		_ = s.watchdog.Wait()
		s.watchdog = nil
	}
	s.dir = ""
	return errors.Join(errs...)
}

// Dir is the server's temp directory (data/, sock/, postgres.log). Stop
// deletes it.
func (s *Server) Dir() string { return s.dir }

// DSN returns a postgres:// URL for database dbname on this server.
// It contains the password: don't log it.
func (s *Server) DSN(dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(s.User, s.Password),
		Host:     net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates database name (which must be a plain identifier)
// with the given extensions (e.g. "postgis") and returns its DSN.
func (s *Server) CreateDatabase(ctx context.Context, name string, extensions ...string) (string, error) {
	return s.createDatabase(ctx, name, "", extensions)
}

// CloneDatabase creates database name as a copy of template, which must
// have no open connections. Copying a prepared database is much faster
// than creating the PostGIS extension again.
func (s *Server) CloneDatabase(ctx context.Context, name, template string) (string, error) {
	if !isIdent(template) {
		return "", fmt.Errorf("clone database: template %q is not a plain lower-case identifier", template)
	}
	return s.createDatabase(ctx, name, template, nil)
}

func (s *Server) createDatabase(ctx context.Context, name, template string, extensions []string) (string, error) {
	if !isIdent(name) {
		return "", fmt.Errorf("create database: name %q is not a plain lower-case identifier", name)
	}
	admin, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("connect to %s:%d/postgres: %w", s.Host, s.Port, err)
	}
	defer admin.Close(ctx)
	stmt := "CREATE DATABASE " + name
	if template != "" {
		stmt += " TEMPLATE " + template
	}
	if _, err := admin.Exec(ctx, stmt); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	dsn := s.DSN(name)
	if len(extensions) == 0 {
		return dsn, nil
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", name, err)
	}
	defer conn.Close(ctx)
	for _, ext := range extensions {
		if !isIdent(ext) {
			return "", fmt.Errorf("create extension: name %q is not a plain identifier", ext)
		}
		if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS "+ext); err != nil {
			return "", fmt.Errorf("create extension %s in %s: %w", ext, name, err)
		}
	}
	return dsn, nil
}

// Start starts a server for the test, registers its Stop with t.Cleanup,
// and returns the DSN of a fresh database "test" with PostGIS enabled.
// If PostgreSQL is not installed it skips the test, or fails it when the
// env var CI is "true".
func Start(tb testing.TB) string {
	tb.Helper()
	s := StartT(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, err := s.CreateDatabase(ctx, "test", "postgis")
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// StartT is like Start but returns the Server, for tests that need
// several databases or the connection details.
func StartT(tb testing.TB) *Server {
	tb.Helper()
	if err := Installed(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("pgtest: %v", err)
		}
		tb.Skipf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := StartServer(ctx)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return s
}

var shared struct {
	sync.Mutex
	server *Server
	err    error
}

// Shared returns one server shared by all tests of the package, started on
// first use, with the same skip/fail rules as StartT. The package's
// TestMain must call RunMain so that the server is stopped at the end.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	if err := Installed(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("pgtest: %v", err)
		}
		tb.Skipf("pgtest: %v", err)
	}
	shared.Lock()
	defer shared.Unlock()
	if shared.server == nil && shared.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared.server, shared.err = StartServer(ctx)
	}
	if shared.err != nil {
		tb.Fatalf("pgtest: %v", shared.err)
	}
	return shared.server
}

// RunMain runs the tests and then stops the server started by Shared.
// Use it as: func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }
func RunMain(m *testing.M) int {
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	if shared.server != nil {
		if err := shared.server.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		shared.server = nil
	}
	return code
}

// command builds an exec.Cmd for a PostgreSQL binary, run as s.runAs if set.
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	bin := filepath.Join(s.binDir, name)
	if s.runAs == "" {
		return exec.CommandContext(ctx, bin, args...)
	}
	return exec.CommandContext(ctx, "runuser", append([]string{"-u", s.runAs, "--", bin}, args...)...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func isIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
