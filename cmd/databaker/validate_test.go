package main

import (
	"encoding/json"
	"errors"
	"io/fs"

	"github.com/DemocracyClub/dc-data-baker/internal/bake/baketest"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"

	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const fixtures = "../../testdata/fixtures/"

// bakeEnv is a good bake's inputs and output in a temp dir, for runs of
// the real databaker bake command.
type bakeEnv struct{ dir, ab, ballots, out string }

func newBakeEnv(t *testing.T) bakeEnv {
	t.Helper()
	d := t.TempDir()
	e := bakeEnv{dir: d, ab: filepath.Join(d, "in", "addressbase_cleaned.csv"), ballots: filepath.Join(d, "in", "current_elections.csv"), out: filepath.Join(d, "out")}
	if err := os.MkdirAll(filepath.Join(d, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.write(t, e.ab, readFixture(t, "addressbase_run1.csv"))
	e.write(t, e.ballots, readFixture(t, "ballots.csv"))
	return e
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(fixtures + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e bakeEnv) write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// bake runs `databaker bake` with extra flags and returns its exit code
// and stderr.
func (e bakeEnv) bake(t *testing.T, flags ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args := append([]string{"bake", "--addressbase", e.ab, "--ballots", e.ballots, "--out", e.out}, flags...)
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stderr.String()
}

// TestBakeRefusesInvalidRows: every rule of a valid input row (the data
// contract's "What a valid input row is", internal/validate) and every bad
// input of issue 12, through the real command. Each case appends one bad
// row to a good input (AddressBase line 14, ballots line 7) after a good
// bake, and must exit 1 naming file:line:field, leave the previous output
// byte-identical and leave nothing beside it.
func TestBakeRefusesInvalidRows(t *testing.T) {
	const ab, bal = "ab", "ballots"
	for _, tc := range []struct {
		name, file, row string
		want            string // after "<file>:", e.g. "14: field uprn"
	}{
		// AddressBase location: finite, inside the UK and NI.
		{"swapped lat/lon in addressbase", ab, "9,X,AA1 1AA,SRID=4326;POINT(51.1 .1),D", "14: field location: point (51.1 0.1) is outside longitude -9.0..2.5, latitude 49.0..61.5: longitude and latitude look swapped"},
		{"POINT(0 0)", ab, "9,X,AA1 1AA,SRID=4326;POINT(0 0),D", "14: field location: point (0 0) is outside longitude -9.0..2.5, latitude 49.0..61.5: (0, 0) is not a real location"},
		{"latitude 95", ab, "9,X,AA1 1AA,SRID=4326;POINT(-1 95),D", "14: field location: point (-1 95) is outside"},
		{"longitude 200", ab, "9,X,AA1 1AA,SRID=4326;POINT(200 51),D", "14: field location: point (200 51) is outside"},
		{"NaN coordinate", ab, "9,X,AA1 1AA,SRID=4326;POINT(NaN 51),D", "14: field location: parse EWKT point \"SRID=4326;POINT(NaN 51)\": lon: non-finite"},
		{"British National Grid", ab, "9,X,AA1 1AA,SRID=27700;POINT(500000 200000),D", "14: field location: parse EWKT point"},
		{"easting/northing without SRID", ab, "9,X,AA1 1AA,POINT(500000 200000),D", "14: field location: point (500000 200000) is outside"},
		// AddressBase uprn: 1 to 12 digits or ONSPD-<postcode>.
		{"BOM inside the file", ab, "\ufeff9,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "14: field uprn: \"\\ufeff9\" is not 1 to 12 digits"},
		{"uprn with leading space (duplicate of 1001)", ab, " 1001,1 HIGH STREET,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "14: field uprn: \" 1001\" is not 1 to 12 digits"},
		{"uprn with trailing space", ab, "9 ,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "14: field uprn: \"9 \""},
		{"negative uprn", ab, "-9,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "14: field uprn: \"-9\""},
		{"plus sign", ab, "+9,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "14: field uprn: \"+9\""},
		{"20-digit uprn", ab, "12345678901234567890,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "14: field uprn: \"12345678901234567890\" has 20 characters, want 1 to 12 digits"},
		{"13-digit uprn", ab, "1234567890123,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "14: field uprn: \"1234567890123\" has 13 characters"},
		{"exponent uprn", ab, "1e5,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "14: field uprn: \"1e5\""},
		{"decimal uprn", ab, "9.0,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "14: field uprn: \"9.0\""},
		{"empty uprn", ab, ",X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "14: field uprn: empty"},
		{"ONSPD filler without a postcode", ab, "ONSPD-AA1,,AA1 1ZZ,SRID=4326;POINT(.1 51.1),", "14: field uprn: \"ONSPD-AA1\" is not an ONSPD filler"},
		{"ONSPD filler with its space", ab, "ONSPD-AA1 1ZZ,,AA1 1ZZ,SRID=4326;POINT(.1 51.1),", "14: field uprn: \"ONSPD-AA1 1ZZ\" is not an ONSPD filler"},
		// AddressBase postcode: upper case, one space, outcode and incode.
		{"postcode M/14 1EC", ab, "9,X,M/14 1EC,SRID=4326;POINT(.1 51.1),D", "14: field postcode: \"M/14 1EC\" is not a UK postcode"},
		{"postcode M 9", ab, "9,X,M 9,SRID=4326;POINT(.1 51.1),D", "14: field postcode: \"M 9\" is not a UK postcode"},
		{"postcode M.. 1EC", ab, "9,X,M.. 1EC,SRID=4326;POINT(.1 51.1),D", "14: field postcode: \"M.. 1EC\" is not a UK postcode"},
		{"postcode ME14 1ec", ab, "9,X,ME14 1ec,SRID=4326;POINT(.1 51.1),D", "14: field postcode: \"ME14 1ec\" is not a UK postcode"},
		{"postcode with a double space", ab, "9,X,AA1  1AA,SRID=4326;POINT(.1 51.1),D", "14: field postcode: \"AA1  1AA\" is not a UK postcode"},
		{"postcode with a trailing space", ab, "9,X,AA1 1AA ,SRID=4326;POINT(.1 51.1),D", "14: field postcode: \"AA1 1AA \" is not a UK postcode"},
		{"postcode with a leading space", ab, "9,X, AA1 1AA,SRID=4326;POINT(.1 51.1),D", "14: field postcode: \" AA1 1AA\" is not a UK postcode"},
		{"postcode without a space", ab, "9,X,AA11AA,SRID=4326;POINT(.1 51.1),D", "14: field postcode: \"AA11AA\" is not a UK postcode"},
		{"empty postcode", ab, "9,X,,SRID=4326;POINT(.1 51.1),D", "14: field postcode: \"\" is not a UK postcode"},
		{"five-character outcode", ab, "9,X,AAA11 1AA,SRID=4326;POINT(.1 51.1),D", "14: field postcode: \"AAA11 1AA\" is not a UK postcode"},
		// Ballots geometry: closed rings of four points, inside the UK and NI.
		{"swapped lat/lon in ballots", bal, `local.x.2026-05-07,9,"POLYGON((51 0,51 0.6,51.6 0.6,51 0))",Division`, "7: election local.x.2026-05-07: field geography_text: polygon 1 ring 1 point 1: point (51 0) is outside longitude -9.0..2.5, latitude 49.0..61.5: longitude and latitude look swapped"},
		{"ballot at (0, 0)", bal, `local.x.2026-05-07,9,"POLYGON((0 0,1 0,1 1,0 0))",Organisation`, "7: election local.x.2026-05-07: field geography_text: polygon 1 ring 1 point 1: point (0 0) is outside"},
		{"ballot latitude 95", bal, `local.x.2026-05-07,9,"POLYGON((0 51,0.6 51,0.6 95,0 51))",Division`, "7: election local.x.2026-05-07: field geography_text: polygon 1 ring 1 point 3: point (0.6 95) is outside"},
		{"ballot longitude 200", bal, `local.x.2026-05-07,9,"MULTIPOLYGON(((0 51,0.6 51,0.6 51.6,0 51)),((200 51,201 51,201 52,200 51)))",Division`, "7: election local.x.2026-05-07: field geography_text: polygon 2 ring 1 point 1: point (200 51) is outside"},
		{"ballot hole outside the UK", bal, `local.x.2026-05-07,9,"POLYGON((0 51,0.6 51,0.6 51.6,0 51),(0.1 51.1,0.2 51.1,0.2 99,0.1 51.1))",Division`, "7: election local.x.2026-05-07: field geography_text: polygon 1 ring 2 point 3: point (0.2 99) is outside"},
		{"unclosed ring", bal, `local.x.2026-05-07,9,"POLYGON((0 51,0.6 51,0.6 51.6,0 51.6))",Division`, "7: election local.x.2026-05-07: field geography_text: parse WKT"},
		{"ring of three points", bal, `local.x.2026-05-07,9,"POLYGON((0 51,0.6 51,0 51))",Division`, "7: election local.x.2026-05-07: field geography_text: parse WKT"},
		{"empty geometry", bal, `local.x.2026-05-07,9,,Division`, "7: election local.x.2026-05-07: field geography_text: empty geometry for a Division row"},
		// Ballots election_id: no surrounding whitespace or control characters.
		{"election_id with trailing space", bal, `local.x.2026-05-07 ,9,"POLYGON((0 51,0.6 51,0.6 51.6,0 51))",Division`, "7: field election_id: \"local.x.2026-05-07 \" has surrounding whitespace"},
		{"election_id with leading space", bal, ` local.x.2026-05-07,9,"POLYGON((0 51,0.6 51,0.6 51.6,0 51))",Division`, "7: field election_id: \" local.x.2026-05-07\" has surrounding whitespace"},
		{"election_id with a tab", bal, "local.x.2026-05-07\t,9,\"POLYGON((0 51,0.6 51,0.6 51.6,0 51))\",Division", "7: field election_id: \"local.x.2026-05-07\\t\" contains a control character"},
		{"election_id with a control character", bal, "local.x\x01.2026-05-07,9,\"POLYGON((0 51,0.6 51,0.6 51.6,0 51))\",Division", "7: field election_id: \"local.x\\x01.2026-05-07\" contains a control character"},
		{"empty election_id", bal, `,9,"POLYGON((0 51,0.6 51,0.6 51.6,0 51))",Division`, "7: field election_id: empty"},
		// Duplicates: identical ones are dropped; conflicting ones name both lines.
		{"conflicting duplicate", ab, "1001,ANOTHER ADDRESS,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "2 and {ab}:14: field uprn 1001"},
		{"conflicting duplicate under another letter", ab, "1001,1 HIGH STREET,BB1 1AA,SRID=4326;POINT(.1 51.1),D", "2 and {ab}:14: field uprn 1001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newBakeEnv(t)
			if code, stderr := e.bake(t); code != 0 {
				t.Fatalf("good bake: exit %d\n%s", code, stderr)
			}
			before := baketest.Snapshot(t, e.out)
			path := e.ab
			if tc.file == bal {
				path = e.ballots
			}
			old, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			e.write(t, path, string(old)+tc.row+"\r\n")
			code, stderr := e.bake(t)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if want := path + ":" + strings.ReplaceAll(tc.want, "{ab}", e.ab); !strings.Contains(stderr, want) {
				t.Errorf("stderr does not name %q:\n%s", want, stderr)
			}
			if d := cmp.Diff(before, baketest.Snapshot(t, e.out)); d != "" {
				t.Errorf("--out changed after a refused bake (-before +after):\n%s", d)
			}
			if d := cmp.Diff([]string{".out.lock", "in", "out"}, baketest.Siblings(t, e.dir)); d != "" {
				t.Errorf("litter beside --out (-want +got):\n%s", d)
			}
		})
	}
}

// TestBakeReadsBOMAndLineEndsAlike: a byte-order mark, in either file, and
// CRLF or LF line ends give the same output bytes as the plain files. (The
// run manifest records the input files' sizes and hashes, so it differs.)
func TestBakeReadsBOMAndLineEndsAlike(t *testing.T) {
	e := newBakeEnv(t)
	if code, stderr := e.bake(t); code != 0 {
		t.Fatalf("plain bake: exit %d\n%s", code, stderr)
	}
	const manifestFile = "current_elections_manifest/manifest.json"
	snapshot := func() map[string]string {
		s := baketest.Snapshot(t, e.out)
		if _, ok := s[manifestFile]; !ok {
			t.Fatalf("no %s in %v", manifestFile, s)
		}
		delete(s, manifestFile)
		return s
	}
	want := snapshot()
	ab, ballots := readFixture(t, "addressbase_run1.csv"), readFixture(t, "ballots.csv")
	lf := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
	crlf := func(s string) string { return strings.ReplaceAll(lf(s), "\n", "\r\n") }
	for name, in := range map[string][2]string{
		"BOM in both":          {"\ufeff" + ab, "\ufeff" + ballots},
		"BOM in addressbase":   {"\ufeff" + ab, ballots},
		"LF line ends":         {lf(ab), lf(ballots)},
		"CRLF line ends":       {crlf(ab), crlf(ballots)},
		"BOM and LF in both":   {"\ufeff" + lf(ab), "\ufeff" + lf(ballots)},
		"BOM and CRLF in both": {"\ufeff" + crlf(ab), "\ufeff" + crlf(ballots)},
	} {
		e.write(t, e.ab, in[0])
		e.write(t, e.ballots, in[1])
		if code, stderr := e.bake(t); code != 0 {
			t.Fatalf("%s: exit %d\n%s", name, code, stderr)
		}
		if d := cmp.Diff(want, snapshot()); d != "" {
			t.Errorf("%s: output differs from the plain files' (-plain +%s):\n%s", name, name, d)
		}
	}
}

// TestBakeReportsInvalidPiece: a self-intersecting (bow-tie) ballot piece
// is not OGC-valid. The contract says it is used as given, not fatal, and
// reported with its line, election and reason; more than the allowed share
// of such pieces (1 of 5 here, against 0.1%) is for the plausibility gate,
// which refuses the run until the share is allowed.
func TestBakeReportsInvalidPiece(t *testing.T) {
	e := newBakeEnv(t)
	e.write(t, e.ballots, readFixture(t, "ballots.csv")+`local.bowtie.2026-05-07,9,"POLYGON((0 51,0.6 51.6,0.6 51,0 51.6,0 51))",Division`+"\r\n")
	code, stderr := e.bake(t)
	if want := "1 of 5 input pieces (20.0%) are not OGC-valid, more than the 0.1% allowed"; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("default gate: exit %d, want 1 saying %q:\n%s", code, want, stderr)
	}
	if _, err := os.Stat(e.out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused run published %s (stat: %v)", e.out, err)
	}
	code, stderr = e.bake(t, "--max-invalid-pieces", "0.25")
	if code != 0 {
		t.Fatalf("exit %d, want 0 (an invalid piece is reported, not fatal):\n%s", code, stderr)
	}
	for _, want := range []string{
		"databaker: 1 of 5 ballot pieces are not OGC-valid; used as given:",
		e.ballots + ":7: local.bowtie.2026-05-07: not OGC-valid: ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !slices.Contains(baketest.Siblings(t, e.out), "current_elections_parquet") {
		t.Errorf("no output published: %v", baketest.Siblings(t, e.out))
	}
	// The manifest names the piece too, beside its count.
	raw, err := os.ReadFile(filepath.Join(e.out, "current_elections_manifest", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.InvalidPieces) != 1 || m.Totals.InvalidPieces != 1 || m.InvalidPieces[0].Line != 7 ||
		m.InvalidPieces[0].ID != "local.bowtie.2026-05-07" || m.InvalidPieces[0].File != e.ballots || m.InvalidPieces[0].Reason == "" {
		t.Errorf("manifest invalid pieces %+v (count %d), want the bow-tie at line 7", m.InvalidPieces, m.Totals.InvalidPieces)
	}
}
