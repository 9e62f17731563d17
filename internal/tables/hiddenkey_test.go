package tables_test

import (
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

func TestHiddenKey(t *testing.T) {
	tests := []struct{ key, run, want string }{
		{"ballots-with-wkt/current_elections.csv", "req-1", "ballots-with-wkt/.current_elections.csv.tmp-req-1"},
		{"current_elections.csv", "42", ".current_elections.csv.tmp-42"},
		{"a/b/c.csv", "x", "a/b/.c.csv.tmp-x"},
	}
	for _, tt := range tests {
		if got := tables.HiddenKey(tt.key, tt.run); got != tt.want {
			t.Errorf("HiddenKey(%q, %q) = %q, want %q", tt.key, tt.run, got, tt.want)
		}
	}
}
