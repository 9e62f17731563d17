package boundaryexport_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport/eetest"
	"github.com/DemocracyClub/dc-data-baker/internal/boundaryexport"
	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
)

const bucket = "ee.data-cache.test"

// run builds a handler on a scratch EE database with env (name, value
// pairs on top of eetest's), runs it once over a previously published
// file, and returns what it did.
type run struct {
	out       boundaryexport.Out
	err       error
	published string
	keys      []string
	logs      string
	ssm       []eetest.SSMCall
}

func runHandler(t *testing.T, setup string, wrapS3 func(*s3.Client) eeexport.S3API, env ...string) run {
	t.Helper()
	db := eetest.NewDB(t)
	if setup != "" {
		db.Exec(t, setup)
	}
	client := eetest.NewS3(t, bucket)
	s3test.Put(t, client, bucket, boundaryexport.DefaultKey, "previous,file\r\n")
	cfg, err := boundaryexport.ConfigFromEnv(db.Env(bucket, env...))
	if err != nil {
		t.Fatal(err)
	}
	var api eeexport.S3API = client
	if wrapS3 != nil {
		api = wrapS3(client)
	}
	fake := eetest.NewSSM(t, db.SSMParams())
	var logs bytes.Buffer
	tmp := t.TempDir()
	h := boundaryexport.New(cfg, api, fake.Client, slog.New(slog.NewJSONHandler(&logs, nil)),
		eeexport.WithClock(func() time.Time { return eetest.Now }),
		eeexport.WithTempDir(tmp))
	out, err := h.Handle(context.Background(), boundaryexport.In{})
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("temp dir holds %d files after the run, want 0", len(entries))
	}
	eetest.CheckLogs(t, logs.String())
	return run{out: out, err: err, logs: logs.String(), ssm: fake.Calls(),
		published: s3test.Get(t, client, bucket, boundaryexport.DefaultKey),
		keys:      s3test.Keys(t, client, bucket)}
}

func TestHandlePublishes(t *testing.T) {
	for _, tt := range []struct {
		name   string
		env    []string
		golden string
		want   boundaryexport.Out
	}{
		{"every visibility", nil, "testdata/current_boundary_reviews.csv", boundaryexport.Out{Rows: 16, Reviews: 4}},
		{"MAP_ONLY", []string{"MAP_ONLY", "true"}, "testdata/map_only.csv", boundaryexport.Out{Rows: 11, Reviews: 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runHandler(t, "", nil, tt.env...)
			if r.err != nil {
				t.Fatalf("Handle: %v\nlogs:\n%s", r.err, r.logs)
			}
			tt.want.Bucket, tt.want.Key = bucket, boundaryexport.DefaultKey
			if diff := cmp.Diff(tt.want, r.out); diff != "" {
				t.Errorf("Out (-want +got):\n%s", diff)
			}
			want, err := os.ReadFile(tt.golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), r.published); diff != "" {
				t.Errorf("published CSV (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{boundaryexport.DefaultKey}, r.keys); diff != "" {
				t.Errorf("bucket keys (-want +got); the temporary key must be gone:\n%s", diff)
			}
			wantCalls := []eetest.SSMCall{{
				Names:          []string{eetest.HostParam, eetest.UserParam, eetest.NameParam, eetest.PasswordParam},
				WithDecryption: true,
			}}
			if diff := cmp.Diff(wantCalls, r.ssm); diff != "" {
				t.Errorf("SSM calls (-want +got):\n%s", diff)
			}
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
	for _, tt := range []struct {
		name    string
		setup   string
		wrapS3  func(*s3.Client) eeexport.S3API
		wantErr string
	}{
		{
			name:    "query error",
			setup:   "DROP TABLE organisations_organisationdivisionset CASCADE",
			wantErr: `query boundary reviews: ERROR: relation "organisations_organisationdivisionset" does not exist`,
		},
		{
			name:    "bad piece part-way through",
			setup:   `ALTER TABLE organisations_divisiongeographysubdivided ALTER COLUMN geography TYPE geometry USING ST_SetSRID(geography, CASE WHEN id = 311 THEN 27700 ELSE 4326 END)`,
			wantErr: `boundary review 3, old division "central", piece 311: geography has SRID 27700`,
		},
		{
			name:    "copy into place fails",
			wrapS3:  func(c *s3.Client) eeexport.S3API { return failingCopy{c} },
			wantErr: "copy s3://ee.data-cache.test/boundary-reviews/.current_boundary_reviews.csv.tmp-",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runHandler(t, tt.setup, tt.wrapS3)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Fatalf("Handle = %+v, %v; want an error containing %q", r.out, r.err, tt.wantErr)
			}
			if r.published != "previous,file\r\n" {
				t.Errorf("published file changed after a failed run:\n%s", r.published)
			}
			if diff := cmp.Diff([]string{boundaryexport.DefaultKey}, r.keys); diff != "" {
				t.Errorf("bucket keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	base := []string{"BUCKET", "b", "DB_HOST_PARAM", "/h", "DB_USER_PARAM", "/u", "DB_NAME_PARAM", "/n", "DB_PASSWORD_PARAM", "/p"}
	getenv := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	db := eeexport.DB{HostParam: "/h", UserParam: "/u", NameParam: "/n", PasswordParam: "/p", Port: 5432, SSLMode: "prefer"}
	for _, tt := range []struct {
		name    string
		env     []string
		want    boundaryexport.Config
		wantErr []string
	}{
		{name: "defaults", env: base, want: boundaryexport.Config{
			Config: eeexport.Config{Bucket: "b", Key: boundaryexport.DefaultKey, DB: db}}},
		{name: "overrides", env: append(base[:len(base):len(base)], "KEY", "br/x.csv", "MAP_ONLY", "true", "COMPLETED_LOOKBACK_DAYS", "7"),
			want: boundaryexport.Config{Config: eeexport.Config{Bucket: "b", Key: "br/x.csv", DB: db}, MapOnly: true, CompletedLookbackDays: 7}},
		{name: "bad values", env: append(base[:len(base):len(base)], "MAP_ONLY", "MAP", "COMPLETED_LOOKBACK_DAYS", "-1"),
			wantErr: []string{`export_boundary_reviews config`, `MAP_ONLY "MAP" must be true or false`, `COMPLETED_LOOKBACK_DAYS "-1" must be a whole number of days from 0 to 3660`}},
		{name: "missing", env: nil, wantErr: []string{"BUCKET is required", "DB_PASSWORD_PARAM is required"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := boundaryexport.ConfigFromEnv(getenv(tt.env...))
			if len(tt.wantErr) > 0 {
				for _, w := range tt.wantErr {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("error %v does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ConfigFromEnv: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ConfigFromEnv (-want +got):\n%s", diff)
			}
		})
	}
}

// The boundary-reviews export keeps its dated copy too (here in the same
// in-process bucket, under its own folder).
func TestHandleKeepsADatedHistoryCopy(t *testing.T) {
	const prefix = "raw-history/current_boundary_reviews/"
	r := runHandler(t, "", nil, "HISTORY_BUCKET", bucket, "HISTORY_PREFIX", prefix)
	if r.err != nil {
		t.Fatalf("Handle: %v\nlogs:\n%s", r.err, r.logs)
	}
	want := []string{boundaryexport.DefaultKey, eeexport.HistoryKey(prefix, boundaryexport.DefaultKey, eetest.Now)}
	sort.Strings(want)
	if diff := cmp.Diff(want, r.keys); diff != "" {
		t.Errorf("bucket keys (-want +got):\n%s", diff)
	}
}
