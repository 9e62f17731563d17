package main

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBakeLogLevels: on the sample, plus one identical duplicate row, the
// expected conditions (the duplicate, the None ballot row) are reported as
// WARN or INFO, never ERROR; text is readable lines, json is JSON.
func TestBakeLogLevels(t *testing.T) {
	sample := "../../testdata/sample/"
	ab, err := os.ReadFile(sample + "addressbase_cleaned.csv")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := bytes.Cut(ab, []byte("\n"))
	dir := t.TempDir()
	abDup := filepath.Join(dir, "addressbase_cleaned.csv")
	if err := os.WriteFile(abDup, append(ab, append(first, '\n')...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format string
		want   []string
	}{
		{"text", []string{
			"databaker: WARN identical duplicate uprns dropped: letter=M count=1 examples=[200003721901]\n",
			"databaker: 1 identical duplicate rows dropped (same UPRN, same data), leaving 300 output rows\n",
			"databaker: 1 ballot rows skipped: source_table None (no geometry), as EE exports for ballots without a boundary\n",
		}},
		{"json", []string{
			`"level":"WARN","msg":"identical duplicate uprns dropped","letter":"M","count":1`,
			`"level":"INFO","msg":"ballot rows without geometry skipped","source_table":"None","rows":1}`,
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := []string{"bake", "--log-format", tc.format, "--addressbase", abDup, "--ballots", sample + "current_elections.csv", "--out", filepath.Join(dir, "out-"+tc.format)}
			if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not contain %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "ERROR") {
				t.Errorf("a normal bake logged an ERROR:\n%s", stderr.String())
			}
			if tc.format == "text" && strings.Contains(stderr.String(), "{") {
				t.Errorf("text logs contain JSON:\n%s", stderr.String())
			}
		})
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"bake", "--log-format", "xml", "--addressbase", abDup, "--ballots", "b", "--out", "o"}, &bytes.Buffer{}, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), `--log-format must be text or json, got "xml"`) {
		t.Errorf("--log-format xml: exit %d, stderr:\n%s", code, stderr.String())
	}
}

// TestBakeAcceptChange: a bake whose ballots vanish is refused by the
// plausibility gate (exit 1, a message saying what it saw and how to
// accept it, the previous output byte-identical); --accept-change
// publishes it.
func TestBakeAcceptChange(t *testing.T) {
	sample := "../../testdata/sample/"
	dir := t.TempDir()
	ballots := filepath.Join(dir, "current_elections.csv")
	all, err := os.ReadFile(sample + "current_elections.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ballots, all, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	bakeArgs := func(extra ...string) []string {
		return append([]string{"bake", "--addressbase", sample + "addressbase_cleaned.csv", "--ballots", ballots, "--out", out}, extra...)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), bakeArgs(), &stdout, &stderr); code != 0 {
		t.Fatalf("first bake: exit %d\n%s", code, stderr.String())
	}
	before := treeBytes(t, out)

	header, _, _ := bytes.Cut(all, []byte("\n"))
	if err := os.WriteFile(ballots, append(header, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run(context.Background(), bakeArgs(), &stdout, &stderr); code != 1 {
		t.Fatalf("bake without ballots: exit %d, want 1\n%s", code, stderr.String())
	}
	for _, want := range []string{"plausibility gate refused current_elections_parquet", "to 0.0% (0 of 300)", "--accept-change"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if !maps.EqualFunc(before, treeBytes(t, out), bytes.Equal) {
		t.Error("the refused bake changed --out")
	}

	stderr.Reset()
	if code := run(context.Background(), bakeArgs("--accept-change"), &stdout, &stderr); code != 0 {
		t.Fatalf("bake --accept-change: exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "databaker: changes: accepted on purpose (--accept-change): the share of UPRNs with ballot_ids moved from") {
		t.Errorf("stderr does not report the accepted change:\n%s", stderr.String())
	}
	if maps.EqualFunc(before, treeBytes(t, out), bytes.Equal) {
		t.Error("--accept-change did not publish")
	}

	stderr.Reset()
	if code := run(context.Background(), bakeArgs("--max-share-move", "0"), &stdout, &stderr); code != 2 {
		t.Errorf("--max-share-move 0: exit %d, want 2\n%s", code, stderr.String())
	}
}

// treeBytes reads every file under dir by its relative path.
func treeBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
