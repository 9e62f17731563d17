package nodetool_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/tools/nodetool"
)

func TestRootFindsTheRepository(t *testing.T) {
	root, err := nodetool.Root()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.mod", "package.json", "package-lock.json"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("root %s has no %s: %v", root, f, err)
		}
	}
}

func TestInstalledNamesNpmCI(t *testing.T) {
	err := nodetool.Installed(t.TempDir())
	if !errors.Is(err, nodetool.ErrNotInstalled) || !strings.Contains(err.Error(), "npm ci") {
		t.Fatalf("Installed(empty dir) = %v, want ErrNotInstalled telling to run npm ci", err)
	}
}

func TestNode22IsNewEnough(t *testing.T) {
	root := nodetool.Require(t)
	node, err := nodetool.Node22(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := nodetool.Run(ctx, root, nil, node, "-p", "typeof Promise.withResolvers")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "function" {
		t.Errorf("%s: typeof Promise.withResolvers = %q, want function", node, got)
	}
}

func TestRunReportsStderr(t *testing.T) {
	root := nodetool.Require(t)
	node, err := nodetool.Node22(root)
	if err != nil {
		t.Fatal(err)
	}
	_, err = nodetool.Run(context.Background(), root, nil, node, "-e", "console.error('boom'); process.exit(3)")
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("err = %v, want exit status 3 with stderr", err)
	}
}

// RequirePackage skips a test whose npm folder has not been installed
// (outside CI), so a quick local go test needs no npm ci.
func TestRequirePackageSkipsWhenMissing(t *testing.T) {
	t.Setenv("CI", "")
	skipped := false
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		nodetool.RequirePackage(t, t.TempDir(), "nodejs-polars")
		t.Error("RequirePackage returned for a folder with no node_modules")
	})
	if !skipped {
		t.Error("the test was not skipped")
	}
}
