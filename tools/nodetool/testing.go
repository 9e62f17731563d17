package nodetool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Require returns the repository root for a test that needs the npm tools.
// When they are missing the test fails if CI=true (CI runs `npm ci`), and is
// skipped otherwise, as a convenience for a quick local `go test`.
func Require(t testing.TB) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if err := Installed(root); err != nil {
		skipOrFail(t, err)
	}
	return root
}

// RequirePackage returns the node on PATH for a test that runs a script of
// its own npm folder dir (its package.json and package-lock.json installed
// by `npm ci --prefix dir`), once pkg is under dir/node_modules. When node
// or pkg is missing the test fails if CI=true and is skipped otherwise, as
// Require does.
func RequirePackage(t testing.TB, dir, pkg string) (node string) {
	t.Helper()
	if !isFile(filepath.Join(dir, "node_modules", pkg, "package.json")) {
		skipOrFail(t, fmt.Errorf("%s is not installed in %s (run `npm ci --prefix %s`): %w", pkg, dir, dir, ErrNotInstalled))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, fmt.Errorf("node not on PATH: %v: %w", err, ErrNotInstalled))
	}
	return node
}

// skipOrFail skips t for ErrNotInstalled unless CI=true, and fails it
// otherwise.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skipf("%v (CI=true makes this a failure)", err)
	}
	t.Fatal(err)
}

// RunScript runs tools/<script> under Node 22 with req as JSON on stdin and
// decodes the JSON it prints into out. It fails the test on any error.
func RunScript(t testing.TB, script string, req, out any) {
	t.Helper()
	root := Require(t)
	node, err := Node22(root)
	if err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	stdout, err := Run(ctx, root, in, node, filepath.Join(root, "tools", script))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s took %v", script, time.Since(start).Round(time.Millisecond))
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("decode %s output: %v\n%s", script, err, stdout)
	}
}
