// Package lambdatest checks Lambda handlers through their JSON boundary
// against the payloads in functions/<name>/testdata: <name>.json is sent,
// and the reply must equal <name>.want.json as JSON, or the error must
// contain the text of <name>.err. Handler packages under internal/ read the
// same files with Payload.
package lambdatest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Payloads returns the testdata/*.json payload files, leaving out the
// *.want.json replies; it fails the test when there are none.
func Payloads(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".want.json") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatal("no testdata/*.json payloads")
	}
	return out
}

// Payload reads functions/<function>/testdata/<name> from the repository
// root, for handler packages whose tests share the function's payloads.
func Payload(t *testing.T, function, name string) []byte {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for !isFile(filepath.Join(dir, "go.mod")) {
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("lambdatest: no go.mod above the working directory")
		}
		dir = parent
	}
	return Read(t, filepath.Join(dir, "functions", function, "testdata", name))
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Name is a payload's subtest name.
func Name(payload string) string { return strings.TrimSuffix(filepath.Base(payload), ".json") }

// Read returns a file's bytes or fails the test.
func Read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Check compares a handler's reply and error with what the payload's files
// expect, and reports whether the payload was meant to succeed.
func Check(t *testing.T, payload string, reply []byte, err error) (succeeded bool) {
	t.Helper()
	base := strings.TrimSuffix(payload, ".json")
	want, rerr := os.ReadFile(base + ".want.json")
	if rerr != nil {
		wantErr := strings.TrimSpace(string(Read(t, base+".err")))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("Invoke = %s, %v; want an error containing %q", reply, err, wantErr)
		}
		return false
	}
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var got, exp any
	if err := json.Unmarshal(reply, &got); err != nil {
		t.Fatalf("reply %s is not JSON: %v", reply, err)
	}
	if err := json.Unmarshal(want, &exp); err != nil {
		t.Fatalf("%s.want.json: %v", base, err)
	}
	if diff := cmp.Diff(exp, got); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}
	return true
}
