package synth

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/geo"
	"github.com/google/go-cmp/cmp"
	"github.com/paulmach/orb"
)

func generate(t testing.TB, o Options) (ab, ballots []byte, st Stats) {
	t.Helper()
	var a, b bytes.Buffer
	st, err := Generate(o, &a, &b)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", o, err)
	}
	return a.Bytes(), b.Bytes(), st
}

func TestGenerateDeterministic(t *testing.T) {
	o := Options{Seed: 42, Addresses: 20000, Ballots: 200}
	a1, b1, s1 := generate(t, o)
	a2, b2, s2 := generate(t, o)
	if !bytes.Equal(a1, a2) || !bytes.Equal(b1, b2) {
		t.Fatal("same seed produced different bytes")
	}
	if diff := cmp.Diff(s1, s2); diff != "" {
		t.Errorf("same seed produced different stats (-first +second):\n%s", diff)
	}
	o.Seed = 43
	a3, b3, _ := generate(t, o)
	if bytes.Equal(a1, a3) || bytes.Equal(b1, b3) {
		t.Error("different seeds produced identical output")
	}
}

var postcodeRE = regexp.MustCompile(`^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$`)

// TestAddressBaseWellFormed reads the CSV back with encoding/csv and checks
// every field against the data contract.
func TestAddressBaseWellFormed(t *testing.T) {
	ab, _, st := generate(t, Options{Seed: 7, Addresses: 30000, Ballots: 100})
	if n, crlf := bytes.Count(ab, []byte("\n")), bytes.Count(ab, []byte("\r\n")); n != crlf || n != st.AddressRows {
		t.Errorf("%d newlines, %d CRLFs, %d rows: want all rows CRLF-terminated", n, crlf, st.AddressRows)
	}
	r := csv.NewReader(bytes.NewReader(ab))
	r.FieldsPerRecord = 5
	rows := map[string]string{} // uprn -> raw row
	letters := map[byte]bool{}
	outcodes := map[string]bool{}
	var dups, fillers, empty, quoted, leadingDot, padded, bt int
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("row %d: %v", line, err)
		}
		uprn, addr, pc, loc, typ := rec[0], rec[1], rec[2], rec[3], rec[4]
		key := strings.Join(rec, "\x00")
		if prev, ok := rows[uprn]; ok {
			if prev != key {
				t.Fatalf("row %d: conflicting duplicate UPRN %s", line, uprn)
			}
			dups++
			continue
		}
		rows[uprn] = key
		if !postcodeRE.MatchString(pc) {
			t.Errorf("row %d: postcode %q is not UK-shaped", line, pc)
		}
		outcode := pc[:strings.IndexByte(pc, ' ')]
		outcodes[outcode] = true
		letters[pc[0]] = true
		if strings.HasPrefix(pc, "BT") {
			bt++
		}
		lon, lat, err := geo.ParseEWKTPoint(loc)
		if err != nil {
			t.Fatalf("row %d: %v", line, err)
		}
		if lon < -8.5 || lon > 2.5 || lat < 49.5 || lat > 59.5 {
			t.Errorf("row %d: location %s outside the UK box", line, loc)
		}
		if strings.Contains(loc, "(.") || strings.Contains(loc, "(-.") {
			leadingDot++
		}
		switch {
		case strings.HasPrefix(uprn, "ONSPD-"):
			fillers++
			if want := "ONSPD-" + strings.ReplaceAll(pc, " ", ""); uprn != want || addr != "" {
				t.Errorf("row %d: filler row %q,%q,%q: want uprn %q and empty address", line, uprn, addr, pc, want)
			}
		default:
			if strings.Trim(uprn, "0123456789") != "" {
				t.Errorf("row %d: UPRN %q is not numeric", line, uprn)
			}
			if uprn[0] == '0' {
				padded++
			}
			if addr == "" {
				empty++
			}
			if typ == "" {
				t.Errorf("row %d: empty address_type", line)
			}
		}
		if strings.ContainsAny(addr, ",\"") {
			quoted++
		}
	}
	got := Stats{AddressRows: len(rows) + dups, UPRNs: len(rows), DuplicateRows: dups, FillerRows: fillers, EmptyAddresses: empty, Outcodes: len(outcodes)}
	want := Stats{AddressRows: st.AddressRows, UPRNs: st.UPRNs, DuplicateRows: st.DuplicateRows, FillerRows: st.FillerRows, EmptyAddresses: st.EmptyAddresses, Outcodes: st.Outcodes}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stats disagree with the file (-stats +file):\n%s", diff)
	}
	if st.UPRNs != 30000 {
		t.Errorf("UPRNs = %d, want Options.Addresses 30000", st.UPRNs)
	}
	for name, n := range map[string]int{"duplicates": dups, "fillers": fillers, "empty addresses": empty, "quoted addresses": quoted, "leading-dot longitudes": leadingDot, "zero-padded UPRNs": padded, "BT postcodes": bt} {
		if n == 0 {
			t.Errorf("no %s in 30000 addresses", name)
		}
	}
	if len(outcodes) < 50 || len(letters) < 15 {
		t.Errorf("%d outcodes with %d first letters; want many", len(outcodes), len(letters))
	}
}

