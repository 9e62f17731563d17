package synth

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/boundaryexport"
	"github.com/DemocracyClub/dc-data-baker/internal/geo"
	"github.com/paulmach/orb"
)

func generateReviews(t testing.TB, o Options) (ab, ballots, reviews []byte, st Stats) {
	t.Helper()
	var a, b, r bytes.Buffer
	st, err := GenerateWithReviews(o, &a, &b, &r)
	if err != nil {
		t.Fatalf("GenerateWithReviews(%+v): %v", o, err)
	}
	return a.Bytes(), b.Bytes(), r.Bytes(), st
}

// reviewRow is one row of the reviews CSV, by column name.
type reviewRow map[string]string

// readReviews reads the reviews CSV back, checking it against the data
// contract: the export's header, a known divisionset_generation, division
// columns empty exactly on organisation rows, and each geometry one
// POLYGON of at most 256 vertices (EE's subdivision bound).
func readReviews(t testing.TB, b []byte) []reviewRow {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	header, err := r.Read()
	if err != nil {
		t.Fatalf("reviews CSV header: %v", err)
	}
	if !slices.Equal(header, boundaryexport.Header) {
		t.Fatalf("reviews CSV header %v, want %v", header, boundaryexport.Header)
	}
	var rows []reviewRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatalf("reviews CSV: %v", err)
		}
		line, _ := r.FieldPos(0)
		row := reviewRow{}
		for i, h := range header {
			row[h] = rec[i]
		}
		division := row["division_type"] + row["division_slug"] + row["division_name"] + row["division_official_identifier"]
		switch g := row["divisionset_generation"]; g {
		case boundaryexport.GenerationOld, boundaryexport.GenerationNew:
			if row["division_type"] == "" || row["division_slug"] == "" || row["division_name"] == "" || row["division_official_identifier"] == "" || row["divisionset_id"] == "" {
				t.Errorf("line %d: %s row with an empty division column: %v", line, g, rec[:17])
			}
		case boundaryexport.GenerationOrganisation:
			if division != "" || row["divisionset_id"] != "" || row["divisionset_pmtiles_url"] != "" {
				t.Errorf("line %d: organisation row with division columns: %v", line, rec[:17])
			}
		default:
			t.Fatalf("line %d: divisionset_generation %q", line, g)
		}
		wkt, ok := strings.CutPrefix(row["geometry"], "POLYGON((")
		if !ok || strings.Contains(wkt, "(") {
			t.Fatalf("line %d: geometry %.40q is not a POLYGON without holes", line, row["geometry"])
		}
		if n := strings.Count(wkt, ",") + 1; n > maxPieceVertices {
			t.Errorf("line %d: a piece of %d vertices, want at most %d", line, n, maxPieceVertices)
		}
		rows = append(rows, row)
	}
}

var (
	gssRE        = regexp.MustCompile(`^[ENS][0-9]{8}$`)
	reviewSlugRE = regexp.MustCompile(`^[a-z]+(-[0-9]+)?-2027$`)
	pmtilesRE    = regexp.MustCompile(`^https://s3\.eu-west-2\.amazonaws\.com/ee\.public\.data/pmtiles-store/([a-z-]+)_([0-9]+)_[0-9a-f]{32}\.pmtiles$`)
)

// TestReviewsWellFormed checks every field of a 20-review file with
// realistic pieces, and that Stats agree with it.
func TestReviewsWellFormed(t *testing.T) {
	_, _, b, st := generateReviews(t, Options{Seed: 4, Addresses: 20000, Ballots: 500, Reviews: 20})
	if n, crlf := bytes.Count(b, []byte("\n")), bytes.Count(b, []byte("\r\n")); n != crlf {
		t.Errorf("%d newlines but %d CRLFs", n, crlf)
	}
	rows := readReviews(t, b)
	reviews := map[string]map[string]int{} // id -> generation -> rows
	newSets := 0
	for _, r := range rows {
		id := r["boundary_review_id"]
		if reviews[id] == nil {
			reviews[id] = map[string]int{}
		}
		reviews[id][r["divisionset_generation"]]++
		if !reviewSlugRE.MatchString(r["slug"]) || !gssRE.MatchString(r["organisation_gss"]) {
			t.Errorf("review %s: slug %q, organisation_gss %q", id, r["slug"], r["organisation_gss"])
		}
		if g := r["divisionset_generation"]; g != boundaryexport.GenerationOrganisation && !gssRE.MatchString(r["division_official_identifier"]) {
			t.Errorf("review %s: division_official_identifier %q", id, r["division_official_identifier"])
		}
		switch r["status"] {
		case "COMPLETED":
			if r["effective_date"] != reviewEffectiveDate || !strings.HasSuffix(r["legislation_title"], "(Electoral Changes) Order 2026") {
				t.Errorf("completed review %s: effective_date %q, legislation_title %q", id, r["effective_date"], r["legislation_title"])
			}
		case "CURRENT":
		default:
			t.Errorf("review %s: status %q", id, r["status"])
		}
		if u := r["divisionset_pmtiles_url"]; u != "" {
			m := pmtilesRE.FindStringSubmatch(u)
			if m == nil || m[2] != r["divisionset_id"] || !strings.HasPrefix(r["slug"], m[1]+"-") {
				t.Errorf("review %s: pmtiles url %q for division set %s", id, u, r["divisionset_id"])
			}
		} else if r["divisionset_generation"] == boundaryexport.GenerationNew {
			t.Errorf("review %s: a new division set without a pmtiles url", id)
		}
		if c := r["consultation_url"]; c != "" && !strings.HasPrefix(c, "https://") {
			t.Errorf("review %s: consultation_url %q", id, c)
		}
	}
	orgOnly := 0
	for id, gens := range reviews {
		switch {
		case gens[boundaryexport.GenerationOrganisation] > 0 && len(gens) == 1:
			orgOnly++
		case gens[boundaryexport.GenerationOld] > 0 && gens[boundaryexport.GenerationNew] > 0 && len(gens) == 2:
			newSets++
		default:
			t.Errorf("review %s has rows %v: want old and new, or only organisation", id, gens)
		}
	}
	if len(rows) != st.ReviewRows || len(reviews) != st.Reviews || orgOnly != st.OrganisationOnlyReviews || len(reviews) != 20 {
		t.Errorf("file: %d rows, %d reviews, %d organisation-only; stats %+v", len(rows), len(reviews), orgOnly, st)
	}
	if orgOnly == 0 || newSets == 0 {
		t.Errorf("%d organisation-only reviews and %d with a new set: want both", orgOnly, newSets)
	}
	if st.MaxPieceVertices < 64 || st.MaxPieceVertices > maxPieceVertices {
		t.Errorf("largest piece %d vertices: want realistic pieces of at most %d", st.MaxPieceVertices, maxPieceVertices)
	}
}

