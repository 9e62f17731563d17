package geo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/paulmach/orb"
)

func TestParseWKT(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want orb.MultiPolygon
	}{
		{
			name: "polygon",
			in:   "POLYGON((0 0,4 0,4 4,0 4,0 0))",
			want: orb.MultiPolygon{{{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}}},
		},
		{
			name: "polygon with hole, spaces, lower case, leading-dot numbers",
			in:   " polygon ( (0 0, 4 0, 4 4, 0 4, 0 0) , (1 1, 1 2, .5 2, 1 1) ) ",
			want: orb.MultiPolygon{{
				{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}},
				{{1, 1}, {1, 2}, {0.5, 2}, {1, 1}},
			}},
		},
		{
			name: "multipolygon",
			in:   "MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((-.5 51.25,-0.4 51.25,-0.4 51.3,-.5 51.25),(-0.45 51.26,-0.44 51.26,-0.44 51.27,-0.45 51.26)))",
			want: orb.MultiPolygon{
				{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}},
				{
					{{-0.5, 51.25}, {-0.4, 51.25}, {-0.4, 51.3}, {-0.5, 51.25}},
					{{-0.45, 51.26}, {-0.44, 51.26}, {-0.44, 51.27}, {-0.45, 51.26}},
				},
			},
		},
		{
			name: "SRID prefix and exponent",
			in:   "SRID=4326;POLYGON((0 0,1e1 0,10 10,0 0))",
			want: orb.MultiPolygon{{{{0, 0}, {10, 0}, {10, 10}, {0, 0}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWKT(tt.in)
			if err != nil {
				t.Fatalf("ParseWKT(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseWKT(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseWKTErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string // substring of the error message
	}{
		{"empty string", "", "empty geometry"},
		{"blank", "   ", "empty geometry"},
		{"polygon empty", "POLYGON EMPTY", "empty geometry"},
		{"unknown type", "LINESTRING(0 0,1 1)", `unsupported geometry type "LINESTRING"`},
		{"point type", "POINT(0 0)", `unsupported geometry type "POINT"`},
		{"garbage", "(0 0,1 1)", "expected geometry type"},
		{"unclosed ring", "POLYGON((0 0,4 0,4 4,0 4))", "ring not closed"},
		{"too few points", "POLYGON((0 0,1 1,0 0))", "ring has 3 points, need at least 4"},
		{"NaN", "POLYGON((0 0,NaN 0,4 4,0 0))", `non-finite number "NaN"`},
		{"Inf", "POLYGON((0 0,1 0,4 +Inf,0 0))", `non-finite number "+Inf"`},
		{"missing y", "POLYGON((0 0,1,4 4,0 0))", "point 1 y: expected number"},
		{"bad number", "POLYGON((0 0,1.2.3 0,4 4,0 0))", `bad number "1.2.3"`},
		{"missing close paren", "POLYGON((0 0,1 0,1 1,0 0)", "expected ',' or ')'"},
		{"trailing junk", "POLYGON((0 0,1 0,1 1,0 0)) x", "unexpected"},
		{"second ring bad", "POLYGON((0 0,4 0,4 4,0 0),(1 1,2 1,1 1))", "polygon 0 ring 1: ring has 3 points"},
		{"multipolygon part bad", "MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((0 0,1 0,1 1,0 1)))", "polygon 1 ring 0: ring not closed"},
		{"multipolygon missing parens", "MULTIPOLYGON((0 0,1 0,1 1,0 0))", "polygon 0 ring 0: expected '('"},
		{"wrong SRID", "SRID=27700;POLYGON((0 0,1 0,1 1,0 0))", `SRID "27700" not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWKT(tt.in)
			if err == nil {
				t.Fatalf("ParseWKT(%q) = %v, want error containing %q", tt.in, got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseWKT(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
		})
	}
	if _, err := ParseWKT(""); !errors.Is(err, ErrEmpty) {
		t.Errorf("ParseWKT(\"\") error %v is not ErrEmpty", err)
	}
}

func TestParseEWKTPoint(t *testing.T) {
	tests := []struct {
		in       string
		lon, lat float64
		wantErr  string
	}{
		{in: "SRID=4326;POINT(.5956009 51.3176159)", lon: 0.5956009, lat: 51.3176159},
		{in: "SRID=4326;POINT(-.1276 51.5072)", lon: -0.1276, lat: 51.5072},
		{in: "SRID=4326;POINT(-5.9301 54.5973)", lon: -5.9301, lat: 54.5973},
		{in: "POINT(1 2)", lon: 1, lat: 2},
		{in: "srid=4326; point ( 1.5  2.5 )", lon: 1.5, lat: 2.5},
		{in: "", wantErr: "empty location"},
		{in: "SRID=27700;POINT(1 2)", wantErr: `SRID "27700" not supported`},
		{in: "SRID=4326;POINT(1)", wantErr: "want two coordinates"},
		{in: "SRID=4326;POINT(x 2)", wantErr: `lon: bad number "x"`},
		{in: "SRID=4326;POINT(1 NaN)", wantErr: `lat: non-finite number "NaN"`},
		{in: "SRID=4326;POINT(1 2 3)", wantErr: `lat: bad number "2 3"`},
		{in: "SRID=4326;LINESTRING(1 2,3 4)", wantErr: "want POINT(lon lat)"},
		{in: "SRID=4326;POINT(1 2", wantErr: "want POINT(lon lat)"},
		{in: "SRID=4326POINT(1 2)", wantErr: "SRID prefix without ';'"},
	}
	for _, tt := range tests {
		lon, lat, err := ParseEWKTPoint(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseEWKTPoint(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseEWKTPoint(%q): %v", tt.in, err)
			continue
		}
		if lon != tt.lon || lat != tt.lat {
			t.Errorf("ParseEWKTPoint(%q) = (%v, %v), want (%v, %v)", tt.in, lon, lat, tt.lon, tt.lat)
		}
	}
}

func TestParseEWKTPointAllocs(t *testing.T) {
	s := "SRID=4326;POINT(.5956009 51.3176159)"
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := ParseEWKTPoint(s); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ParseEWKTPoint allocates %v times per call, want 0", allocs)
	}
}

// FuzzParseWKT checks that ParseWKT never panics and that whatever it accepts
// is a well-formed multipolygon of closed, finite rings.
func FuzzParseWKT(f *testing.F) {
	for _, s := range []string{
		"POLYGON((0 0,4 0,4 4,0 4,0 0))",
		"POLYGON((0 0,4 0,4 4,0 4,0 0),(1 1,1 2,2 2,1 1))",
		"MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((2 2,3 2,3 3,2 2)))",
		"SRID=4326;POLYGON((.5 51,-.5 51,0 52,.5 51))",
		"POLYGON EMPTY", "", "POLYGON((", "MULTIPOLYGON(((1 2", "POLYGON((NaN 0,1 1,2 2,NaN 0))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mp, err := ParseWKT(s)
		if err != nil {
			if mp != nil {
				t.Errorf("ParseWKT(%q) returned geometry with error %v", s, err)
			}
			return
		}
		if len(mp) == 0 {
			t.Fatalf("ParseWKT(%q) returned no polygons and no error", s)
		}
		for _, poly := range mp {
			for _, r := range poly {
				if len(r) < 4 || r[0] != r[len(r)-1] {
					t.Fatalf("ParseWKT(%q) accepted bad ring %v", s, r)
				}
				for _, p := range r {
					if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
						t.Fatalf("ParseWKT(%q) accepted non-finite point %v", s, p)
					}
				}
			}
		}
		Contains(mp, orb.Point{0.5, 0.5}) // must not panic either
	})
}

// FuzzParseEWKTPoint checks that ParseEWKTPoint never panics and only
// returns finite coordinates.
func FuzzParseEWKTPoint(f *testing.F) {
	for _, s := range append(plainPoints, "POINT(1 2)", "SRID=4326;POINT(", "SRID=;", "POINT()") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lon, lat, err := ParseEWKTPoint(s)
		if err == nil && (math.IsNaN(lon) || math.IsNaN(lat) || math.IsInf(lon, 0) || math.IsInf(lat, 0)) {
			t.Fatalf("ParseEWKTPoint(%q) = %v, %v: non-finite", s, lon, lat)
		}
		if d := samePoint(s); d != "" {
			t.Error(d)
		}
	})
}

// plainPoints are locations in and around the fast path's form.
var plainPoints = []string{
	"SRID=4326;POINT(.5956009 51.3176159)", "SRID=4326;POINT(-.1276 51.5072)", "SRID=4326;POINT(-5.9301 54.5973)",
	"SRID=4326;POINT(-0 -0.0)", "SRID=4326;POINT(-.0 0.)", "SRID=4326;POINT(5. 51)", "SRID=4326;POINT(007 051)",
	"SRID=4326;POINT(0.1 0.2)", "SRID=4326;POINT(1.0000000000001 2.2250738585072014)",
	"SRID=4326;POINT(123456789012345 .123456789012345)", "SRID=4326;POINT(1234567890123456 1)",
	"SRID=4326;POINT(0.30000000000000004 9007199254740993)", "SRID=4326;POINT(-3.4282661 53.5579916)",
	"SRID=4326;POINT(. 1)", "SRID=4326;POINT(- 1)", "SRID=4326;POINT(1. .)", "SRID=4326;POINT(1..2 3)",
	"SRID=4326;POINT(1  2)", "SRID=4326;POINT(1 2 )", "SRID=4326;POINT(+1 2)", "SRID=4326;POINT(1e5 2)",
	"SRID=4326;POINT(--1 2)", "SRID=4326;POINT(1 -)", "SRID=4326;POINT()", "SRID=4326;POINT( )",
	"SRID=4326;POINT(1\t2)", "SRID=4326;POINT(0x1p-2 1)", "SRID=4326;POINT(1_0 2)", "SRID=4326;POINT(Inf 2)",
}

// samePoint compares ParseEWKTPoint with the general parser on s: the
// same coordinates bit for bit (so -0 stays -0), or the same error.
func samePoint(s string) string {
	lon, lat, err := ParseEWKTPoint(s)
	wlon, wlat, werr := parseEWKTPoint(s)
	if fmt.Sprint(err) != fmt.Sprint(werr) || math.Float64bits(lon) != math.Float64bits(wlon) || math.Float64bits(lat) != math.Float64bits(wlat) {
		return fmt.Sprintf("ParseEWKTPoint(%q) = %v, %v, %v; general parser %v, %v, %v", s, lon, lat, err, wlon, wlat, werr)
	}
	return ""
}

// TestParsePlainPoint: the fast path agrees with the general parser on
// plainPoints and on random plain decimals of every length it takes.
func TestParsePlainPoint(t *testing.T) {
	for _, s := range plainPoints {
		if d := samePoint(s); d != "" {
			t.Error(d)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	digits := func() string {
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteByte('-')
		}
		n, dot := 1+rng.IntN(16), rng.IntN(18)
		for i := range n {
			if i == dot {
				b.WriteByte('.')
			}
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		if dot == n {
			b.WriteByte('.')
		}
		return b.String()
	}
	fast := 0
	for range 200000 {
		s := "SRID=4326;POINT(" + digits() + " " + digits() + ")"
		if _, _, ok := parsePlainPoint(s); ok {
			fast++
		}
		if d := samePoint(s); d != "" {
			t.Fatal(d)
		}
	}
	if fast < 100000 {
		t.Errorf("only %d of 200000 plain points took the fast path", fast)
	}
}
