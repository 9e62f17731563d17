package bake_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/golden"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
)

const sampleDir = "../../testdata/sample"

// sampleBallots: an organisation with a hole, two divisions (one split in
// two pieces, as EE subdivides), a MULTIPOLYGON and a None row.
const sampleBallots = `election_id,geography_id,geography_text,source_table
local.maidstone.2026-05-07,1001,"POLYGON((0.4 51.2,0.7 51.2,0.7 51.35,0.4 51.35,0.4 51.2),(0.55 51.25,0.6 51.25,0.6 51.27,0.55 51.27,0.55 51.25))",Organisation
local.maidstone.north.2026-05-07,2001,"POLYGON((0.4 51.28,0.55 51.28,0.55 51.35,0.4 51.35,0.4 51.28))",Division
local.maidstone.north.2026-05-07,2001,"POLYGON((0.55 51.28,0.7 51.28,0.7 51.35,0.55 51.35,0.55 51.28))",Division
local.maidstone.south.2026-05-07,2002,"POLYGON((0.4 51.2,0.7 51.2,0.7 51.28,0.4 51.28,0.4 51.2),(0.55 51.25,0.6 51.25,0.6 51.27,0.55 51.27,0.55 51.25))",Division
mayor.kent.2026-05-07,3001,"MULTIPOLYGON(((0.4 51.2,0.5 51.2,0.5 51.25,0.4 51.25,0.4 51.2)),((0.62 51.3,0.7 51.3,0.7 51.35,0.62 51.35,0.62 51.3)))",Organisation
parl.maidstone.2026-05-07,,,None
`

type sampleArea struct {
	outcode                string
	n                      int
	lon0, lon1, lat0, lat1 float64
}

// writeSample generates testdata/sample deterministically.
func writeSample(t *testing.T) {
	t.Helper()
	rng := rand.New(rand.NewPCG(2026, 5))
	areas := []sampleArea{
		{"ME14", 100, 0.42, 0.68, 51.285, 51.345}, // north division, some in the mayoral part
		{"ME15", 100, 0.42, 0.68, 51.205, 51.275}, // south division, the hole, the other mayoral part
		{"ME16", 60, 0.30, 0.50, 51.22, 51.30},    // half outside the organisation
		{"TN12", 40, 0.35, 0.45, 51.10, 51.15},    // no ballots at all: an empty file
	}
	streets := []string{"HIGH STREET", "COX STREET", "CHURCH LANE", "MILL ROAD", "THE GREEN"}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	uprn := 200003721900
	for _, a := range areas {
		for i := 0; i < a.n; i++ {
			uprn++
			lon := a.lon0 + rng.Float64()*(a.lon1-a.lon0)
			lat := a.lat0 + rng.Float64()*(a.lat1-a.lat0)
			pc := fmt.Sprintf("%s %d%c%c", a.outcode, 1+i%9, 'A'+rune(i%5), 'A'+rune(i%7))
			addr := fmt.Sprintf("%d %s, %s", 1+i, streets[i%len(streets)], "MAIDSTONE")
			id := strconv.Itoa(uprn)
			if i%25 == 3 {
				id = "0" + id[1:] // a leading zero must survive
			}
			// AddressBase writes coordinates as raw strings: ".5956009" occurs.
			lonS := strings.Replace(strconv.FormatFloat(lon, 'f', 7, 64), "0.", ".", 1)
			rec := []string{id, addr, pc, fmt.Sprintf("SRID=4326;POINT(%s %.7f)", lonS, lat), "D"}
			if i == a.n-1 {
				// A filler row from ONSPD: non-numeric UPRN, empty address.
				rec = []string{"ONSPD-" + strings.ReplaceAll(pc, " ", ""), "", pc, rec[3], ""}
			}
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.Flush()
	writeFile(t, filepath.Join(sampleDir, "addressbase_cleaned.csv"), b.String())
	writeFile(t, filepath.Join(sampleDir, "current_elections.csv"), strings.ReplaceAll(sampleBallots, "\n", "\r\n"))
}

func readExpected(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]string{}
	for _, r := range recs[1:] {
		m[r[0]] = []string{}
		if r[2] != "" {
			m[r[0]] = strings.Split(r[2], ";")
		}
	}
	return m
}

// TestSample bakes testdata/sample (the README's quick start) and checks it
// against expected_ballots.csv, which the brute-force oracle wrote and a
// human checked. Run with -update to regenerate both.
func TestSample(t *testing.T) {
	if golden.Updating() {
		writeSample(t)
	}
	ab, ballots := filepath.Join(sampleDir, "addressbase_cleaned.csv"), filepath.Join(sampleDir, "current_elections.csv")
	want, outcodeOf, _ := bruteForce(t, ab, readPieces(t, ballots))
	expPath := filepath.Join(sampleDir, "expected_ballots.csv")
	if golden.Updating() {
		uprns := make([]string, 0, len(want))
		for u := range want {
			uprns = append(uprns, u)
		}
		sort.Strings(uprns)
		var b strings.Builder
		w := csv.NewWriter(&b)
		w.Write([]string{"uprn", "outcode", "ballot_ids"})
		for _, u := range uprns {
			w.Write([]string{u, outcodeOf[u], strings.Join(want[u], ";")})
		}
		w.Flush()
		writeFile(t, expPath, b.String())
	}
	if d := cmp.Diff(readExpected(t, expPath), want); d != "" {
		t.Fatalf("expected_ballots.csv disagrees with the brute-force oracle (-file +oracle):\n%s", d)
	}

	out := filepath.Join(t.TempDir(), "out")
	s, err := bake.Run(context.Background(), bake.Options{Inputs: inputs(ab, ballots), Out: out}, layers.Bake())
	if err != nil {
		t.Fatal(err)
	}
	files := readOutcodes(t, filepath.Join(out, currentelections.OutputFolder), "")
	got := map[string][]string{}
	for _, rows := range files {
		for _, r := range rows {
			got[r.UPRN] = r.BallotIDs
		}
	}
	if len(files["TN12"]) != 0 {
		t.Errorf("TN12 has %d rows, want an empty file", len(files["TN12"]))
	}
	for u, oc := range outcodeOf {
		if _, ok := got[u]; !ok && len(want[u]) == 0 && files[oc] != nil && len(files[oc]) == 0 {
			got[u] = []string{}
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("baked sample (-want +got):\n%s", d)
	}
	if s.Outcodes != 4 || s.Empty != 1 || s.AddressRows != 300 {
		t.Errorf("summary %+v: want 4 outcodes, 1 empty, 300 addresses", s)
	}
}
