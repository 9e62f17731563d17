package bake

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// mkStaging creates a new, uniquely named folder in parent. It is renamed
// to Out on publish, so it gets the mode any folder gets (0o777 less the
// umask, usually 0755), not os.MkdirTemp's 0700, which would leave Out
// unreadable to other users and to a web server serving it.
func mkStaging(parent, prefix string) (string, error) {
	for range 100 {
		dir := filepath.Join(parent, prefix+strconv.FormatUint(rand.Uint64(), 36))
		err := os.Mkdir(dir, 0o777)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return dir, nil
	}
	return "", fmt.Errorf("no unused name for %s* in %s", prefix, parent)
}

// seed fills the staging outcode folder from the previous output, so that
// outcodes.Split's unchanged-bytes skip and DeleteStale see what S3 would
// hold. Files are hard-linked where possible (blob.Dir replaces a file by
// rename, never by writing into it, so the previous output is never
// modified) and copied otherwise.
func seed(prev, staging string) error {
	ents, err := os.ReadDir(prev)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read previous output %s: %w", prev, err)
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", staging, err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		src, dst := filepath.Join(prev, e.Name()), filepath.Join(staging, e.Name())
		if err := os.Link(src, dst); err == nil {
			continue
		}
		if err := copyFile(src, dst); err != nil {
			return fmt.Errorf("seed %s: %w", dst, err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// publish replaces out with staging: old → backup, staging → out, remove
// backup. Readers see either the old tree or the new one, never a mix; if
// the second rename fails the old tree is put back.
func publish(staging, out string) error {
	if _, err := os.Lstat(out); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(staging, out); err != nil {
			return fmt.Errorf("publish %s: %w", out, err)
		}
		return nil
	}
	backup := staging + ".old"
	if err := os.Rename(out, backup); err != nil {
		return fmt.Errorf("publish: move previous output aside: %w", err)
	}
	if err := os.Rename(staging, out); err != nil {
		if rerr := os.Rename(backup, out); rerr != nil {
			return fmt.Errorf("publish %s: %w (and restoring the previous output from %s failed: %v)", out, err, backup, rerr)
		}
		return fmt.Errorf("publish %s: %w", out, err)
	}
	if err := os.RemoveAll(backup); err != nil {
		return fmt.Errorf("remove previous output %s: %w", backup, err)
	}
	return nil
}