type ballotRow struct {
	id, gss, source string
	mp              orb.MultiPolygon
}

func readBallots(t testing.TB, b []byte) []ballotRow {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = 4
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		t.Fatalf("header: %v", err)
	}
	if diff := cmp.Diff([]string{"election_id", "geography_id", "geography_text", "source_table"}, header); diff != "" {
		t.Fatalf("header mismatch (-want +got):\n%s", diff)
	}
	var out []ballotRow
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("ballots row %d: %v", line, err)
		}
		row := ballotRow{id: rec[0], gss: rec[1], source: rec[3]}
		switch rec[3] {
		case "None":
			if rec[2] != "" {
				t.Errorf("ballots row %d: None row has geometry", line)
			}
		case "Organisation", "Division":
			if row.mp, err = geo.ParseWKT(rec[2]); err != nil {
				t.Fatalf("ballots row %d (%s): %v", line, rec[0], err)
			}
		default:
			t.Errorf("ballots row %d: source_table %q", line, rec[3])
		}
		out = append(out, row)
	}
}

var ballotIDRE = regexp.MustCompile(`^(mayor|local|parl|ref)\.[a-z0-9-]+(\.[a-z0-9-]+)?\.2026-05-07$`)

func TestBallotsWellFormed(t *testing.T) {
	_, b, st := generate(t, Options{Seed: 3, Ballots: 600, MinVertices: 100, MaxVertices: 1200})
	if n, crlf := bytes.Count(b, []byte("\n")), bytes.Count(b, []byte("\r\n")); n != crlf {
		t.Errorf("%d newlines but %d CRLFs", n, crlf)
	}
	rows := readBallots(t, b)
	ids := map[string]int{}
	var none, multi, holes, maxRing int
	for _, r := range rows {
		if !ballotIDRE.MatchString(r.id) {
			t.Errorf("ballot id %q has an unexpected shape", r.id)
		}
		if r.source == "None" {
			none++
			continue
		}
		ids[r.id]++
		if len(r.mp) > 1 {
			multi++
		}
		for _, poly := range r.mp {
			if len(poly) > 1 {
				holes++
			}
			for _, ring := range poly {
				maxRing = max(maxRing, len(ring))
			}
		}
		if !regexp.MustCompile(`^[ENS][0-9]{8}$`).MatchString(r.gss) {
			t.Errorf("ballot %s: geography id %q", r.id, r.gss)
		}
	}
	split := 0
	for _, n := range ids {
		if n > 1 {
			split++
		}
	}
	got := Stats{BallotRows: len(rows), Ballots: len(ids), NoneRows: none, SplitBallots: split, MultiPolygonRows: multi, HoleRows: holes, MaxRingVertices: maxRing}
	want := Stats{BallotRows: st.BallotRows, Ballots: st.Ballots, NoneRows: st.NoneRows, SplitBallots: st.SplitBallots, MultiPolygonRows: st.MultiPolygonRows, HoleRows: st.HoleRows, MaxRingVertices: st.MaxRingVertices}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stats disagree with the file (-stats +file):\n%s", diff)
	}
	if st.Ballots < 450 || st.Ballots > 800 {
		t.Errorf("%d ballots for Options.Ballots 600", st.Ballots)
	}
	if none == 0 || multi == 0 || holes == 0 || split == 0 || maxRing < 1000 {
		t.Errorf("want None rows, multipolygons, holes, split ballots and rings of 1000+ vertices; got %+v", got)
	}
}

