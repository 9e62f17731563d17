package bake_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/golden"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
)

// manifestPath is where the bake leaves current elections' manifest: beside
// the outcode folder, not inside it.
func (e env) manifestPath() string {
	return filepath.Join(e.out, "current_elections_manifest", "manifest.json")
}

// runWith bakes e with opts' gate settings and returns the progress text.
func (e env) runWith(t *testing.T, gate manifest.Thresholds, accept bool) (string, error) {
	t.Helper()
	var progress bytes.Buffer
	_, err := bake.Run(context.Background(), bake.Options{
		Inputs: inputs(e.ab, e.ballots), Out: e.out, Progress: &progress, Gate: gate, AcceptChange: accept,
	}, layers.Bake())
	t.Logf("progress:\n%s", progress.String())
	return progress.String(), err
}

// checkManifest compares the bake's manifest with a golden file, with the
// temp folder replaced by $DIR.
func (e env) checkManifest(t *testing.T, name string) {
	t.Helper()
	got, err := os.ReadFile(e.manifestPath())
	if err != nil {
		t.Fatal(err)
	}
	// A file's bytes hold the AddressBase file's path (addressbase_source),
	// which is a temp folder: check each hash against the file here, then
	// replace it, so the golden file is stable.
	for oc, entry := range readManifest(t, e.out).Outcodes {
		data, err := os.ReadFile(filepath.Join(e.out, currentelections.OutputFolder, oc+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != entry.SHA256 {
			t.Errorf("manifest's sha256 of %s is %s, the file's %x", oc, entry.SHA256, sum)
		}
		if entry.Rows > 0 {
			got = bytes.ReplaceAll(got, []byte(entry.SHA256), []byte("<sha256 of "+oc+".parquet>"))
		}
	}
	got = bytes.ReplaceAll(got, []byte(e.dir), []byte("$DIR"))
	golden.Check(t, filepath.Join("testdata", name), got)
}

func readManifest(t *testing.T, out string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Load(context.Background(), blob.NewDir(out), "current_elections_manifest/manifest.json")
	if err != nil || m == nil {
		t.Fatalf("manifest in %s: %v, %v", out, m, err)
	}
	return m
}

// TestManifestTwoRuns: each run's manifest holds every outcode's hash and
// counts, the inputs and the totals (golden), and the second run's change
// summary names the outcode that went and the UPRN that lost its ballots.
func TestManifestTwoRuns(t *testing.T) {
	e := newEnv(t, "addressbase_run1.csv")
	progress, err := e.runWith(t, manifest.Thresholds{}, false)
	if err != nil {
		t.Fatal(err)
	}
	e.checkManifest(t, "manifest_run1.json")
	if want := "databaker: changes: current_elections_parquet: first run, no previous manifest to compare with: 4 outcodes, 6 of 13 UPRNs (46.2%) with ballot_ids\n"; !strings.Contains(progress, want) {
		t.Errorf("progress lacks %q", want)
	}
	// The manifest is not inside the folder consumers sync.
	if _, err := os.Stat(filepath.Join(e.out, currentelections.OutputFolder, "manifest.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("manifest.json inside the outcode folder: %v", err)
	}

	writeFile(t, e.ab, fixture(t, "addressbase_run2.csv"))
	if progress, err = e.runWith(t, manifest.Thresholds{}, false); err != nil {
		t.Fatal(err)
	}
	e.checkManifest(t, "manifest_run2.json")
	want := "databaker: changes: current_elections_parquet: 1 of 4 outcodes changed (0 added, 1 removed); 0 UPRNs gained and 1 lost an item of ballot_ids; UPRNs with ballot_ids 46.2% -> 41.7%\n"
	if !strings.Contains(progress, want) {
		t.Errorf("progress lacks the change summary %q", want)
	}

	// The same input again: identical manifest bytes, nothing changed.
	before, _ := os.ReadFile(e.manifestPath())
	if progress, err = e.runWith(t, manifest.Thresholds{}, false); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(e.manifestPath())
	if !bytes.Contains(after, []byte(`"outcodes_changed": 0,`)) || !strings.Contains(progress, "0 of 3 outcodes changed") {
		t.Errorf("a rerun on the same input reports changes:\n%s", after)
	}
	// Only the changes section may differ from run 2's.
	strip := regexp.MustCompile(`(?s)"changes": \{.*?\}`)
	if d := cmp.Diff(string(strip.ReplaceAll(before, nil)), string(strip.ReplaceAll(after, nil))); d != "" {
		t.Errorf("rerun's manifest differs beyond its changes (-run2 +run3):\n%s", d)
	}
}

// plantedDrop is the fixture ballots without the Alpha organisation's
// ballot and the first piece of Alpha North: 3 of the 6 addresses with a
// ballot lose all their ballots, a 50% drop.
func plantedDrop(t *testing.T) string {
	lines := strings.SplitAfter(fixture(t, "ballots.csv"), "\n")
	if !strings.HasPrefix(lines[1], "local.alpha.2026-05-07,") || !strings.HasPrefix(lines[2], "local.alpha.north.2026-05-07,201,\"POLYGON((0 51.3,") {
		t.Fatalf("ballots fixture changed: %q", lines[:3])
	}
	return lines[0] + strings.Join(lines[3:], "")
}

// swapped swaps longitude and latitude in every POINT and polygon of s.
func swapped(s string) string {
	return regexp.MustCompile(`(-?[0-9]*\.?[0-9]+) (-?[0-9]*\.?[0-9]+)`).ReplaceAllString(s, "$2 $1")
}

// TestGateRefuses: implausible runs are refused with a message that says
// what was seen, leave the previous output byte-identical and leave no
// litter; --accept-change publishes them and records the findings.
func TestGateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name        string
		addressbase func(string) string
		ballots     func(string) string
		gate        manifest.Thresholds
		want        string // a finding; "" when another check may refuse first
		// absolute: the finding is about the run alone, not a change, so
		// the next run on the same input is refused again.
		absolute bool
	}{
		{
			name:    "planted 50% drop",
			ballots: func(string) string { return plantedDrop(t) },
			want:    "the share of UPRNs with ballot_ids moved from 46.2% (6 of 13) to 23.1% (3 of 13), by -23.1 points, more than the 10.0 allowed",
		},
		{
			// Every ballot moved one degree north, into the UK still, where
			// no address is.
			name: "no address inside any ballot",
			ballots: func(s string) string {
				return strings.NewReplacer("51.", "52.", " 51,", " 52,", " 51)", " 52)").Replace(s)
			},
			want:     "the input has 3 areas with geometry (4 pieces) but none of the 13 addresses is inside any",
			absolute: true,
		},
		{
			// Input validation may refuse this earlier (coordinates outside
			// the UK); either way nothing is published.
			name:        "swapped coordinates in AddressBase",
			addressbase: swapped,
		},
		{
			name:    "too many outcodes changed",
			ballots: func(string) string { return plantedDrop(t) },
			gate:    manifest.Thresholds{ShareMove: -1, ChangedOutcodes: 0.2},
			want:    "2 of 4 outcodes (50.0%) changed content (0 added, 0 removed), more than the 20.0% allowed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "addressbase_run1.csv")
			if _, err := e.runWith(t, tc.gate, false); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, e.out)
			if tc.addressbase != nil {
				writeFile(t, e.ab, tc.addressbase(fixture(t, "addressbase_run1.csv")))
			}
			if tc.ballots != nil {
				writeFile(t, e.ballots, tc.ballots(fixture(t, "ballots.csv")))
			}
			_, err := e.runWith(t, tc.gate, false)
			if err == nil {
				t.Fatal("published an implausible run")
			}
			var refused *manifest.Refused
			if tc.want != "" {
				if !errors.As(err, &refused) {
					t.Fatalf("err = %v, want a plausibility refusal", err)
				}
				if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--accept-change") {
					t.Errorf("refusal %q\ndoes not say %q and how to accept it", err, tc.want)
				}
			}
			if d := cmp.Diff(before, snapshot(t, e.out)); d != "" {
				t.Errorf("--out changed after a refused run (-before +after):\n%s", d)
			}
			// The lock file stays beside --out by design.
			if d := cmp.Diff([]string{".out.lock", "in", "out"}, siblings(t, e.dir)); d != "" {
				t.Errorf("leftovers beside --out (-want +got):\n%s", d)
			}
			if refused == nil {
				return
			}

			// On purpose: published, and the manifest says what was accepted.
			progress, err := e.runWith(t, tc.gate, true)
			if err != nil {
				t.Fatalf("--accept-change: %v", err)
			}
			if !strings.Contains(progress, "accepted on purpose (--accept-change): "+tc.want) {
				t.Errorf("progress does not report the accepted finding %q", tc.want)
			}
			m := readManifest(t, e.out)
			if len(m.Accepted) == 0 || !strings.Contains(m.Accepted[0], tc.want) {
				t.Errorf("manifest's accepted findings = %q, want %q", m.Accepted, tc.want)
			}
			if cmp.Equal(before, snapshot(t, e.out)) {
				t.Error("--accept-change did not publish")
			}
			// The next run compares with the accepted one: a change passes
			// now, a finding about the run alone is refused again.
			_, err = e.runWith(t, tc.gate, false)
			if tc.absolute != (err != nil) {
				t.Errorf("the run after an accepted change: %v", err)
			}
		})
	}
}
