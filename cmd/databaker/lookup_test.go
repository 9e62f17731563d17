package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
	"github.com/DemocracyClub/dc-data-baker/internal/status"
)

// bakeSample bakes testdata/sample with the bake package into a temp dir.
func bakeSample(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	sample := "../../testdata/sample/"
	if _, err := bake.Run(context.Background(), bake.Options{
		Inputs: map[string]string{
			addressbase.Input:             sample + "addressbase_cleaned.csv",
			currentelections.BallotsInput: sample + "current_elections.csv",
		},
		Out: out,
	}, layers.Bake()); err != nil {
		t.Fatal(err)
	}
	return out
}

// reviewRow is a row of the future boundary-reviews layer (the contract's
// columns), written here to show that a declared layer is picked up.
type reviewRow struct {
	UPRN              string   `parquet:"uprn"`
	Address           string   `parquet:"address"`
	Postcode          string   `parquet:"postcode"`
	AddressbaseSource string   `parquet:"addressbase_source"`
	BoundaryReviews   []string `parquet:"boundary_reviews,list"`
	Outcode           string   `parquet:"outcode"`
}

func reviewFile(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	rows := []reviewRow{
		{UPRN: "200003721901", Address: "1 HIGH STREET, MAIDSTONE", Postcode: "ME14 1AA", AddressbaseSource: "s",
			BoundaryReviews: []string{`{"boundary_review_id":7,"slug":"maidstone-2027","status":"CURRENT"}`}, Outcode: "ME14"},
		{UPRN: "200003721946", Address: "46 HIGH STREET, MAIDSTONE", Postcode: "ME14 1AD", AddressbaseSource: "s",
			BoundaryReviews: []string{}, Outcode: "ME14"},
	}
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// twoLayers is ME14 1AA's table with the boundary-reviews column.
var twoLayers = fmt.Sprintf("UPRN          ADDRESS                   %-83s  BOUNDARY REVIEWS\n", "BALLOT IDS") +
	"200003721901  1 HIGH STREET, MAIDSTONE  local.maidstone.2026-05-07, local.maidstone.north.2026-05-07, mayor.kent.2026-05-07  maidstone-2027\n"

func runLookupCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), append([]string{"lookup"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func TestLookupLocal(t *testing.T) {
	out := bakeSample(t)
	me14 := filepath.Join(out, currentelections.OutputFolder, "ME14.parquet")
	table := "ME14 1AA: 1 address, from " + me14 + "\n\n" +
		"UPRN          ADDRESS                   BALLOT IDS\n" +
		"200003721901  1 HIGH STREET, MAIDSTONE  local.maidstone.2026-05-07, local.maidstone.north.2026-05-07, mayor.kent.2026-05-07\n"
	for _, tc := range []struct {
		name         string
		args         []string
		code         int
		stdout       string // exact, when not ""
		stderrSubstr string
	}{
		{"postcode", []string{"ME14 1AA", "--out", out}, 0, table, ""},
		{"two arguments, any case", []string{"--out", out, "me14", "1aa"}, 0, table, ""},
		{"no space", []string{"ME141AA", "--out", out}, 0, table, ""},
		{"uprn", []string{"200003721901", "--out", out}, 0, table, ""},
		{"empty outcode", []string{"TN12 1AA", "--out", out}, 0,
			"no elections in TN12 (" + filepath.Join(out, currentelections.OutputFolder, "TN12.parquet") + " is empty)\n", ""},
		{"postcode not in file", []string{"ME14 9ZZ", "--out", out}, 1, "",
			"databaker lookup: postcode ME14 9ZZ is not in " + me14 + ", which holds every address of outcode ME14: check the postcode\n"},
		{"no file for outcode", []string{"SW1A 1AA", "--out", out}, 1, "",
			"databaker lookup: no file for outcode SW1A: " + filepath.Join(out, currentelections.OutputFolder, "SW1A.parquet") + " does not exist"},
		{"unknown uprn", []string{"12", "--out", out}, 1, "", "databaker lookup: UPRN 12 is in none of the 4 outcode files in "},
		{"no bake output", []string{"ME14 1AA", "--out", filepath.Join(out, "nope")}, 1, "", "databaker lookup: no bake output in "},
		{"bad postcode", []string{"ME14 1A", "--out", out}, 2, "",
			"databaker lookup: \"ME14 1A\" is not a UK postcode (like ME14 1AA: outcode, then digit and two letters) or a UPRN (1 to 12 digits)\nRun 'databaker lookup --help' for usage.\n"},
		{"nothing to look up", []string{"--out", out}, 2, "", "a postcode or UPRN is required"},
		{"out and stack", []string{"ME14 1AA", "--out", out, "--stack", "production"}, 2, "", "give --out or --stack, not both"},
		{"uprn with stack", []string{"200003721901", "--stack", "production"}, 2, "", "a UPRN lookup searches every outcode file, so it needs a local bake (--out)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runLookupCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if tc.stdout != "" || tc.code != 0 {
				if d := cmp.Diff(tc.stdout, stdout); d != "" {
					t.Errorf("stdout (-want +got):\n%s", d)
				}
			}
			if !strings.Contains(stderr, tc.stderrSubstr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderrSubstr)
			}
		})
	}
}

