package main

import (
	"bytes"
	"context"
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
