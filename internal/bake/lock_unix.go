//go:build unix

package bake

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockOut takes the lock of out: flock on .<name>.lock beside it, which
// the system releases when the process ends, however it ends. The holder
// writes its pid there so a second bake can name it.
func lockOut(out string) (*os.File, error) {
	name := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	writable := err == nil
	if errors.Is(err, fs.ErrPermission) {
		// Another user's lock file: flock works on a read-only file too,
		// only the pid cannot be written.
		if ro, rerr := os.Open(name); rerr == nil {
			f, err = ro, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", out, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := os.ReadFile(name)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			holder := "another process"
			if pid := strings.TrimSpace(string(b)); pid != "" {
				holder = "pid " + pid
			}
			return nil, fmt.Errorf("another databaker bake (%s) is writing %s; it holds %s. Wait for it to finish, or stop it", holder, out, name)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if !writable {
		return f, nil
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return f, nil
}
