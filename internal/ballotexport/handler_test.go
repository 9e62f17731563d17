package ballotexport_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport/eetest"
	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
)

const bucket = "ee.data-cache.test"

// fixture is one handler wired to a scratch EE database, a fake SSM, an
// in-process S3 and a captured JSON log.
type fixture struct {
	db      eetest.DB
	s3      *s3.Client
	ssm     *eetest.SSM
	logs    *bytes.Buffer
	tmpDir  string
	handler *ballotexport.Handler
}

func newFixture(t *testing.T, params map[string]string, wrapS3 func(*s3.Client) s3Client) fixture {
	t.Helper()
	return newFixtureFor(t, eetest.NewDB(t), params, wrapS3)
}

func newFixtureFor(t *testing.T, db eetest.DB, params map[string]string, wrapS3 func(*s3.Client) s3Client) fixture {
	t.Helper()
	f := fixture{db: db, s3: eetest.NewS3(t, bucket), logs: &bytes.Buffer{}, tmpDir: t.TempDir()}
	if params == nil {
		params = f.db.SSMParams()
	}
	f.ssm = eetest.NewSSM(t, params)
	cfg, err := ballotexport.ConfigFromEnv(f.db.Env(bucket))
	if err != nil {
		t.Fatal(err)
	}
	var api s3Client = f.s3
	if wrapS3 != nil {
		api = wrapS3(f.s3)
	}
	f.handler = ballotexport.New(cfg, api, f.ssm.Client,
		slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		eeexport.WithClock(func() time.Time { return eetest.Now }),
		eeexport.WithTempDir(f.tmpDir))
	return f
}

// s3Client is what ballotexport.New accepts for S3.
type s3Client = eeexport.S3API

func (f fixture) get(t *testing.T, key string) string { return s3test.Get(t, f.s3, bucket, key) }

func (f fixture) put(t *testing.T, key, body string) { s3test.Put(t, f.s3, bucket, key, body) }

func (f fixture) keys(t *testing.T) []string { return s3test.Keys(t, f.s3, bucket) }

// checkLogs asserts that every log line is JSON and that no secret leaks.
func (f fixture) checkLogs(t *testing.T, secrets ...string) {
	t.Helper()
	eetest.CheckLogs(t, f.logs.String(), secrets...)
}

func (f fixture) checkTempDirEmpty(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(f.tmpDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("temp dir holds %d files after the run, want 0", len(entries))
	}
}

func intPtr(n int) *int { return &n }

func TestHandlePublishes(t *testing.T) {
	golden := readGolden(t)
	tests := []struct {
		name string
		in   ballotexport.In
		want string
	}{
		{name: "default 30-day look-back", in: ballotexport.In{}, want: golden},
		{
			name: "lookback_days 0 keeps today onwards and ballots flagged current",
			in:   ballotexport.In{LookbackDays: intPtr(0)},
			want: withoutBallots(golden, "local.adur.marsh.2026-04-01"),
		},
		{
			name: "lookback_days 31 reaches the ballot of 2026-03-31",
			in:   ballotexport.In{LookbackDays: intPtr(31)},
			want: strings.Replace(golden, "mayor.london", strings.Join([]string{
				`local.adur.peverel.2026-03-31,101,"POLYGON((-0.3 50.83,-0.29 50.83,-0.29 50.86,-0.3 50.86,-0.3 50.83))",Division`,
				`local.adur.peverel.2026-03-31,102,"POLYGON((-0.29 50.83,-0.28 50.83,-0.28 50.86,-0.29 50.86,-0.29 50.83))",Division`,
				`local.adur.peverel.2026-03-31,103,"POLYGON((-0.28 50.83,-0.27 50.83,-0.27 50.86,-0.28 50.86,-0.28 50.83))",Division`,
				`mayor.london`}, "\r\n"), 1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, nil)
			f.put(t, ballotexport.DefaultKey, "old,file\r\n")

			out, err := f.handler.Handle(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("Handle: %v\nlogs:\n%s", err, f.logs)
			}
			wantRows := int64(strings.Count(tt.want, "\r\n") - 1)
			if diff := cmp.Diff(ballotexport.Out{Bucket: bucket, Key: ballotexport.DefaultKey, Rows: wantRows}, out); diff != "" {
				t.Errorf("Out (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, f.get(t, ballotexport.DefaultKey)); diff != "" {
				t.Errorf("published CSV (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{ballotexport.DefaultKey}, f.keys(t)); diff != "" {
				t.Errorf("bucket keys (-want +got); the temporary key must be gone:\n%s", diff)
			}
			wantCalls := []eetest.SSMCall{{
				Names:          []string{eetest.HostParam, eetest.UserParam, eetest.NameParam, eetest.PasswordParam},
				WithDecryption: true,
			}}
			if diff := cmp.Diff(wantCalls, f.ssm.Calls()); diff != "" {
				t.Errorf("SSM calls (-want +got):\n%s", diff)
			}
			f.checkLogs(t)
			f.checkTempDirEmpty(t)
		})
	}
}

// failingCopy is a real S3 client whose CopyObject fails, as when the
// role lacks s3:PutObject on the final key.
type failingCopy struct{ *s3.Client }

func (failingCopy) CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	return nil, errors.New("AccessDenied: copy refused")
}

