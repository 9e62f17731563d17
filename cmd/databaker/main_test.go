package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunExitCodes(t *testing.T) {
	sample := "../../testdata/sample/"
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.csv")
	if err := os.WriteFile(bad, []byte("uprn,address,postcode,location,address_type\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{"no command", nil, 2, "", "Usage:"},
		{"help", []string{"--help"}, 0, "bake", ""},
		{"unknown", []string{"frobnicate"}, 2, "", "databaker: unknown command \"frobnicate\"\nRun 'databaker --help' for the commands.\n"},
		{"typo", []string{"baek"}, 2, "", `unknown command "baek"; did you mean "bake"?`},
		{"bake missing all", []string{"bake"}, 2, "", "databaker bake: --addressbase, --ballots and --out are required\n"},
		{"bake help", []string{"bake", "--help"}, 0, "", "Examples:"},
		{"bake missing out", []string{"bake", "--addressbase", "a", "--ballots", "b"}, 2, "", "--out is required"},
		{"bake bad flag", []string{"bake", "--nope"}, 2, "", "flag provided but not defined"},
		{"bake positional", []string{"bake", "--addressbase", "a", "--ballots", "b", "--out", "o", "extra"}, 2, "", `unexpected argument "extra"`},
		{"bake bad input", []string{"bake", "--addressbase", bad, "--ballots", sample + "current_elections.csv", "--out", filepath.Join(tmp, "o1")}, 1, "", bad + ":1: first row looks like a header"},
		{"bake sample", []string{"bake", "--addressbase", sample + "addressbase_cleaned.csv", "--ballots", sample + "current_elections.csv", "--out", filepath.Join(tmp, "o2")}, 0, "", "4 outcodes: 4 written (new or changed)"},
		{"synth missing out", []string{"synth", "--addresses", "10"}, 2, "", "--out is required"},
		{"synth", []string{"synth", "--addresses", "300", "--ballots", "5", "--out", filepath.Join(tmp, "s")}, 0, "", "300 UPRNs in"},
		{"bake synth", []string{"bake", "--addressbase", filepath.Join(tmp, "s", "addressbase_cleaned.csv"), "--ballots", filepath.Join(tmp, "s", "current_elections.csv"), "--out", filepath.Join(tmp, "o3")}, 0, "", "outcodes:"},
		{"synth reviews", []string{"synth", "--addresses", "300", "--ballots", "50", "--reviews", "3", "--out", filepath.Join(tmp, "r")}, 0, "", "boundary_reviews.csv\n  225 rows: 3 boundary reviews (1 organisation-only)"},
		{"synth too many reviews", []string{"synth", "--addresses", "300", "--ballots", "5", "--reviews", "3", "--out", filepath.Join(tmp, "r2")}, 2, "", "3 reviews need as many organisations, but 5 ballots give 1; raise Ballots"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

// TestUsageErrorPrintedOnce: a bad command line gets its error and one
// pointer to --help, not the error twice around the whole usage page.
func TestUsageErrorPrintedOnce(t *testing.T) {
	for _, args := range [][]string{{"bake", "--nope"}, {"synth", "--addresses", "x", "--out", "o"}, {"status", "--stack"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit code %d, want 2", args, code)
		}
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		want := "Run 'databaker " + args[0] + " --help' for usage."
		if len(lines) != 2 || lines[1] != want || !strings.HasPrefix(lines[0], "databaker "+args[0]+": ") {
			t.Errorf("%q: stderr is not one error line and %q:\n%s", args, want, stderr.String())
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"bake", "bake", 0}, {"baek", "bake", 2}, {"bak", "bake", 1}, {"stauts", "status", 2}, {"", "abc", 3}, {"lookup", "bake", 5}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		json bool
	}{
		{[]string{"ME14", "1AA", "--json"}, []string{"ME14", "1AA"}, true},
		{[]string{"--json", "ME14"}, []string{"ME14"}, true},
		{[]string{"ME14", "--", "--json"}, []string{"ME14", "--json"}, false},
		{nil, nil, false},
	} {
		fs := newFlagSet("x", "", &bytes.Buffer{})
		asJSON := fs.Bool("json", false, "")
		pos, err := parseArgs(fs, tc.args)
		if err != nil || strings.Join(pos, "|") != strings.Join(tc.pos, "|") || *asJSON != tc.json {
			t.Errorf("parseArgs(%q) = %q, json %v, %v; want %q, json %v", tc.args, pos, *asJSON, err, tc.pos, tc.json)
		}
	}
}
