package trinopg_test

import (
	"context"
	"hash/crc32"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The functions.sql definitions against Trino's documented results (and
// crc32 against Go's CRC-32/IEEE).
func TestFunctionsHaveTrinoSemantics(t *testing.T) {
	t.Parallel()
	l := newLake(t, newDatabase(t))
	for _, tc := range []struct {
		sql  string
		want any
	}{
		{"SELECT crc32(to_utf8('hello'))", int64(907060870)},
		{"SELECT crc32(to_utf8('ONSPD-BB11BC'))", int64(crc32.ChecksumIEEE([]byte("ONSPD-BB11BC")))},
		{"SELECT crc32(to_utf8('Ynys Môn'))", int64(crc32.ChecksumIEEE([]byte("Ynys Môn")))},
		{"SELECT crc32(to_utf8(''))", int64(0)},
		{"SELECT array_join(array_sort(ARRAY['b', 'B', 'a', NULL]), ',')", "B,a,b"},
		{"SELECT array_sort(ARRAY['b', 'a'])", []string{"a", "b"}},
		{"SELECT slice(ARRAY['a', 'b', 'c'], 2, 5)", []string{"b", "c"}},
		{"SELECT slice(ARRAY['a', 'b', 'c'], -1, 1)", []string{"c"}},
		{"SELECT slice(ARRAY['a', 'b', 'c'], 4, 1)", []string{}},
		{"SELECT regexp_like('x ME14 3HE', 'ME14')", true},
		{"SELECT regexp_extract('SRID=4326;POINT(.5 51.3)', '^SRID=4326;POINT\\(([^ ]+) ([^ )]+)\\)$', 1)", ".5"},
		{"SELECT regexp_extract('nothing', '(x)', 1)", nil},
		{"SELECT format('%d of %s', 3, 'x')", "3 of x"},
		// Trino: json_format(CAST('a"b' AS JSON)) = '"a\"b"' (a JSON
		// string, escaped as Jackson escapes it); a NULL stays NULL.
		{`SELECT json_format(CAST(nullif('Ynys Môn "x" \ y' || chr(10) || chr(1), '') AS JSON))`, `"Ynys Môn \"x\" \\ y\n\u0001"`},
		{"SELECT json_format(CAST(nullif('', '') AS JSON))", nil},
		{"SELECT ST_Contains(ST_GeometryFromText('POLYGON((0 0,1 0,1 1,0 1,0 0))'), ST_Point(1, 0.5))", false},
	} {
		res, err := l.w.Exec(context.Background(), tc.sql)
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		if diff := cmp.Diff([][]any{{tc.want}}, res.Rows); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.sql, diff)
		}
	}
	_, err := l.w.Exec(context.Background(), "SELECT CASE WHEN 1 = 1 THEN fail('stop here') ELSE 'ok' END")
	if err == nil || err.Error() != "GENERIC_USER_ERROR: stop here" {
		t.Errorf("fail(): error %v, want GENERIC_USER_ERROR: stop here", err)
	}
}