// TestBallotsTileAddresses checks the geometry with geo: away from
// boundaries an address is in exactly one organisation ballot and one local
// division ballot when its organisation votes; planted boundary points are
// in no division.
func TestBallotsTileAddresses(t *testing.T) {
	ab, b, st := generate(t, Options{Seed: 9, Addresses: 20000, Ballots: 300})
	ix := geo.NewIndex()
	vertices := map[orb.Point]bool{}
	for _, r := range readBallots(t, b) {
		if r.source == "None" {
			continue
		}
		ix.Add(r.id, r.mp)
		for _, poly := range r.mp {
			for _, ring := range poly {
				for _, p := range ring {
					vertices[p] = true
				}
			}
		}
	}
	ix.Build()
	var inBoth, inNone, onBoundary int
	forEachAddress(t, ab, ix, func(rec []string, p orb.Point, dst []string) {
		var mayor, local int
		for _, id := range dst {
			switch {
			case strings.HasPrefix(id, "mayor."):
				mayor++
			case strings.HasPrefix(id, "local."):
				local++
			}
		}
		if vertices[p] { // a planted boundary point
			onBoundary++
			if local != 0 {
				t.Errorf("%s on a lattice vertex is inside %v", rec[3], dst)
			}
			return
		}
		if mayor > 1 || local > 1 {
			t.Errorf("%s is in %v: organisations or divisions overlap", rec[3], dst)
		}
		if mayor == 1 && local == 1 {
			inBoth++
		}
		if len(dst) == 0 {
			inNone++
		}
	})
	if onBoundary == 0 || st.BoundaryPoints == 0 {
		t.Errorf("no boundary points planted (stats %d, found %d)", st.BoundaryPoints, onBoundary)
	}
	if inBoth < st.AddressRows/2 || inNone == 0 {
		t.Errorf("%d of %d addresses in an org and a division ballot, %d in none; want most in both and some in none", inBoth, st.AddressRows, inNone)
	}
}

// forEachAddress calls fn with each AddressBase row of ab, its point and
// the ids of ix's geometries containing it.
func forEachAddress(t *testing.T, ab []byte, ix *geo.Index, fn func(rec []string, p orb.Point, ids []string)) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(ab))
	var dst []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		lon, lat, err := geo.ParseEWKTPoint(rec[3])
		if err != nil {
			t.Fatal(err)
		}
		p := orb.Point{lon, lat}
		dst = ix.Containing(p, dst[:0])
		fn(rec, p, dst)
	}
}

func TestGenerateBallotCounts(t *testing.T) {
	for _, n := range []int{1, 10, 100, 1000, 10000} {
		_, b, st := generate(t, Options{Seed: 5, Ballots: n, MinVertices: 4, MaxVertices: 8})
		if st.Ballots < n*3/4 || st.Ballots > max(n*3/2, 12) {
			t.Errorf("Options.Ballots %d gave %d ballots", n, st.Ballots)
		}
		if n <= 100 && len(readBallots(t, b)) != st.BallotRows {
			t.Errorf("Ballots %d: stats say %d rows", n, st.BallotRows)
		}
	}
	_, b, st := generate(t, Options{Seed: 5, Addresses: 100})
	if string(b) != "election_id,geography_id,geography_text,source_table\r\n" || st.BallotRows != 0 {
		t.Errorf("Ballots 0 wrote %q (%d rows), want only the header", b, st.BallotRows)
	}
}

func TestGenerateOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{Addresses: -1},
		{Ballots: -1},
		{MinVertices: 2, MaxVertices: 10},
		{MinVertices: 100, MaxVertices: 50},
	} {
		if _, err := Generate(o, io.Discard, io.Discard); err == nil {
			t.Errorf("Generate(%+v) succeeded, want an options error", o)
		}
	}
}

// TestGenerateStreams checks that memory use does not grow with the address
// count: ten times more addresses may not allocate more than a few times as
// much (only per-outcode state grows, with the square root).
func TestGenerateStreams(t *testing.T) {
	alloc := func(n int) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := Generate(Options{Seed: 1, Addresses: n, Ballots: 50}, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, big := alloc(20000), alloc(200000)
	if big > 3*small {
		t.Errorf("allocated %d bytes for 20k addresses and %d for 200k: not streaming", small, big)
	}
	t.Logf("allocated %d bytes for 20k addresses, %d for 200k", small, big)
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkGenerateAddresses reports AddressBase rows per second.
func BenchmarkGenerateAddresses(b *testing.B) {
	const n = 1000000
	var w countWriter
	for b.Loop() {
		if _, err := Generate(Options{Seed: 1, Addresses: n, Ballots: 10}, &w, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(w.n)/float64(b.N)/n, "bytes/row")
}
