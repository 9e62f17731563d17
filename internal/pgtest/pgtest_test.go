package pgtest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
)

func TestStartGivesPostGIS(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)

	var version, postgis string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		t.Fatalf("server_version: %v", err)
	}
	if !strings.HasPrefix(version, "15.") {
		t.Errorf("server_version = %q, want 15.x", version)
	}
	if err := conn.QueryRow(ctx, "SELECT postgis_lib_version()").Scan(&postgis); err != nil {
		t.Fatalf("postgis_lib_version: %v", err)
	}
	if !strings.HasPrefix(postgis, "3.") {
		t.Errorf("postgis_lib_version = %q, want 3.x", postgis)
	}
	var contains bool
	if err := conn.QueryRow(ctx,
		"SELECT ST_Contains(ST_GeomFromText('POLYGON((0 0,2 0,2 2,0 2,0 0))',4326), ST_SetSRID(ST_MakePoint(1,1),4326))",
	).Scan(&contains); err != nil || !contains {
		t.Errorf("ST_Contains = %v, %v; want true, nil", contains, err)
	}
}

func TestServerLifecycle(t *testing.T) {
	requireInstalled(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := pgtest.StartServer(ctx)
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })

	dsn, err := s.CreateDatabase(ctx, "plain")
	if err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "plain" {
		t.Errorf("current_database = %q, %v; want plain", db, err)
	}
	conn.Close(ctx)

	// TCP logins need the password: host auth is scram-sha-256, not trust.
	bad := strings.Replace(dsn, s.Password, "wrong", 1)
	if c, err := pgx.Connect(ctx, bad); err == nil {
		c.Close(ctx)
		t.Error("connect with a wrong password succeeded; want an authentication error")
	}

	if _, err := s.CreateDatabase(ctx, "Bad-Name"); err == nil {
		t.Error("CreateDatabase(\"Bad-Name\") succeeded; want an error")
	}

	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if c, err := pgx.Connect(ctx, dsn); err == nil {
		c.Close(ctx)
		t.Error("connect after Stop succeeded")
	}
}

func TestMissingBinaries(t *testing.T) {
	t.Setenv("PGTEST_BIN_DIR", t.TempDir())
	err := pgtest.Installed()
	if !errors.Is(err, pgtest.ErrNotInstalled) {
		t.Fatalf("Installed() = %v, want ErrNotInstalled", err)
	}
	for _, pkg := range strings.Fields(pgtest.Packages) {
		if !strings.Contains(err.Error(), pkg) {
			t.Errorf("error %q does not name package %s", err, pkg)
		}
	}
	if _, err := pgtest.StartServer(context.Background()); !errors.Is(err, pgtest.ErrNotInstalled) {
		t.Errorf("StartServer() = %v, want ErrNotInstalled", err)
	}
}

// recordingTB records how StartT gave up, without stopping the real test.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartWithoutBinaries(t *testing.T) {
	tests := []struct {
		name              string
		ci                string
		wantSkip, wantErr bool
	}{
		{name: "local run skips", ci: "", wantSkip: true},
		{name: "CI fails", ci: "true", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PGTEST_BIN_DIR", t.TempDir())
			t.Setenv("CI", tt.ci)
			rec := &recordingTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				pgtest.StartT(rec)
				t.Error("StartT returned normally without binaries")
			}()
			<-done
			msg := rec.skipped + rec.failed
			if (rec.skipped != "") != tt.wantSkip || (rec.failed != "") != tt.wantErr {
				t.Errorf("skipped=%q failed=%q; want skip=%v fail=%v", rec.skipped, rec.failed, tt.wantSkip, tt.wantErr)
			}
			if !strings.Contains(msg, "postgresql-15-postgis-3") {
				t.Errorf("message %q does not name the apt packages", msg)
			}
		})
	}
}

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }

func TestSharedAndClone(t *testing.T) {
	s := pgtest.Shared(t)
	if again := pgtest.Shared(t); again != s {
		t.Fatal("Shared returned a different server on the second call")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmplDSN, err := s.CreateDatabase(ctx, "tmpl", "postgis")
	if err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}
	conn, err := pgx.Connect(ctx, tmplDSN)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE shapes (g geometry(Polygon, 4326)); INSERT INTO shapes VALUES (ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4326))"); err != nil {
		t.Fatalf("seed template: %v", err)
	}
	conn.Close(ctx)

	cloneDSN, err := s.CloneDatabase(ctx, "clone1", "tmpl")
	if err != nil {
		t.Fatalf("CloneDatabase: %v", err)
	}
	conn, err = pgx.Connect(ctx, cloneDSN)
	if err != nil {
		t.Fatalf("connect clone: %v", err)
	}
	defer conn.Close(ctx)
	var wkt string
	if err := conn.QueryRow(ctx, "SELECT ST_AsText(g) FROM shapes").Scan(&wkt); err != nil {
		t.Fatalf("read clone: %v", err)
	}
	if want := "POLYGON((0 0,1 0,1 1,0 0))"; wkt != want {
		t.Errorf("clone holds %q, want %q", wkt, want)
	}
	if _, err := s.CloneDatabase(ctx, "clone2", "no-such"); err == nil {
		t.Error("CloneDatabase from an invalid template name succeeded")
	}
}

// TestCrashedProcessCleansUp starts a server in a child test process that
// exits without calling Stop, and checks the watchdog removes the cluster.
func TestCrashedProcessCleansUp(t *testing.T) {
	if os.Getenv("PGTEST_CRASH_CHILD") == "1" {
		s, err := pgtest.StartServer(context.Background())
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(2)
		}
		fmt.Printf("PORT %d DIR %s\n", s.Port, s.Dir())
		os.Exit(0) // no Stop: simulate a crash
	}
	requireInstalled(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashedProcessCleansUp$")
	cmd.Env = append(os.Environ(), "PGTEST_CRASH_CHILD=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var (
		port int
		dir  string
	)
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "PORT %d DIR %s", &port, &dir); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if c != nil {
			c.Close()
		}
		_, statErr := os.Stat(dir)
		if err != nil && os.IsNotExist(statErr) {
			return // the orphaned server is stopped and its files are gone
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after its process exited: server on %s reachable=%v, %s exists=%v", addr, err == nil, dir, statErr == nil)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// requireInstalled skips without PostgreSQL, except in CI, where the
// packages must be there.
func requireInstalled(t *testing.T) {
	t.Helper()
	if err := pgtest.Installed(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}
