package bake_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

// synthFiles writes a synthetic data set into dir and returns its paths.
func synthFiles(tb testing.TB, dir string, opts synth.Options) (ab, ballots string) {
	tb.Helper()
	ab, ballots = filepath.Join(dir, "addressbase_cleaned.csv"), filepath.Join(dir, "current_elections.csv")
	fa, err := os.Create(ab)
	if err != nil {
		tb.Fatal(err)
	}
	fb, err := os.Create(ballots)
	if err != nil {
		tb.Fatal(err)
	}
	wa, wb := bufio.NewWriterSize(fa, 1<<20), bufio.NewWriterSize(fb, 1<<20)
	if _, err := synth.Generate(opts, wa, wb); err != nil {
		tb.Fatalf("synth: %v", err)
	}
	for _, err := range []error{wa.Flush(), wb.Flush(), fa.Close(), fb.Close()} {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return ab, ballots
}

// piece is one ballots row, for the brute-force check.
type piece struct {
	id    string
	bound orb.Bound
	polys []orb.Polygon
}

func readPieces(t testing.TB, path string) []piece {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	var out []piece
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if line == 1 || rec[3] == "None" {
			continue
		}
		g, err := wkt.Unmarshal(rec[2])
		if err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		p := piece{id: rec[0], bound: g.Bound()}
		switch g := g.(type) {
		case orb.Polygon:
			p.polys = []orb.Polygon{g}
		case orb.MultiPolygon:
			p.polys = g
		default:
			t.Fatalf("%s:%d: unexpected %T", path, line, g)
		}
		out = append(out, p)
	}
}

// containsStrict is a plain even-odd test over every ring; a point on any
// edge is not contained (ST_Contains semantics).
func containsStrict(poly orb.Polygon, p orb.Point) bool {
	inside := false
	for _, ring := range poly {
		n := len(ring)
		for i, j := 0, n-1; i < n; j, i = i, i+1 {
			a, b := ring[i], ring[j]
			cross := (b[0]-a[0])*(p[1]-a[1]) - (b[1]-a[1])*(p[0]-a[0])
			if cross == 0 && p[0] >= min(a[0], b[0]) && p[0] <= max(a[0], b[0]) && p[1] >= min(a[1], b[1]) && p[1] <= max(a[1], b[1]) {
				return false
			}
			if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
				inside = !inside
			}
		}
	}
	return inside
}

func parsePoint(t testing.TB, s string) orb.Point {
	t.Helper()
	body, ok := strings.CutPrefix(s, "SRID=4326;POINT(")
	body, ok2 := strings.CutSuffix(body, ")")
	f := strings.Fields(body)
	if !ok || !ok2 || len(f) != 2 {
		t.Fatalf("bad location %q", s)
	}
	x, err1 := strconv.ParseFloat(f[0], 64)
	y, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad location %q", s)
	}
	return orb.Point{x, y}
}

// bruteForce returns uprn → sorted distinct ballot ids, testing every
// address against every polygon, uprn → outcode, and the number of CSV rows
// (duplicates included) with at least one ballot.
func bruteForce(t testing.TB, abPath string, pieces []piece) (map[string][]string, map[string]string, int64) {
	t.Helper()
	f, err := os.Open(abPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	want := map[string][]string{}
	outcode := map[string]string{}
	var rowsWith int64
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return want, outcode, rowsWith
		}
		if err != nil {
			t.Fatal(err)
		}
		p := parsePoint(t, rec[3])
		ids := []string{}
		for _, pc := range pieces {
			if !pc.bound.Contains(p) {
				continue
			}
			for _, poly := range pc.polys {
				if containsStrict(poly, p) {
					ids = append(ids, pc.id)
					break
				}
			}
		}
		slices.Sort(ids)
		if len(ids) > 0 {
			rowsWith++
		}
		want[rec[0]] = slices.Compact(ids)
		outcode[rec[0]], _, _ = strings.Cut(rec[2], " ")
	}
}

func TestBakeMatchesBruteForce(t *testing.T) {
	opts := synth.Options{Seed: 42, Addresses: 20000, Ballots: 200}
	if testing.Short() {
		opts.Addresses, opts.Ballots = 5000, 50
	}
	dir := t.TempDir()
	ab, ballots := synthFiles(t, dir, opts)
	out := filepath.Join(dir, "out")
	s, err := bake.Run(context.Background(), bake.Options{Inputs: inputs(ab, ballots), Out: out}, layers.Bake())
	if err != nil {
		t.Fatal(err)
	}
	want, outcodeOf, rowsWith := bruteForce(t, ab, readPieces(t, ballots))
	got := map[string][]string{}
	withBallots := 0
	files := readOutcodes(t, filepath.Join(out, currentelections.OutputFolder), "")
	for oc, rows := range files {
		for _, r := range rows {
			if _, dup := got[r.UPRN]; dup {
				t.Errorf("UPRN %s appears twice (outcode %s)", r.UPRN, oc)
			}
			got[r.UPRN] = r.BallotIDs
		}
	}
	// An empty outcode file stands for "no ballots" for each of its UPRNs.
	for uprn, ids := range want {
		if len(ids) > 0 {
			withBallots++
		}
		rows, ok := files[outcodeOf[uprn]]
		if !ok {
			t.Errorf("no file for outcode %s of UPRN %s", outcodeOf[uprn], uprn)
		}
		if _, found := got[uprn]; !found && ok && len(rows) == 0 {
			got[uprn] = []string{}
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("baked ballot_ids differ from brute force (-want +got):\n%s", d)
	}
	if withBallots == 0 || withBallots == len(want) {
		t.Errorf("%d of %d addresses have ballots: the synthetic data does not exercise both cases", withBallots, len(want))
	}
	if s.RowsWithBallots != rowsWith {
		t.Errorf("Summary.RowsWithBallots = %d, brute force says %d", s.RowsWithBallots, rowsWith)
	}
	t.Logf("%d addresses, %d with ballots; summary %s", len(want), withBallots, fmt.Sprintf("%+v", s))
}
