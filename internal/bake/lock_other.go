//go:build !unix

package bake

import (
	"fmt"
	"os"
)

// lockOut would take the lock of out; this system has no flock.
func lockOut(out string) (*os.File, error) {
	return nil, fmt.Errorf("lock %s: bake needs flock, which this system lacks", out)
}
