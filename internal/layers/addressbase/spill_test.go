package addressbase

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
)

func spillJob(t *testing.T) *bake.Job {
	return &bake.Job{Staging: t.TempDir()}
}

// Records of every length the bake lets through come back as written,
// including ones longer than the first peek and ones that straddle the
// read buffer's end.
func TestSpillRoundTrip(t *testing.T) {
	j := spillJob(t)
	sp, err := newSpiller(spillDir(j))
	if err != nil {
		t.Fatal(err)
	}
	var want []Record
	for i, n := range []int{0, 1, 40, 63, 64, 65, 200, 4096, MaxRecordBytes - 30, 77, MaxRecordBytes - 30, 3} {
		for k := range 7 { // enough records to cross the 256 KB buffer several times
			r := Record{UPRN: strings.Repeat("1", 1+k), Address: strings.Repeat(string(rune('A'+i)), n),
				Postcode: "AB1 2CD", Lon: -2.5 + float64(k), Lat: 57.25 - float64(i)}
			want = append(want, r)
			if err := sp.write("A", &r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}
	var got []Record
	n, err := EachAddress(j, "A", func(a *Address) error {
		got = append(got, Record{UPRN: string(a.UPRN), Address: string(a.Address), Postcode: string(a.Postcode), Lon: a.Lon, Lat: a.Lat})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(want)) || len(got) != len(want) {
		t.Fatalf("read %d (%d) records, want %d", n, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A damaged spill file is an error naming the file and record, never rows.
func TestSpillDamaged(t *testing.T) {
	j := spillJob(t)
	sp, err := newSpiller(spillDir(j))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := sp.write("A", &Record{UPRN: "1", Address: "X", Postcode: "AB1 2CD"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}
	path := spillFile(j, "A")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := len(good) / 3
	for name, data := range map[string][]byte{
		"truncated":  good[:len(good)-5],
		"bad length": append(append([]byte{}, good[:2*rec]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		"too long":   append(append([]byte{}, good[:rec]...), 0x80, 0x80, 0x20), // a 512 KB uprn
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			rows := 0
			_, err := EachAddress(j, "A", func(*Address) error { rows++; return nil })
			if err == nil || !strings.Contains(err.Error(), filepath.Base(path)) || !strings.Contains(err.Error(), "record ") {
				t.Errorf("err %v, want one naming %s and the record", err, path)
			}
			if rows > 2 {
				t.Errorf("%d rows read from a damaged file", rows)
			}
		})
	}
	if _, err := EachAddress(j, "B", func(*Address) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing letter: %v", err)
	}
}
