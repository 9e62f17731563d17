package addressbase_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
)

func readAll(t testing.TB, name, in string) ([]addressbase.Record, error) {
	t.Helper()
	r := addressbase.NewReader(strings.NewReader(in), name)
	var out []addressbase.Record
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestReadGood(t *testing.T) {
	in := "200003721912,\"FRINSBURY HOUSE, COX STREET, DETLING, MAIDSTONE\",ME14 3HE,SRID=4326;POINT(.5956009 51.3176159),D\r\n" +
		"ONSPD-TE11ST,,TE1 1ST,SRID=4326;POINT(-1.5 52.25),\r\n" +
		"000123,\"A \"\"QUOTED\"\" NAME\",BT1 1AA,SRID=4326;POINT(-5.93 54.6),D\r\n"
	got, err := readAll(t, "ab.csv", in)
	if err != nil {
		t.Fatal(err)
	}
	want := []addressbase.Record{
		{UPRN: "200003721912", Address: "FRINSBURY HOUSE, COX STREET, DETLING, MAIDSTONE", Postcode: "ME14 3HE", AddressType: "D", Outcode: "ME14", FirstLetter: "M", Lon: 0.5956009, Lat: 51.3176159, Line: 1},
		{UPRN: "ONSPD-TE11ST", Postcode: "TE1 1ST", Outcode: "TE1", FirstLetter: "T", Lon: -1.5, Lat: 52.25, Line: 2},
		{UPRN: "000123", Address: `A "QUOTED" NAME`, Postcode: "BT1 1AA", AddressType: "D", Outcode: "BT1", FirstLetter: "B", Lon: -5.93, Lat: 54.6, Line: 3},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
}

func TestReadBad(t *testing.T) {
	good := "1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\r\n"
	for _, tc := range []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"missing column", good + "2,B,AB1 2CD,SRID=4326;POINT(-2 57)\r\n", []string{"ab.csv:2:", "got 4 columns, want 5"}},
		{"extra column", good + good + "3,B,AB1 2CD,SRID=4326;POINT(-2 57),D,X\r\n", []string{"ab.csv:3:", "got 6 columns"}},
		{"bad location", good + "2,B,AB1 2CD,POINT(nope),D\r\n", []string{"ab.csv:2:", "field location"}},
		{"empty postcode", good + "2,B,,SRID=4326;POINT(-2 57),D\r\n", []string{"ab.csv:2:", "field postcode", "not a UK postcode"}},
		{"postcode without space", "2,B,AB12CD,SRID=4326;POINT(-2 57),D\r\n", []string{"ab.csv:1:", "field postcode"}},
		{"lower-case postcode", "2,B,ab1 2CD,SRID=4326;POINT(-2 57),D\r\n", []string{"ab.csv:1:", "field postcode", "A-Z"}},
		{"empty uprn", ",B,AB1 2CD,SRID=4326;POINT(-2 57),D\r\n", []string{"ab.csv:1:", "field uprn"}},
		{"non-UTF-8", good + good + "3,CAF\xe9,AB1 2CD,SRID=4326;POINT(-2 57),D\r\n", []string{"ab.csv:3:", "field address", "UTF-8"}},
		{"empty file", "", []string{"ab.csv:1:", "no rows"}},
		{"header row", "uprn,address,postcode,location,address_type\r\n" + good, []string{"ab.csv:1:", "header"}},
		{"bare quote", good + "2,B\"x,AB1 2CD,SRID=4326;POINT(-2 57),D\r\n", []string{"ab.csv:2:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, "ab.csv", tc.in)
			if err == nil {
				t.Fatal("no error")
			}
			var pe *addressbase.ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %v is not a *ParseError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// A byte-order mark and CRLF or LF line ends read the same records.
func TestReadBOMAndLineEnds(t *testing.T) {
	crlf := "200003721912,A,ME14 3HE,SRID=4326;POINT(.5956009 51.3176159),D\r\n000123,B,BT1 1AA,SRID=4326;POINT(-5.93 54.6),D\r\n"
	want, err := readAll(t, "ab.csv", crlf)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"BOM":    "\ufeff" + crlf,
		"LF":     strings.ReplaceAll(crlf, "\r\n", "\n"),
		"BOM+LF": "\ufeff" + strings.ReplaceAll(crlf, "\r\n", "\n"),
	} {
		got, err := readAll(t, "ab.csv", in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: records (-CRLF +%s):\n%s", name, name, d)
		}
	}
}
