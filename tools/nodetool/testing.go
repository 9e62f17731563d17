package nodetool

import (
	"errors"
	"os"
	"testing"
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
		if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
			t.Skipf("%v (CI=true makes this a failure)", err)
		}
		t.Fatal(err)
	}
	return root
}
