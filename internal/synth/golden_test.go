package synth

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/golden"
)

// TestGolden pins the exact bytes of a small generation, so format changes
// (which consumers' golden tests depend on) are deliberate. Regenerate with
// go test ./internal/synth -run Golden -update. Float rounding may differ
// on architectures that fuse multiply-adds, so it runs on amd64 only.
func TestGolden(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("golden bytes are recorded on amd64")
	}
	ab, b, _ := generate(t, Options{Seed: 2, Addresses: 300, Ballots: 12, MinVertices: 4, MaxVertices: 12})
	for name, got := range map[string][]byte{"golden_addressbase.csv": ab, "golden_ballots.csv": b} {
		golden.Check(t, filepath.Join("testdata", name), got)
	}
}
