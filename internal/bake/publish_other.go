//go:build !linux && !darwin

package bake

import "os"

// exchange swaps the folders a and b atomically; this system has no such
// call, so bake can only publish into an --out that does not exist yet.
func exchange(a, b string) error { return errNoExchange }

// renameNoReplace renames a to b; the caller holds the lock and has seen
// that b does not exist.
func renameNoReplace(a, b string) error { return os.Rename(a, b) }
