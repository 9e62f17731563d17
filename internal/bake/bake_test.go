package bake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
)

const fixtures = "../../testdata/fixtures"

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantJSON(t *testing.T, name string) map[string][]wantRow {
	t.Helper()
	var w map[string][]wantRow
	if err := json.Unmarshal([]byte(fixture(t, name)), &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

type env struct {
	dir, ab, ballots, out string
}

// newEnv puts the fixture ballots and addressbase into a temp dir; the
// AddressBase file keeps the same path across runs so its source URI (and
// therefore unchanged outcode bytes) stays the same.
func newEnv(t *testing.T, addressbase string) env {
	t.Helper()
	d := t.TempDir()
	e := env{dir: d, ab: filepath.Join(d, "in", "addressbase_cleaned.csv"), ballots: filepath.Join(d, "in", "current_elections.csv"), out: filepath.Join(d, "out")}
	if err := os.MkdirAll(filepath.Join(d, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, e.ballots, fixture(t, "ballots.csv"))
	writeFile(t, e.ab, fixture(t, addressbase))
	return e
}

func (e env) run(t *testing.T) (bake.Summary, error) {
	t.Helper()
	var progress bytes.Buffer
	s, err := bake.Run(context.Background(), bake.Options{Inputs: inputs(e.ab, e.ballots), Out: e.out, Progress: &progress, KeepIntermediate: true}, layers.Bake())
	t.Logf("progress:\n%s", progress.String())
	return s, err
}

func (e env) source() string { return (&url.URL{Scheme: "file", Path: e.ab}).String() }

func TestBakeFixturesTwoRuns(t *testing.T) {
	e := newEnv(t, "addressbase_run1.csv")
	s, err := e.run(t)
	if err != nil {
		t.Fatal(err)
	}
	ocDir := filepath.Join(e.out, currentelections.OutputFolder)
	if d := cmp.Diff(wantJSON(t, "want_run1.json"), readOutcodes(t, ocDir, e.source())); d != "" {
		t.Errorf("run 1 outcodes (-want +got):\n%s", d)
	}
	check := func(name string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	check("AddressRows", int(s.AddressRows), 13)
	check("JoinedRows", int(s.JoinedRows), 13)
	check("OutputRows", int(s.OutputRows), 13)
	check("Letters", s.Letters, 3)
	check("Elections", s.Elections, 3)
	check("BallotsSkipped", s.BallotsSkipped, 1)
	check("Outcodes", s.Outcodes, 4)
	check("Written", s.Written, 4)
	check("Empty", s.Empty, 1)
	check("Deleted", s.Deleted, 0)

	// The intermediate layers: layout, schema and row counts.
	for letter, n := range map[string]int{"A": 10, "B": 2, "C": 1} {
		part := filepath.Join("first_letter="+letter, "part-00000.parquet")
		ab := readRows[addressbase.Row](t, filepath.Join(e.out, addressbase.PartitionedName, part), addressBaseSchema)
		if len(ab) != n {
			t.Errorf("%s letter %s: %d rows, want %d", addressbase.PartitionedName, letter, len(ab), n)
		}
		for _, r := range ab {
			if r.AddressbaseSource != e.source() || !strings.HasPrefix(r.Postcode, letter) || !strings.HasPrefix(r.Postcode, r.Outcode+" ") {
				t.Errorf("%s letter %s: bad row %+v", addressbase.PartitionedName, letter, r)
			}
		}
		j := readRows[outRow](t, filepath.Join(e.out, currentelections.JoinedName, part), joinedSchema)
		if len(j) != n {
			t.Errorf("%s letter %s: %d rows, want %d", currentelections.JoinedName, letter, len(j), n)
		}
	}

	before := map[string]os.FileInfo{}
	for _, oc := range []string{"AA1", "AA2", "BB1"} {
		fi, err := os.Stat(filepath.Join(ocDir, oc+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		before[oc] = fi
	}

	// Run 2: CC1 is gone from AddressBase, everything else is the same.
	writeFile(t, e.ab, fixture(t, "addressbase_run2.csv"))
	s, err = e.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantJSON(t, "want_run2.json"), readOutcodes(t, ocDir, e.source())); d != "" {
		t.Errorf("run 2 outcodes (-want +got):\n%s", d)
	}
	check("run 2 Outcodes", s.Outcodes, 3)
	check("run 2 Written", s.Written, 0)
	check("run 2 Unchanged", s.Unchanged, 3)
	check("run 2 Deleted", s.Deleted, 1)
	for oc, fi := range before {
		after, err := os.Stat(filepath.Join(ocDir, oc+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(fi, after) || !after.ModTime().Equal(fi.ModTime()) {
			t.Errorf("%s.parquet was rewritten although its content is unchanged", oc)
		}
	}
	if d := cmp.Diff([]string{".out.lock", "in", "out"}, siblings(t, e.dir)); d != "" {
		t.Errorf("leftovers beside --out (-want +got):\n%s", d)
	}
}

func TestBakeIdenticalDuplicateDropped(t *testing.T) {
	e := newEnv(t, "addressbase_dup_identical.csv")
	s, err := e.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantJSON(t, "want_run1.json"), readOutcodes(t, filepath.Join(e.out, currentelections.OutputFolder), e.source())); d != "" {
		t.Errorf("outcodes (-want +got):\n%s", d)
	}
	if s.DuplicatesDropped != 1 || s.AddressRows != 14 || s.OutputRows != 13 {
		t.Errorf("summary = %+v, want 1 duplicate dropped, 14 rows in, 13 out", s)
	}
}

func TestBakeConflictingDuplicateLeavesOutputIntact(t *testing.T) {
	e := newEnv(t, "addressbase_run1.csv")
	if _, err := e.run(t); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, e.out)
	writeFile(t, e.ab, fixture(t, "addressbase_dup_conflict.csv"))
	_, err := e.run(t)
	if err == nil || !strings.Contains(err.Error(), "1002") {
		t.Fatalf("err = %v, want a conflicting-duplicate error naming UPRN 1002", err)
	}
	if d := cmp.Diff(want, snapshot(t, e.out)); d != "" {
		t.Errorf("--out changed after a failed run (-before +after):\n%s", d)
	}
	if d := cmp.Diff([]string{".out.lock", "in", "out"}, siblings(t, e.dir)); d != "" {
		t.Errorf("leftovers beside --out (-want +got):\n%s", d)
	}
}

// The same UPRN under postcodes with different first letters lands in two
// partitions, so no single letter's split can see it: the bake must.
func TestBakeConflictingDuplicateAcrossLettersFails(t *testing.T) {
	e := newEnv(t, "addressbase_run1.csv")
	if _, err := e.run(t); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, e.out)
	writeFile(t, e.ab, fixture(t, "addressbase_dup_two_letters.csv"))
	_, err := e.run(t)
	if err == nil || !strings.Contains(err.Error(), "1 uprns have conflicting duplicate rows under different postcodes, e.g. 1001 (letters A, B)") {
		t.Fatalf("err = %v, want a conflicting-duplicate error naming UPRN 1001 in letters A and B", err)
	}
	if d := cmp.Diff(want, snapshot(t, e.out)); d != "" {
		t.Errorf("--out changed after a failed run (-before +after):\n%s", d)
	}
}

func TestBakeBadInput(t *testing.T) {
	good := fixture(t, "addressbase_run1.csv")
	goodBallots := fixture(t, "ballots.csv")
	for _, tc := range []struct {
		name        string
		addressbase string // "" = good
		ballots     string // "" = good
		file        string // "ab" or "ballots": the file the error must name
		want        string // e.g. ":3:" plus text
	}{
		{name: "missing column", addressbase: good + "9,X,AA1 1AA,SRID=4326;POINT(0 0)\r\n", file: "ab", want: ":14: got 4 columns"},
		{name: "extra column", addressbase: "9,X,AA1 1AA,SRID=4326;POINT(0 0),D,Z\r\n" + good, file: "ab", want: ":1: got 6 columns"},
		{name: "bad location", addressbase: good + "9,X,AA1 1AA,SRID=4326;POINT(a b),D\r\n", file: "ab", want: ":14: field location"},
		{name: "empty postcode", addressbase: good + "9,X,,SRID=4326;POINT(0 0),D\r\n", file: "ab", want: ":14: field postcode"},
		{name: "non-UTF-8", addressbase: good + "9,CAF\xc3\x28,AA1 1AA,SRID=4326;POINT(0 0),D\r\n", file: "ab", want: ":14: field address"},
		{name: "empty addressbase", addressbase: "\x00", file: "ab", want: ":1:"},
		{name: "header row", addressbase: "uprn,address,postcode,location,address_type\r\n" + good, file: "ab", want: ":1: first row looks like a header"},
		{name: "ballots header", ballots: "election_id,division_id,geometry,source_table\r\n", file: "ballots", want: ":1: header"},
		{name: "ballots bad wkt", ballots: goodBallots + "local.bad.2026-05-07,9,\"POLYGON((0 0,1 0))\",Division\r\n", file: "ballots", want: ":7: election local.bad.2026-05-07"},
		{name: "ballots empty", ballots: "\x00", file: "ballots", want: ":1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "addressbase_run1.csv")
			if _, err := e.run(t); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, e.out)
			// "\x00" stands for an empty file.
			if tc.addressbase == "\x00" {
				writeFile(t, e.ab, "")
			} else if tc.addressbase != "" {
				writeFile(t, e.ab, tc.addressbase)
			}
			if tc.ballots == "\x00" {
				writeFile(t, e.ballots, "")
			} else if tc.ballots != "" {
				writeFile(t, e.ballots, tc.ballots)
			}
			_, err := e.run(t)
			if err == nil {
				t.Fatal("no error")
			}
			path := e.ab
			if tc.file == "ballots" {
				path = e.ballots
			}
			if !strings.Contains(err.Error(), path+tc.want) {
				t.Errorf("error %q does not contain %q", err, path+tc.want)
			}
			if d := cmp.Diff(before, snapshot(t, e.out)); d != "" {
				t.Errorf("--out changed after a failed run (-before +after):\n%s", d)
			}
			if d := cmp.Diff([]string{".out.lock", "in", "out"}, siblings(t, e.dir)); d != "" {
				t.Errorf("leftovers beside --out (-want +got):\n%s", d)
			}
		})
	}
}

func TestBakeFreshOutUntouchedOnError(t *testing.T) {
	e := newEnv(t, "addressbase_run1.csv")
	writeFile(t, e.ballots, "nope\r\n")
	if _, err := e.run(t); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(e.out); !os.IsNotExist(err) {
		t.Errorf("--out exists after a failed first run: %v", err)
	}
}

func TestBakeRefusesForeignOut(t *testing.T) {
	e := newEnv(t, "addressbase_run1.csv")
	if err := os.MkdirAll(e.out, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(e.out, "precious.txt"), "keep me")
	_, err := e.run(t)
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if b, err := os.ReadFile(filepath.Join(e.out, "precious.txt")); err != nil || string(b) != "keep me" {
		t.Errorf("precious.txt = %q, %v", b, err)
	}
}

// inputs names the two files the layers read by their flags.
func inputs(ab, ballots string) map[string]string {
	return map[string]string{addressbase.Input: ab, currentelections.BallotsInput: ballots}
}

// TestBakeOutHasTheUsualMode: --out is published by renaming the staging
// folder, so the staging folder must be created like any folder (0o777 less
// the umask), not 0700 as os.MkdirTemp makes it.
func TestBakeOutHasTheUsualMode(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	e := newEnv(t, "addressbase_run1.csv")
	if _, err := e.run(t); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(e.out)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o755 {
		t.Errorf("--out mode %v, want %v", got, os.FileMode(0o755))
	}
}

// A layer runs only when it is given an input: a missing required one is
// an error naming its flag, and a layer whose optional inputs are all
// missing is skipped, as --boundary-reviews will be.
func TestLayersRunByTheirInputs(t *testing.T) {
	var ran []string
	layer := func(name string, required bool) bake.Layer {
		return bake.Layer{
			Name:    name,
			Inputs:  []bake.Input{{Flag: name, Required: required}},
			Folders: []string{name},
			Bake: func(_ context.Context, j *bake.Job) error {
				ran = append(ran, name+"="+filepath.Base(j.Input(name)))
				return os.MkdirAll(filepath.Join(j.Staging, name), 0o755)
			},
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	layers := []bake.Layer{layer("first", true), layer("optional", false), layer("last", true)}
	if _, err := bake.Run(context.Background(), bake.Options{Inputs: map[string]string{"first": "a.csv", "last": "c.csv"}, Out: out}, layers); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"first=a.csv", "last=c.csv"}, ran); diff != "" {
		t.Errorf("layers run (-want +got):\n%s", diff)
	}
	ran = nil
	if _, err := bake.Run(context.Background(), bake.Options{Inputs: map[string]string{"first": "a.csv", "optional": "b.csv", "last": "c.csv"}, Out: out}, layers); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"first=a.csv", "optional=b.csv", "last=c.csv"}, ran); diff != "" {
		t.Errorf("layers run with the optional input (-want +got):\n%s", diff)
	}
	_, err := bake.Run(context.Background(), bake.Options{Inputs: map[string]string{"first": "a.csv"}, Out: out}, layers)
	if err == nil || err.Error() != "bake: the last needs --last" {
		t.Errorf("err = %v, want the missing flag named", err)
	}
}
