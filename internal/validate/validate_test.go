package validate_test

import (
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/DemocracyClub/dc-data-baker/internal/geo"
	"github.com/DemocracyClub/dc-data-baker/internal/validate"
)

var (
	uprnRE     = regexp.MustCompile(validate.UPRNPattern)
	postcodeRE = regexp.MustCompile(validate.PostcodePattern)
	electionRE = regexp.MustCompile(validate.ElectionIDPattern)
)

// The hand-written checks must agree with the patterns the SQL uses, on
// named cases and on random strings from the characters that matter.
func TestChecksAgreeWithPatterns(t *testing.T) {
	uprns := []string{"1", "0001", "200003721912", "2000037219123", "", "-1", "+1", " 1", "1 ", "1e5", "1.0",
		"\ufeff1", "ONSPD-TE11ST", "ONSPD-TE1 1ST", "ONSPD-", "ONSPD-te11st", "ONSPD-M11AA", "ONSPD-EC1A1BB", "12345678901234567890"}
	postcodes := []string{"ME14 3HE", "M1 1AA", "EC1A 1BB", "BT1 1AA", "M/14 1EC", "M 9", "M.. 1EC", "ME14 1ec", "ME14  1EC",
		"ME14 1EC ", " ME14 1EC", "ME141EC", "", "M1 1A", "MEE14 1EC", "M14A 1EC", "M1AA 1EC", "1M 1EC", "W1A 0AX"}
	ids := []string{"local.maidstone.2026-05-07", "x", "", " x", "x ", "x\t", "a b", "a\x00b", "a\x7fb", "\tx"}
	const alpha = "AMZ019 -.e+ONSPD\t\x01\x7fa"
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := make([]byte, r.IntN(14))
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		s := string(b)
		uprns, postcodes, ids = append(uprns, s, "ONSPD-"+s), append(postcodes, s), append(ids, s)
	}
	for _, s := range uprns {
		if got, want := validate.UPRN(s) == nil, uprnRE.MatchString(s); got != want {
			t.Errorf("UPRN(%q) ok=%v, pattern says %v", s, got, want)
		}
	}
	for _, s := range postcodes {
		oc, err := validate.Postcode(s)
		if got, want := err == nil, postcodeRE.MatchString(s); got != want {
			t.Errorf("Postcode(%q) ok=%v, pattern says %v", s, got, want)
		}
		if err == nil && (oc != strings.Fields(s)[0] || !validate.Outcode(oc)) {
			t.Errorf("Postcode(%q) outcode %q", s, oc)
		}
	}
	for _, s := range ids {
		if got, want := validate.ElectionID(s) == nil, electionRE.MatchString(s); got != want {
			t.Errorf("ElectionID(%q) ok=%v, pattern says %v", s, got, want)
		}
	}
}

func TestPoint(t *testing.T) {
	for _, c := range []struct {
		lon, lat float64
		want     string // "" for valid
	}{
		{.5956009, 51.3176159, ""},
		{-8.99, 54.6, ""}, // Northern Ireland
		{-1.3, 60.8, ""},  // Shetland
		{51.3176159, .5956009, "look swapped"},
		{0, 0, "(0, 0)"},
		{-1, 95, "outside"},
		{200, 51, "outside"},
		{math.NaN(), 51, "not finite"},
		{math.Inf(1), 51, "not finite"},
		{2.6, 51, "outside"},
		{-9.1, 54, "outside"},
	} {
		err := validate.Point(c.lon, c.lat)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Point(%v, %v) = %v, want %q", c.lon, c.lat, err, c.want)
		}
	}
}

func TestGeometryAndOGC(t *testing.T) {
	for _, c := range []struct {
		wkt, geomErr string
		invalid      bool
	}{
		{"POLYGON((0.5 51,0.6 51,0.6 51.1,0.5 51.1,0.5 51))", "", false},
		{"MULTIPOLYGON(((0.5 51,0.6 51,0.6 51.1,0.5 51)),((1 52,1.1 52,1.1 52.1,1 52)))", "", false},
		{"POLYGON((0.5 51,0.6 51.1,0.6 51,0.5 51.1,0.5 51))", "", true}, // bow-tie
		{"POLYGON((51 0.5,51 0.6,51.1 0.6,51 0.5))", "look swapped", false},
		{"POLYGON((0 0,1 0,1 1,0 0))", "outside", false},
	} {
		mp, err := geo.ParseWKT(c.wkt)
		if err != nil {
			t.Fatalf("ParseWKT(%s): %v", c.wkt, err)
		}
		err = validate.Geometry(mp)
		if c.geomErr == "" && err != nil || c.geomErr != "" && (err == nil || !strings.Contains(err.Error(), c.geomErr)) {
			t.Errorf("Geometry(%s) = %v, want %q", c.wkt, err, c.geomErr)
		}
		if got := validate.OGCValid(mp); (got != "") != c.invalid {
			t.Errorf("OGCValid(%s) = %q, want invalid=%v", c.wkt, got, c.invalid)
		}
	}
	if err := validate.Geometry(orb.MultiPolygon{{{{0.5, 51}, {0.6, 51}, {0.5, 51}}}}); err == nil || !strings.Contains(err.Error(), "at least 4") {
		t.Errorf("a 3-point ring: %v", err)
	}
	if err := validate.Geometry(orb.MultiPolygon{{{{0.5, 51}, {0.6, 51}, {0.6, 51.1}, {0.5, 51.1}}}}); err == nil || !strings.Contains(err.Error(), "not closed") {
		t.Errorf("an open ring: %v", err)
	}
}

func TestSQLValuesRender(t *testing.T) {
	v := validate.SQLValues()
	if v["min_lon"] != "-9.0" || v["max_lat"] != "61.5" || v["uprn_pattern"] != validate.UPRNPattern {
		t.Errorf("SQLValues = %v", v)
	}
	for k, s := range v {
		if strings.ContainsAny(s, "'{}\"") {
			t.Errorf("%s=%q cannot be a template value", k, s)
		}
	}
}