func TestHandleFailureKeepsPreviousFile(t *testing.T) {
	const previous = "election_id,geography_id,geography_text,source_table\r\nprevious.run.2026-04-30,1,\"POLYGON((0 0,1 0,1 1,0 0))\",Division\r\n"
	const wrongPassword = "not-the-Password-42"
	tests := []struct {
		name    string
		in      ballotexport.In
		params  func(eetest.DB) map[string]string
		setup   string
		wrapS3  func(*s3.Client) s3Client
		wantErr string
	}{
		{
			name:    "query error",
			setup:   "DROP TABLE organisations_organisationgeographysubdivided",
			wantErr: `query current ballots: ERROR: relation "organisations_organisationgeographysubdivided" does not exist`,
		},
		{
			name: "bad row part-way through the export",
			setup: `ALTER TABLE organisations_organisationgeographysubdivided ALTER COLUMN geography DROP NOT NULL;
			        INSERT INTO organisations_organisationgeographysubdivided (id, geography, organisation_geography_id) VALUES (0, NULL, 2);`,
			wantErr: "export row 6 (election_id mayor.london.2026-05-07, source_table Organisation, geography_id 0): geography is NULL or empty",
		},
		{
			name: "wrong password",
			params: func(db eetest.DB) map[string]string {
				p := db.SSMParams()
				p[eetest.PasswordParam] = wrongPassword
				return p
			},
			wantErr: "password authentication failed for user",
		},
		{
			name: "missing SSM parameter",
			params: func(db eetest.DB) map[string]string {
				p := db.SSMParams()
				delete(p, eetest.NameParam)
				return p
			},
			wantErr: "ssm GetParameters: parameters not found: " + eetest.NameParam,
		},
		{
			name:    "copy into place fails",
			wrapS3:  func(c *s3.Client) s3Client { return failingCopy{c} },
			wantErr: "copy s3://ee.data-cache.test/ballots-with-wkt/.current_elections.csv.tmp-",
		},
		{
			name:    "negative lookback_days",
			in:      ballotexport.In{LookbackDays: intPtr(-1)},
			wantErr: "event field lookback_days = -1: must be from 0 to 3660",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := eetest.NewDB(t)
			var params map[string]string
			if tt.params != nil {
				params = tt.params(db)
			}
			f := newFixtureFor(t, db, params, tt.wrapS3)
			if tt.setup != "" {
				f.db.Exec(t, tt.setup)
			}
			f.put(t, ballotexport.DefaultKey, previous)

			out, err := f.handler.Handle(context.Background(), tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Handle = %+v, %v; want an error containing %q", out, err, tt.wantErr)
			}
			for _, secret := range []string{eetest.DBPassword, wrongPassword} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains the password", err)
				}
			}
			if got := f.get(t, ballotexport.DefaultKey); got != previous {
				t.Errorf("published file changed after a failed run:\n%s", got)
			}
			if diff := cmp.Diff([]string{ballotexport.DefaultKey}, f.keys(t)); diff != "" {
				t.Errorf("bucket keys (-want +got):\n%s", diff)
			}
			f.checkLogs(t, wrongPassword)
			f.checkTempDirEmpty(t)
		})
	}
}

// The export keeps a dated copy of the CSV it publishes in the history
// bucket, and a history bucket it cannot write to fails the run before
// anything is published.
func TestHandleKeepsADatedHistoryCopy(t *testing.T) {
	const history = "dc-data-baker-raw-history"
	for _, tc := range []struct {
		name    string
		buckets []string
		wantErr string
	}{
		{"kept", []string{bucket, history}, ""},
		{"history bucket missing", []string{bucket}, "keep history copy s3://" + history + "/current_elections/2026-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := eetest.NewDB(t)
			s3c := eetest.NewS3(t, tc.buckets...)
			cfg, err := ballotexport.ConfigFromEnv(db.Env(bucket, "HISTORY_BUCKET", history, "HISTORY_PREFIX", "current_elections/"))
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			h := ballotexport.New(cfg, s3c, eetest.NewSSM(t, db.SSMParams()).Client, slog.New(slog.NewJSONHandler(&logs, nil)),
				eeexport.WithClock(func() time.Time { return eetest.Now }), eeexport.WithTempDir(t.TempDir()))
			s3test.Put(t, s3c, bucket, ballotexport.DefaultKey, "old,file\r\n")

			_, err = h.Handle(context.Background(), ballotexport.In{})
			published := s3test.Get(t, s3c, bucket, ballotexport.DefaultKey)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Handle: %v, want an error containing %q", err, tc.wantErr)
				}
				if published != "old,file\r\n" {
					t.Errorf("published file changed although its history copy failed:\n%s", published)
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle: %v\nlogs:\n%s", err, &logs)
			}
			wantKey := "current_elections/" + eetest.Now.UTC().Format("2006-01-02") + "/current_elections-" + eetest.Now.UTC().Format("150405") + "Z.csv"
			if diff := cmp.Diff([]string{wantKey}, s3test.Keys(t, s3c, history)); diff != "" {
				t.Fatalf("history keys (-want +got):\n%s", diff)
			}
			if got := s3test.Get(t, s3c, history, wantKey); got != published || !strings.HasPrefix(got, "election_id,") {
				t.Errorf("history copy differs from the published CSV:\n%s\nvs\n%s", got, published)
			}
		})
	}
}