// TestReviewPiecesTileOrganisations checks the geometry with geo: a
// division set's pieces never overlap (an address is in at most one piece
// of a set) and cover the organisation (they hold the addresses its
// organisation ballot holds), so old and new sets cover the same area, as
// EE's division sets of one organisation do.
func TestReviewPiecesTileOrganisations(t *testing.T) {
	ab, ballots, b, _ := generateReviews(t, Options{Seed: 9, Addresses: 20000, Ballots: 300, Reviews: 12})
	ix := geo.NewIndex()
	orgOf := map[string]string{}         // review id -> organisation ballot
	sets := map[string]map[string]bool{} // review id -> its generations
	for i, r := range readReviews(t, b) {
		mp, err := geo.ParseWKT(r["geometry"])
		if err != nil {
			t.Fatalf("row %d: %v", i+1, err)
		}
		ix.Add(r["boundary_review_id"]+"/"+r["divisionset_generation"]+"/"+fmt.Sprint(i), mp)
		id := r["boundary_review_id"]
		orgOf[id] = "mayor." + strings.TrimSuffix(r["slug"], "-2027") + "." + electionDate
		if sets[id] == nil {
			sets[id] = map[string]bool{}
		}
		sets[id][r["divisionset_generation"]] = true
	}
	for _, r := range readBallots(t, ballots) {
		if strings.HasPrefix(r.id, "mayor.") {
			ix.Add(r.id+"/ballot/", r.mp)
		}
	}
	ix.Build()
	in := map[string]int{} // review/generation -> addresses inside
	forEachAddress(t, ab, ix, func(rec []string, _ orb.Point, dst []string) {
		hits := map[string]int{}
		for _, id := range dst {
			hits[id[:strings.LastIndexByte(id, '/')]]++
		}
		for set, n := range hits {
			if n > 1 {
				t.Errorf("%s is in %d pieces of %s: pieces overlap", rec[3], n, set)
			}
			in[set]++
		}
	})
	compared := 0
	for review, org := range orgOf {
		want, ok := in[org+"/ballot"]
		if !ok {
			continue // no addresses, or the organisation has no ballots
		}
		for gen := range sets[review] {
			compared++
			if n := in[review+"/"+gen]; n != want {
				t.Errorf("review %s: %d addresses in its %s pieces, %d in %s: want the same area", review, n, gen, want, org)
			}
		}
	}
	if compared < 10 {
		t.Errorf("only %d division sets compared with their organisation (%v)", compared, in)
	}
}

// TestReviewsKeepOtherFiles checks that asking for reviews leaves the
// AddressBase and ballots bytes as Generate writes them, and that the
// reviews are deterministic.
func TestReviewsKeepOtherFiles(t *testing.T) {
	o := Options{Seed: 3, Addresses: 5000, Ballots: 100}
	ab, b, _ := generate(t, o)
	o.Reviews = 5
	ab2, b2, r1, _ := generateReviews(t, o)
	_, _, r2, _ := generateReviews(t, o)
	if !bytes.Equal(ab, ab2) || !bytes.Equal(b, b2) {
		t.Error("with Reviews, the AddressBase or ballots bytes changed")
	}
	if !bytes.Equal(r1, r2) {
		t.Error("the same options gave different reviews")
	}
	o.Seed = 4
	if _, _, r3, _ := generateReviews(t, o); bytes.Equal(r1, r3) {
		t.Error("different seeds gave identical reviews")
	}
}

func TestReviewOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{Addresses: 100, Ballots: 100, Reviews: -1},
		{Addresses: 100, Ballots: 100, Reviews: 13},                                     // 12 organisations
		{Addresses: 100, Ballots: 100, Reviews: 2, MinVertices: 100, MaxVertices: 1012}, // pieces of 257
	} {
		if _, err := GenerateWithReviews(o, io.Discard, io.Discard, io.Discard); err == nil {
			t.Errorf("GenerateWithReviews(%+v) succeeded, want an options error", o)
		}
	}
	if _, err := Generate(Options{Addresses: 100, Ballots: 100, Reviews: 1}, io.Discard, io.Discard); err == nil {
		t.Error("Generate with Reviews but no reviews writer succeeded")
	}
	_, _, _, st := generateReviews(t, Options{Seed: 1, Addresses: 100, Ballots: 100, Reviews: 2, MinVertices: 1008, MaxVertices: 1008})
	if st.MaxPieceVertices > maxPieceVertices {
		t.Errorf("MaxVertices 1008 gave a piece of %d vertices", st.MaxPieceVertices)
	}
}
