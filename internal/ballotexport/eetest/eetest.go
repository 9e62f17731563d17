// Package eetest provides test fixtures for the EE exports (ballots and
// boundary reviews): a scratch Postgres database shaped like Every
// Election's, an SSM fake speaking the JSON protocol, and an in-process S3
// (gofakes3).
package eetest

import (
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"

	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/jackc/pgx/v5"

	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
)

// SchemaSQL creates the EE tables the export reads.
//
//go:embed schema.sql
var SchemaSQL string

// SeedSQL fills them with the fixture described in seed.sql.
//
//go:embed seed.sql
var SeedSQL string

// Now is "today" for SeedSQL; with a 30-day look-back the window starts
// on 2026-04-01.
var Now = time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)

// Database login used by the export in tests, and the SSM parameter names
// that hold the connection details.
const (
	DBUser        = "every_election"
	DBPassword    = "s3cret-EE-pa55word"
	HostParam     = "/EveryElectionProd/DATABASE_HOST"
	UserParam     = "/EveryElectionProd/DATABASE_USER"
	NameParam     = "/EveryElectionProd/DATABASE_NAME"
	PasswordParam = "/EveryElectionProd/DatabasePassword"
	Region        = "eu-west-2"
)

const template = "ee_template"

var (
	templateOnce sync.Once
	templateErr  error
	dbCounter    atomic.Int64
)

// DB is one scratch EE database.
type DB struct {
	Server *pgtest.Server
	Name   string
	// AdminDSN logs in as the superuser, for changing the fixture.
	AdminDSN string
}

// NewDB returns a fresh copy of the seeded EE database on the package's
// shared pgtest server. The package's TestMain must call pgtest.RunMain.
func NewDB(t testing.TB) DB {
	t.Helper()
	s := pgtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	templateOnce.Do(func() { templateErr = buildTemplate(ctx, s) })
	if templateErr != nil {
		t.Fatalf("eetest: %v", templateErr)
	}
	name := "ee_" + strconv.FormatInt(dbCounter.Add(1), 10)
	dsn, err := s.CloneDatabase(ctx, name, template)
	if err != nil {
		t.Fatalf("eetest: %v", err)
	}
	return DB{Server: s, Name: name, AdminDSN: dsn}
}

func buildTemplate(ctx context.Context, s *pgtest.Server) error {
	dsn, err := s.CreateDatabase(ctx, template, "postgis")
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", template, err)
	}
	defer conn.Close(ctx)
	role := fmt.Sprintf("DO $$ BEGIN CREATE ROLE %s LOGIN PASSWORD '%s'; EXCEPTION WHEN duplicate_object THEN NULL; END $$", DBUser, DBPassword)
	for _, step := range []struct{ name, sql string }{
		{"create role", role},
		{"schema.sql", SchemaSQL},
		{"seed.sql", SeedSQL},
		{"grant", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + DBUser},
	} {
		if _, err := conn.Exec(ctx, step.sql); err != nil {
			return fmt.Errorf("%s in %s: %w", step.name, template, err)
		}
	}
	return nil
}

// Exec runs sql as the superuser in db, failing the test on error.
func (db DB) Exec(t testing.TB, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.AdminDSN)
	if err != nil {
		t.Fatalf("connect to %s: %v", db.Name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("exec in %s: %v", db.Name, err)
	}
}

// ConnectAsEE logs in to db as EE's read-only export user; the connection
// closes when the test ends.
func (db DB) ConnectAsEE(t testing.TB) *pgx.Conn {
	t.Helper()
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(DBUser, DBPassword),
		Host:     net.JoinHostPort(db.Server.Host, strconv.Itoa(db.Server.Port)),
		Path:     "/" + db.Name,
		RawQuery: "sslmode=disable",
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("connect as %s: %v", DBUser, err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

// SSMParams are the parameter values an SSM fake should hold for db.
func (db DB) SSMParams() map[string]string {
	return map[string]string{
		HostParam:     db.Server.Host,
		UserParam:     DBUser,
		NameParam:     db.Name,
		PasswordParam: DBPassword,
	}
}

// Env returns a getenv for an export's ConfigFromEnv pointing at db, with
// extra variables given as name, value pairs.
func (db DB) Env(bucket string, extra ...string) func(string) string {
	env := map[string]string{
		"BUCKET":            bucket,
		"DB_HOST_PARAM":     HostParam,
		"DB_USER_PARAM":     UserParam,
		"DB_NAME_PARAM":     NameParam,
		"DB_PASSWORD_PARAM": PasswordParam,
		"DB_PORT":           strconv.Itoa(db.Server.Port),
		"DB_SSLMODE":        "disable",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return func(k string) string { return env[k] }
}

// CheckLogs asserts that an export logged something, that every log line
// is JSON, and that neither DBPassword nor any of secrets appears.
func CheckLogs(t testing.TB, logs string, secrets ...string) {
	t.Helper()
	if logs == "" {
		t.Error("handler logged nothing")
	}
	for _, s := range append(secrets, DBPassword) {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain the password %q:\n%s", s, logs)
		}
	}
	for i, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line %d is not JSON: %q", i+1, line)
		}
	}
}

// SSMCall is one GetParameters request the fake received.
type SSMCall struct {
	Names          []string
	WithDecryption bool
}

// SSM is a fake SSM endpoint for GetParameters (JSON 1.1 protocol).
type SSM struct {
	Client *ssm.Client

	mu    sync.Mutex
	calls []SSMCall
}

// Calls returns the requests received so far.
func (f *SSM) Calls() []SSMCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SSMCall(nil), f.calls...)
}

// NewSSM starts an SSM fake holding params. Names it does not hold are
// returned in InvalidParameters, as the real service does.
func NewSSM(t testing.TB, params map[string]string) *SSM {
	t.Helper()
	f := &SSM{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if got := r.Header.Get("X-Amz-Target"); got != "AmazonSSM.GetParameters" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"fake supports only GetParameters, got %q"}`, got)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var in SSMCall
		if err := json.Unmarshal(body, &in); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"ValidationException","message":%q}`, err.Error())
			return
		}
		f.mu.Lock()
		f.calls = append(f.calls, in)
		f.mu.Unlock()
		type param struct{ Name, Type, Value string }
		out := struct {
			Parameters        []param
			InvalidParameters []string
		}{Parameters: []param{}, InvalidParameters: []string{}}
		for _, n := range in.Names {
			v, ok := params[n]
			if !ok {
				out.InvalidParameters = append(out.InvalidParameters, n)
				continue
			}
			p := param{Name: n, Type: "String", Value: v}
			if n == PasswordParam {
				p.Type = "SecureString"
				if !in.WithDecryption {
					p.Value = "AQICAHencrypted=="
				}
			}
			out.Parameters = append(out.Parameters, p)
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	f.Client = ssm.New(ssm.Options{
		Region:       Region,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
	})
	return f
}

// NewS3 starts an in-process S3 (gofakes3, path style) with the given
// buckets and returns a real SDK client for it.
func NewS3(t testing.TB, buckets ...string) *s3.Client {
	t.Helper()
	client, _ := s3test.NewS3(t, buckets...)
	return client
}
