package gates_test

import (
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/gates"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func stats(uprns ...string) gates.UPRNStats {
	var s gates.UPRNStats
	for _, u := range uprns {
		s.Add(u)
	}
	return s
}

func TestUPRNStatsAdd(t *testing.T) {
	got := stats("100", "200", "100", "ONSPD-TE11ST")
	// crc32 IEEE values, as Trino's crc32(to_utf8(...)) returns them.
	want := gates.UPRNStats{Rows: 4, Distinct: 3,
		Checksum: 2*0x237750ea + 0x2131eeb3 + gates.Checksum("ONSPD-TE11ST")}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(gates.UPRNStats{})); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if gates.Checksum("100") != 0x237750ea {
		t.Errorf("crc32(\"100\") = %#x, want 0x237750ea (python zlib.crc32)", gates.Checksum("100"))
	}
	// Order does not matter.
	if err := gates.CompareUPRNs(stats("1", "2", "3"), stats("3", "1", "2")); err != nil {
		t.Errorf("same set in another order: %v", err)
	}
	sum := stats("1", "2").Plus(stats("3"))
	if err := gates.CompareUPRNs(stats("1", "2", "3"), sum); err != nil {
		t.Errorf("Plus of disjoint sets: %v", err)
	}
}

func TestCompareUPRNs(t *testing.T) {
	tests := []struct {
		name           string
		source, target gates.UPRNStats
		wantErr        []string // substrings; nil means no error
	}{
		{"equal", stats("1", "2"), stats("2", "1"), nil},
		{"row missing", stats("1", "2"), stats("1"),
			[]string{"row count: source 2, target 1", "distinct uprn count: source 2, target 1", "uprn checksum"}},
		{"duplicate added", stats("1", "2"), stats("1", "2", "2"),
			[]string{"row count: source 2, target 3", "uprn checksum"}},
		{"uprn swapped", stats("1", "2"), stats("1", "3"), []string{"uprn checksum: source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := gates.CompareUPRNs(tt.source, tt.target)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error, want one")
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if tt.name == "uprn swapped" && strings.Contains(err.Error(), "row count") {
				t.Errorf("error %q names row count, which is equal", err)
			}
		})
	}
}

func TestOneSource(t *testing.T) {
	tests := []struct {
		name    string
		sources map[string]int64
		wantErr string
	}{
		{"one", map[string]int64{"s3://b/addressbase/2026-01/": 10}, ""},
		{"none", map[string]int64{}, "no source found"},
		{"empty value", map[string]int64{"": 3}, "3 rows have an empty addressbase_source"},
		{"two", map[string]int64{"s3://b/new/": 1, "s3://b/old/": 9},
			`want exactly one source, found 2: "s3://b/new/" (1 rows), "s3://b/old/" (9 rows)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := gates.OneSource(tt.sources)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
