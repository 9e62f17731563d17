package status_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"
	"github.com/johannesboyne/gofakes3"

	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/golden"
	"github.com/DemocracyClub/dc-data-baker/internal/status"
)

// now is the report time in every test.
var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

const (
	bucket    = "pollingstations.private.data"
	abARN     = "arn:aws:states:eu-west-2:123456789012:stateMachine:dc-data-baker-addressbase"
	ceARN     = "arn:aws:states:eu-west-2:123456789012:stateMachine:dc-data-baker-current-elections"
	abPrefix  = "addressbase/development/addressbase_partitioned/"
	cePrefix  = "addressbase/development/current_elections_parquet/"
	listExecs = "AWSStepFunctions.ListExecutions"
)

// fakeRunner answers `pulumi stack output` with out or err, and records the
// command line.
type fakeRunner struct {
	out  []byte
	err  error
	args []string
}

func (f *fakeRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	f.args = append([]string{name}, args...)
	return f.out, f.err
}

// exec is one execution in the fake: start and stop relative to now; a zero
// stop means still running.
type exec struct {
	name   string
	status string
	start  time.Duration
	stop   time.Duration
}

// fakeSFN serves ListExecutions over the real JSON 1.0 protocol, newest
// first, pageSize per page unless maxResults is smaller.
func fakeSFN(t *testing.T, pageSize int, execs map[string][]exec) (*awsfake.Server, *sfn.Client) {
	t.Helper()
	srv := awsfake.New(awsfake.JSON10, awsfake.Routes{
		listExecs: func(body []byte) (any, error) {
			in, err := awsfake.Decode[struct {
				StateMachineArn string `json:"stateMachineArn"`
				MaxResults      int    `json:"maxResults"`
				NextToken       string `json:"nextToken"`
			}](body)
			if err != nil {
				return nil, err
			}
			all, ok := execs[in.StateMachineArn]
			if !ok {
				return nil, &awsfake.APIError{Code: "StateMachineDoesNotExist", Message: "State Machine Does Not Exist: '" + in.StateMachineArn + "'"}
			}
			from := 0
			if in.NextToken != "" {
				from, _ = strconv.Atoi(in.NextToken)
			}
			n := pageSize
			if in.MaxResults > 0 && in.MaxResults < n {
				n = in.MaxResults
			}
			to := min(from+n, len(all))
			items := []map[string]any{}
			for _, e := range all[from:to] {
				item := map[string]any{
					"executionArn":    strings.Replace(in.StateMachineArn, ":stateMachine:", ":execution:", 1) + ":" + e.name,
					"stateMachineArn": in.StateMachineArn,
					"name":            e.name,
					"status":          e.status,
					"startDate":       float64(now.Add(e.start).Unix()),
				}
				if e.stop != 0 {
					item["stopDate"] = float64(now.Add(e.stop).Unix())
				}
				items = append(items, item)
			}
			out := map[string]any{"executions": items}
			if to < len(all) {
				out["nextToken"] = strconv.Itoa(to)
			}
			return out, nil
		},
	})
	t.Cleanup(srv.Close)
	return srv, sfn.NewFromConfig(srv.Config())
}

// fakeS3 is gofakes3 behind httptest; objects are seeded with LastModified
// = now + age.
type object struct {
	key  string
	age  time.Duration
	body []byte // nil: a few parquet-like bytes
}

func fakeS3(t *testing.T, objects []object) *s3.Client {
	t.Helper()
	clock := gofakes3.FixedTimeSource(now)
	backend := s3mem.New(s3mem.WithTimeSource(clock))
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	for _, o := range objects {
		clock.Advance(-clock.Since(now) - o.age)
		body := o.body
		if body == nil {
			body = []byte("PAR1")
		}
		if _, err := backend.PutObject(bucket, o.key, map[string]string{}, bytes.NewReader(body), int64(len(body)), nil); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKE", "SECRETFAKE", ""),
	})
}

