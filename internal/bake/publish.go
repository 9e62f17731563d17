package bake

// Publishing. Out stays a plain folder, as older versions left it, and is
// replaced in one step: the new tree is staged in a sibling folder and the
// two are swapped with renameat2(RENAME_EXCHANGE) (renamex_np(RENAME_SWAP)
// on macOS), so at every instant Out is either the whole old tree or the
// whole new one, even if the process is killed. A symlink swap (Out as a
// symlink to versioned folders) would work with plain rename(2), but it
// would change what Out is: an existing folder would have to be turned into
// a symlink (which needs the same exchange, once), `rm -r Out` would leave
// the data behind, and a user's own symlink would end up pointing at ours.
// Swapping folders needs no migration and leaves the user's symlinks alone:
// a symlinked Out is followed and the folder it names is swapped.
//
// Beside Out (the folder, after following symlinks) a run keeps only:
//
//	.<name>.lock            the lock file, with the holder's pid
//	.<name>.staging-<id>    while it runs; after the swap, the old tree
//
// A killed run can leave a staging folder; the next run removes every
// folder named like that (and the ".old" folders of older versions, whose
// publish was two renames) under the lock, and nothing else.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// resolveOut follows out's symlinks, one link at a time, to the folder that
// is published (which need not exist yet), so a user's symlink is kept and
// the folder it points to is replaced.
func resolveOut(out string) (string, error) {
	p := out
	for range 40 {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("out %s: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			break
		}
		t, err := os.Readlink(p)
		if err != nil {
			return "", fmt.Errorf("out %s: %w", p, err)
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		p = filepath.Clean(t)
	}
	// The parent may itself be reached through symlinks; the staging
	// folder must be beside the real folder, on its filesystem.
	parent, err := filepath.EvalSymlinks(filepath.Dir(p))
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil // created later, with MkdirAll
	}
	if err != nil {
		return "", fmt.Errorf("out %s: %w", p, err)
	}
	p = filepath.Join(parent, filepath.Base(p))
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return "", fmt.Errorf("out %s: too many levels of symlinks", out)
	}
	return p, nil
}

// stagingPrefix is the name prefix of out's staging folders.
func stagingPrefix(out string) string { return "." + filepath.Base(out) + ".staging-" }

// litterName matches the folders runs into out leave when killed: a staging
// folder (before the swap: a partial new tree; after it: the old tree) and
// older versions' "<staging>.old" backups. Names are [0-9a-z]+ ids, as
// mkStaging makes them.
func litterName(out string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(stagingPrefix(out)) + `[0-9a-z]+(\.old)?$`)
}

// mkStaging creates a new, uniquely named folder beside out.
func mkStaging(out string) (string, error) {
	for range 100 {
		dir := filepath.Join(filepath.Dir(out), stagingPrefix(out)+strconv.FormatUint(rand.Uint64(), 36))
		err := os.Mkdir(dir, 0o777)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("create a staging folder beside %s: %w", out, err)
		}
		return dir, nil
	}
	return "", fmt.Errorf("no unused name for %s* in %s", stagingPrefix(out), filepath.Dir(out))
}

// cleanLitter removes what killed runs into out left, and only that. It
// must run under the lock. If out is missing and an older version was
// killed between its two renames, its backup is the last published output
// and is put back first.
func cleanLitter(out string) error {
	parent := filepath.Dir(out)
	ents, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", parent, err)
	}
	re := litterName(out)
	var litter []string
	var backup string
	var backupTime int64
	for _, e := range ents {
		if !e.IsDir() || !re.MatchString(e.Name()) {
			continue // a symlink or file of that name is not ours
		}
		litter = append(litter, e.Name())
		if strings.HasSuffix(e.Name(), ".old") {
			if fi, err := e.Info(); err == nil && fi.ModTime().UnixNano() > backupTime {
				backup, backupTime = e.Name(), fi.ModTime().UnixNano()
			}
		}
	}
	if backup != "" {
		if _, err := os.Lstat(out); errors.Is(err, fs.ErrNotExist) {
			if err := os.Rename(filepath.Join(parent, backup), out); err != nil {
				return fmt.Errorf("restore the previous output %s from %s: %w", out, backup, err)
			}
			pause("cleanup: restored")
		}
	}
	for _, name := range litter {
		if err := removeTree(filepath.Join(parent, name), "cleanup: litter"); err != nil {
			return fmt.Errorf("remove what a killed run left: %w", err)
		}
		pause("cleanup: removed one")
	}
	return nil
}

// removeTree removes a tree this program wrote, making its folders writable
// first, as Out's mode (copied to the staging folder) may be read-only.
// step names its pause point.
func removeTree(dir, step string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || !d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o700 != 0o700 {
			return os.Chmod(p, fi.Mode().Perm()|0o700)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	pause(step + " writable")
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// errNoExchange explains a failed swap on a filesystem without one.
var errNoExchange = errors.New("this system or filesystem cannot swap two folders atomically " +
	"(Linux renameat2 RENAME_EXCHANGE, macOS renamex_np RENAME_SWAP), so bake cannot replace --out safely; " +
	"use an --out on a local filesystem (ext4, xfs, btrfs, tmpfs, APFS), or a new --out")

// modeBits are the mode bits of Out that a new tree keeps.
const modeBits = fs.ModePerm | fs.ModeSetgid | fs.ModeSticky

// publish makes staging the new out, in one step. prev is out's mode if
// it exists, nil if not. After a swap, staging holds the old tree. A
// cancelled ctx stops it before the step, never after.
func publish(ctx context.Context, staging, out string, prev *fs.FileMode) error {
	pause("publish: start")
	if prev != nil {
		if err := os.Chmod(staging, *prev&modeBits); err != nil {
			return fmt.Errorf("publish %s: keep its mode: %w", out, err)
		}
		pause("publish: mode set")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if prev == nil {
		if err := renameNoReplace(staging, out); err != nil {
			return fmt.Errorf("publish %s: %w", out, err)
		}
		pause("publish: renamed")
		return nil
	}
	if err := exchange(staging, out); err != nil {
		return fmt.Errorf("publish %s: swap in %s: %w", out, filepath.Base(staging), err)
	}
	pause("publish: swapped")
	return nil
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
