package synth

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

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
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read golden file (regenerate with -update): %v", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}
}