// developmentFixture: addressbase ran twice and is fine but its partitions
// are 3 days old; currentElections has 7 executions (one running, the last
// finished one failed) served 3 per page.
func developmentFixture(t *testing.T) (*awsfake.Server, *sfn.Client, *s3.Client) {
	srv, sf := fakeSFN(t, 3, map[string][]exec{
		abARN: {
			{"nightly-2026-11-23", "SUCCEEDED", -72 * time.Hour, -72*time.Hour + 4*time.Minute + 10*time.Second},
			{"first-deploy", "SUCCEEDED", -96 * time.Hour, -96*time.Hour + 5*time.Minute},
		},
		ceARN: {
			{"elections-set-changed-7", "RUNNING", -95 * time.Second, 0},
			{"nightly-2026-11-26", "FAILED", -9 * time.Hour, -9*time.Hour + 47*time.Second},
			{"nightly-2026-11-25", "SUCCEEDED", -33 * time.Hour, -33*time.Hour + 98*time.Second},
			{"nightly-2026-11-24", "SUCCEEDED", -57 * time.Hour, -57*time.Hour + 101*time.Second},
			{"nightly-2026-11-23", "ABORTED", -81 * time.Hour, -81*time.Hour + 2*time.Second},
			{"nightly-2026-11-22", "SUCCEEDED", -105 * time.Hour, -105*time.Hour + 99*time.Second},
			{"nightly-2026-11-21", "SUCCEEDED", -129 * time.Hour, -129*time.Hour + 97*time.Second},
		},
	})
	s3c := fakeS3(t, []object{
		{abPrefix + "first_letter=B/part-00000.parquet", 72 * time.Hour, nil},
		{abPrefix + "first_letter=M/part-00000.parquet", 73 * time.Hour, nil},
		{cePrefix + "BT1.parquet", 33 * time.Hour, nil},
		{cePrefix + "ME14.parquet", 33*time.Hour - 90*time.Second, nil},
		{cePrefix + "SW1A.parquet", 34 * time.Hour, nil},
		{"addressbase/production/current_elections_parquet/ME14.parquet", time.Minute, nil}, // other prefix: ignored
		// Beside the outcode files, not among them.
		{"addressbase/development/current_elections_manifest/manifest.json", 33 * time.Hour, lastManifest(t)},
	})
	return srv, sf, s3c
}

// lastManifest is current elections' manifest after a run that an
// operator accepted: a by-election's ballots went, the May ones came.
func lastManifest(t *testing.T) []byte {
	m := manifest.Manifest{
		Version: manifest.Version, Product: "current_elections_parquet", ListColumn: "ballot_ids",
		Inputs: []manifest.Input{{Name: "areas", URI: "s3://ee.data-cache.production/ballots-with-wkt/current_elections.csv", Size: 12, Hash: "sha256:00"}},
		Totals: manifest.Totals{Outcodes: 3, UPRNs: 40, FileRows: 30, RowsWithItems: 24, DistinctItems: 2, Areas: 2, Pieces: 9},
		Outcodes: map[string]manifest.Outcode{
			"BT1":  {SHA256: "aa", Rows: 10, RowsWithItems: 4, DistinctItems: 1},
			"ME14": {SHA256: "bb", Rows: 20, RowsWithItems: 20, DistinctItems: 2},
			"SW1A": {SHA256: "cc"},
		},
		Items: map[string]int64{"local.maidstone.2027-05-06": 20, "parl.belfast-east.2027-05-06": 4},
		Changes: manifest.Changes{
			Previous: true, OutcodesChanged: 2, OutcodesAdded: 0, OutcodesRemoved: 0, ChangedShare: 2.0 / 3,
			UPRNsGained: 24, UPRNsLost: 3, ItemsAdded: []string{"local.maidstone.2027-05-06", "parl.belfast-east.2027-05-06"},
			ItemsRemoved: []string{"local.maidstone.by.2026-11-20"}, ShareBefore: 0.075, ShareAfter: 0.6,
		},
		Accepted: []string{"the share of UPRNs with ballot_ids moved from 7.5% (3 of 40) to 60.0% (24 of 40), by 52.5 points, more than the 10.0 allowed"},
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readOutputs(t *testing.T, stack, file string) status.Outputs {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRunner{out: b}
	o, err := status.ReadOutputs(context.Background(), r, stack)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"pulumi", "stack", "output", "--json", "--stack", stack}, r.args); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	return o
}

