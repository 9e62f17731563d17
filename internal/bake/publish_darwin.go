package bake

import "golang.org/x/sys/unix"

// exchange swaps the folders a and b atomically.
func exchange(a, b string) error { return unix.RenamexNp(a, b, unix.RENAME_SWAP) }

// renameNoReplace renames a to b, failing if b exists.
func renameNoReplace(a, b string) error { return unix.RenamexNp(a, b, unix.RENAME_EXCL) }