func TestLookupJSON(t *testing.T) {
	out := bakeSample(t)
	code, stdout, stderr := runLookupCmd(t, "ME14 1AA", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	want := `{
  "postcode": "ME14 1AA",
  "outcode": "ME14",
  "files": [
    {
      "column": "ballot_ids",
      "location": "` + filepath.Join(out, currentelections.OutputFolder, "ME14.parquet") + `",
      "rows": 100
    }
  ],
  "addresses": [
    {
      "uprn": "200003721901",
      "address": "1 HIGH STREET, MAIDSTONE",
      "postcode": "ME14 1AA",
      "ballot_ids": [
        "local.maidstone.2026-05-07",
        "local.maidstone.north.2026-05-07",
        "mayor.kent.2026-05-07"
      ]
    }
  ]
}
`
	if d := cmp.Diff(want, stdout); d != "" {
		t.Errorf("JSON (-want +got):\n%s", d)
	}
	// An outcode without elections is an answer, not an error.
	code, stdout, _ = runLookupCmd(t, "TN12 1AA", "--out", out, "--json")
	var res struct {
		Files []struct {
			Rows int `json:"rows"`
		} `json:"files"`
		Addresses []json.RawMessage `json:"addresses"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || code != 0 || len(res.Files) != 1 || res.Files[0].Rows != 0 || res.Addresses == nil || len(res.Addresses) != 0 {
		t.Errorf("TN12 --json: exit %d, err %v:\n%s", code, err, stdout)
	}
}

// TestLookupShowsDeclaredLayers: a boundary-reviews file beside the bake is
// shown as one more column, from the layer's declared product alone.
func TestLookupShowsDeclaredLayers(t *testing.T) {
	out := bakeSample(t)
	dir := filepath.Join(out, "current_boundary_reviews_parquet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ME14.parquet"), reviewFile(t), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runLookupCmd(t, "ME14 1AA", "--out", out)
	want := twoLayers
	if code != 0 || !strings.HasSuffix(stdout, want) {
		t.Errorf("exit %d, stdout:\n%s\nwant it to end with:\n%s\nstderr:\n%s", code, stdout, want, stderr)
	}
	code, stdout, _ = runLookupCmd(t, "ME14 1AD", "--out", out, "--json")
	if code != 0 || !strings.Contains(stdout, `"boundary_reviews": []`) || !strings.Contains(stdout, `"column": "boundary_reviews"`) {
		t.Errorf("ME14 1AD --json: exit %d:\n%s", code, stdout)
	}
}

// TestLookupStack reads the stack's output location as status does, then
// the outcode file with S3 GetObject, from gofakes3.
func TestLookupStack(t *testing.T) {
	out := bakeSample(t)
	const bucket = "pollingstations.private.data"
	srv := s3test.New(t, bucket)
	put := func(key string, data []byte) {
		t.Helper()
		if _, err := srv.Backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, oc := range []string{"ME14", "TN12"} {
		data, err := os.ReadFile(filepath.Join(out, currentelections.OutputFolder, oc+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		put("addressbase/development/current_elections_parquet/"+oc+".parquet", data)
	}
	put("addressbase/development/current_boundary_reviews_parquet/ME14.parquet", reviewFile(t))
	runner := &stackOutputs{out: `{"currentElectionsOutputLocation": "s3://` + bucket + `/addressbase/development/current_elections_parquet/"}`}
	old := stackClients
	stackClients = func(context.Context, string) (status.Runner, status.SFNAPI, *s3.Client, error) {
		return runner, nil, srv.Client, nil
	}
	t.Cleanup(func() { stackClients = old })

	code, stdout, stderr := runLookupCmd(t, "ME14 1AA", "--stack", "development")
	want := "ME14 1AA: 1 address, from s3://" + bucket + "/addressbase/development/current_elections_parquet/ME14.parquet\n\n" +
		twoLayers
	if code != 0 || stdout != want {
		t.Errorf("exit %d; stdout (-want +got):\n%s\nstderr:\n%s", code, cmp.Diff(want, stdout), stderr)
	}
	if runner.stack != "development" {
		t.Errorf("pulumi asked for stack %q", runner.stack)
	}
	code, stdout, _ = runLookupCmd(t, "TN12 1AA", "--stack", "development")
	if want := "no elections in TN12 (s3://" + bucket + "/addressbase/development/current_elections_parquet/TN12.parquet is empty)\n"; code != 0 || stdout != want {
		t.Errorf("TN12: exit %d, stdout %q, want %q", code, stdout, want)
	}
	code, _, stderr = runLookupCmd(t, "ME15 1AA", "--stack", "development")
	if want := "databaker lookup: no file for outcode ME15: s3://" + bucket + "/addressbase/development/current_elections_parquet/ME15.parquet does not exist"; code != 1 || !strings.HasPrefix(stderr, want) {
		t.Errorf("ME15: exit %d, stderr %q, want it to start with %q", code, stderr, want)
	}
}