func TestReportGolden(t *testing.T) {
	srv, sf, s3c := developmentFixture(t)
	o := readOutputs(t, "development", "development-outputs.json")
	r, err := status.Collect(context.Background(), sf, s3c, o, status.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := status.WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "development.txt"), text.Bytes())
	var js bytes.Buffer
	if err := status.WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "development.json"), js.Bytes())

	// Five of currentElections' seven executions at three per page need two
	// calls, the second asking for only the two still missing; addressbase
	// fits in one.
	var got []string
	for _, c := range srv.Calls(listExecs) {
		got = append(got, string(c.Body))
	}
	want := []string{
		`{"maxResults":5,"stateMachineArn":"` + abARN + `"}`,
		`{"maxResults":5,"stateMachineArn":"` + ceARN + `"}`,
		`{"maxResults":2,"nextToken":"3","stateMachineArn":"` + ceARN + `"}`,
	}
	if diff := cmp.Diff(want, got, cmp.Transformer("json", func(s string) map[string]any {
		var m map[string]any
		_ = json.Unmarshal([]byte(s), &m)
		return m
	})); diff != "" {
		t.Errorf("ListExecutions calls (-want +got):\n%s", diff)
	}
}

// The JSON is for machines: check it decodes to the values, not just the bytes.
func TestReportJSON(t *testing.T) {
	_, sf, s3c := developmentFixture(t)
	o := readOutputs(t, "development", "development-outputs.json")
	r, err := status.Collect(context.Background(), sf, s3c, o, status.Options{Now: now, Executions: 2, MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := status.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var got status.Report
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("decode %s: %v", buf.String(), err)
	}
	var last manifest.Manifest
	if err := json.Unmarshal(lastManifest(t), &last); err != nil {
		t.Fatal(err)
	}
	stop := now.Add(-9*time.Hour + 47*time.Second)
	abNewest := now.Add(-72 * time.Hour)
	ceNewest := now.Add(-33*time.Hour + 90*time.Second)
	want := status.Report{
		Stack: "development", CheckedAt: now, MaxAge: "24h0m0s",
		Layers: []status.Layer{
			{Layer: "addressbase", StateMachineArn: abARN, Executions: []status.Execution{
				{Name: "nightly-2026-11-23", Status: "SUCCEEDED", StartDate: now.Add(-72 * time.Hour), StopDate: ptr(now.Add(-72*time.Hour + 250*time.Second)), DurationSeconds: 250},
				{Name: "first-deploy", Status: "SUCCEEDED", StartDate: now.Add(-96 * time.Hour), StopDate: ptr(now.Add(-96*time.Hour + 300*time.Second)), DurationSeconds: 300},
			}},
			{Layer: "currentElections", StateMachineArn: ceARN, Executions: []status.Execution{
				{Name: "elections-set-changed-7", Status: "RUNNING", StartDate: now.Add(-95 * time.Second), DurationSeconds: 95},
				{Name: "nightly-2026-11-26", Status: "FAILED", StartDate: now.Add(-9 * time.Hour), StopDate: &stop, DurationSeconds: 47},
			}},
		},
		Outputs: []status.Freshness{
			{Output: "addressbasePartitionedLocation", Location: "s3://" + bucket + "/" + abPrefix, Objects: 2, TotalBytes: 8, Newest: &abNewest, NewestKey: abPrefix + "first_letter=B/part-00000.parquet", AgeSeconds: 72 * 3600, Stale: true},
			{Output: "currentElectionsOutputLocation", Location: "s3://" + bucket + "/" + cePrefix, Objects: 3, TotalBytes: 12, Newest: &ceNewest, NewestKey: cePrefix + "ME14.parquet", AgeSeconds: 33*3600 - 90, Stale: true, LastRun: &status.LastRun{
				Key: "addressbase/development/current_elections_manifest/manifest.json", Summary: last.Changes.Summary(&last),
				Totals: last.Totals, Changes: last.Changes, Accepted: last.Accepted,
			}},
		},
		Warnings: []string{
			"currentElections: the last finished execution nightly-2026-11-26 FAILED at 2026-11-26T03:00:47Z",
			"addressbasePartitionedLocation: newest object is 3d00h old (" + abPrefix + "first_letter=B/part-00000.parquet), older than 24h00m",
			"currentElectionsOutputLocation: newest object is 32h58m old (" + cePrefix + "ME14.parquet), older than 24h00m",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }

// A freshly deployed stack: the state machines have never run and the
// output prefixes are empty.
func TestNoExecutions(t *testing.T) {
	_, sf := fakeSFN(t, 100, map[string][]exec{abARN: nil, ceARN: nil})
	s3c := fakeS3(t, nil)
	o := readOutputs(t, "development", "development-outputs.json")
	r, err := status.Collect(context.Background(), sf, s3c, o, status.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := status.WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "no-executions.txt"), text.Bytes())
}

// Exactly at the threshold is fresh; one second older is stale.
func TestStaleThreshold(t *testing.T) {
	for _, tc := range []struct {
		age       time.Duration
		wantStale bool
	}{
		{36 * time.Hour, false},
		{36*time.Hour + time.Second, true},
		{time.Minute, false},
	} {
		t.Run(tc.age.String(), func(t *testing.T) {
			s3c := fakeS3(t, []object{{key: cePrefix + "ME14.parquet", age: tc.age}, {key: cePrefix + "BT1.parquet", age: tc.age + time.Hour}})
			o := status.Outputs{Stack: "development", Locations: []status.Location{{Output: "currentElectionsOutputLocation", URI: "s3://" + bucket + "/" + cePrefix, Bucket: bucket, Prefix: cePrefix}}}
			r, err := status.Collect(context.Background(), nil, s3c, o, status.Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Outputs[0].Stale; got != tc.wantStale {
				t.Errorf("Stale = %v, want %v", got, tc.wantStale)
			}
			if got := len(r.Warnings) == 1; got != tc.wantStale {
				t.Errorf("warnings = %q, want one only when stale", r.Warnings)
			}
		})
	}
}

// Every page of the listing counts: the newest object is on the second page.
func TestFreshnessListsAllPages(t *testing.T) {
	var objs []object
	for i := range 1001 {
		objs = append(objs, object{key: fmt.Sprintf("%sK%04d.parquet", cePrefix, i), age: 40*time.Hour - time.Duration(i)*time.Second})
	}
	s3c := fakeS3(t, objs)
	o := status.Outputs{Stack: "development", Locations: []status.Location{{Output: "currentElectionsOutputLocation", URI: "s3://" + bucket + "/" + cePrefix, Bucket: bucket, Prefix: cePrefix}}}
	r, err := status.Collect(context.Background(), nil, s3c, o, status.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	f := r.Outputs[0]
	if f.Objects != 1001 || f.NewestKey != cePrefix+"K1000.parquet" || f.AgeSeconds != 40*3600-1000 {
		t.Errorf("got %d objects, newest %s aged %vs; want 1001, K1000, %d", f.Objects, f.NewestKey, f.AgeSeconds, 40*3600-1000)
	}
}

func TestPulumiFails(t *testing.T) {
	r := &fakeRunner{err: errors.New("exit status 255: error: no stack named 'staging' found")}
	_, err := status.ReadOutputs(context.Background(), r, "staging")
	want := "read outputs of stack staging (pulumi stack output --json --stack staging): exit status 255: error: no stack named 'staging' found"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestAWSErrorsNameTheResource(t *testing.T) {
	_, sf := fakeSFN(t, 10, map[string][]exec{}) // knows no state machine
	o := status.Outputs{Stack: "development", StateMachines: []status.StateMachine{{Layer: "addressbase", ARN: abARN, Region: "eu-west-2"}}}
	_, err := status.Collect(context.Background(), sf, nil, o, status.Options{Now: now})
	if err == nil || !strings.Contains(err.Error(), "list executions of "+abARN) || !strings.Contains(err.Error(), "StateMachineDoesNotExist") {
		t.Errorf("error = %v, want one naming the ARN and StateMachineDoesNotExist", err)
	}
	s3c := fakeS3(t, nil)
	o = status.Outputs{Stack: "development", Locations: []status.Location{{Output: "x", URI: "s3://missing-bucket/p/", Bucket: "missing-bucket", Prefix: "p/"}}}
	_, err = status.Collect(context.Background(), nil, s3c, o, status.Options{Now: now})
	if err == nil || !strings.Contains(err.Error(), "list s3://missing-bucket/p/") || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("error = %v, want one naming the location and NoSuchBucket", err)
	}
}

func TestParseOutputs(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string
	}{
		{"not JSON", `error: stack has no outputs`, "stack production: outputs are not a JSON object: invalid character 'e' looking for beginning of value"},
		{"array", `["a"]`, "stack production: outputs are not a JSON object: json: cannot unmarshal array into Go value of type map[string]json.RawMessage"},
		{"number ARN", `{"addressbaseStateMachineArn": 42}`, "stack production: output addressbaseStateMachineArn: want a string, got 42"},
		{"secret", `{"currentElectionsOutputLocation": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "[secret]"}}`,
			`stack production: output currentElectionsOutputLocation: want a string, got {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "[secret]"}`},
		{"bad ARN", `{"addressbaseStateMachineArn": "arn:aws:states:eu-west-2:123456789012:execution:x:y"}`,
			`stack production: output addressbaseStateMachineArn: "arn:aws:states:eu-west-2:123456789012:execution:x:y" is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)`},
		{"https location", `{"currentElectionsOutputLocation": "https://bucket.s3.amazonaws.com/p/"}`,
			`stack production: output currentElectionsOutputLocation: "https://bucket.s3.amazonaws.com/p/" is not an S3 location (s3://bucket/prefix/)`},
		{"no trailing slash", `{"currentElectionsOutputLocation": "s3://bucket/current_elections_parquet"}`,
			`stack production: output currentElectionsOutputLocation: "s3://bucket/current_elections_parquet" is not an S3 location (s3://bucket/prefix/)`},
		{"nothing to report", `{"glueDatabaseName": "dc_data_baker"}`, "stack production: no *StateMachineArn or *Location outputs (has it been deployed?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := status.ParseOutputs("production", []byte(tc.json))
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v\nwant     %s", err, tc.want)
			}
		})
	}
}

func TestParseOutputsValues(t *testing.T) {
	o := readOutputs(t, "development", "development-outputs.json")
	want := status.Outputs{
		Stack: "development",
		StateMachines: []status.StateMachine{
			{Layer: "addressbase", Output: "addressbaseStateMachineArn", ARN: abARN, Region: "eu-west-2"},
			{Layer: "currentElections", Output: "currentElectionsStateMachineArn", ARN: ceARN, Region: "eu-west-2"},
		},
		Locations: []status.Location{
			{Output: "addressbasePartitionedLocation", URI: "s3://" + bucket + "/" + abPrefix, Bucket: bucket, Prefix: abPrefix},
			{Output: "currentElectionsOutputLocation", URI: "s3://" + bucket + "/" + cePrefix, Bucket: bucket, Prefix: cePrefix},
		},
	}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                     "0s",
		42*time.Second + 400*time.Millisecond: "42s",
		3*time.Minute + 2*time.Second:         "3m02s",
		5*time.Hour + 7*time.Minute:           "5h07m",
		36 * time.Hour:                        "36h00m",
		52 * time.Hour:                        "2d04h",
	} {
		if got := status.Human(d); got != want {
			t.Errorf("Human(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestExecRunner(t *testing.T) {
	out, err := status.ExecRunner{}.Run(context.Background(), "sh", "-c", "echo '{}'")
	if err != nil || string(out) != "{}\n" {
		t.Errorf("Run = %q, %v; want {} and no error", out, err)
	}
	_, err = status.ExecRunner{Dir: t.TempDir()}.Run(context.Background(), "sh", "-c", "echo 'error: no stack named development found' >&2; exit 255")
	if err == nil || err.Error() != "exit status 255: error: no stack named development found" {
		t.Errorf("error = %v, want exit status 255 with stderr", err)
	}
}
