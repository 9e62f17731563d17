package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Dir is a Store in a local directory. Keys are slash-separated paths
// relative to the root.
type Dir struct {
	root string
}

var _ Store = (*Dir)(nil)

// NewDir returns a Store rooted at root. The directory is created on the
// first Put.
func NewDir(root string) *Dir { return &Dir{root: root} }

// Root returns the directory.
func (d *Dir) Root() string { return d.root }

func (d *Dir) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || slices.Contains(strings.Split(key, "/"), "..") {
		return "", fmt.Errorf("invalid key %q", key)
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// List walks the directory holding prefix and returns the regular files
// whose key starts with prefix, sorted by key. Temporary files left by an
// interrupted Put are skipped.
func (d *Dir) List(ctx context.Context, prefix string) ([]Object, error) {
	start := d.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(d.root, filepath.FromSlash(path.Clean(prefix[:i])))
	}
	var out []Object
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		// ETag stays empty: hashing every file would read whole inputs.
		out = append(out, Object{Key: key, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s prefix %q: %w", d.root, prefix, err)
	}
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Open returns the file, an *os.File.
func (d *Dir) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	return f, nil
}

const tmpPrefix = ".blob-tmp-"

// Put compares data with the existing file and, if it differs, writes a
// temporary file in the same directory and renames it over the key, so
// readers never see a partial file.
func (d *Dir) Put(ctx context.Context, key string, data []byte) (bool, error) {
	p, err := d.path(key)
	if err != nil {
		return false, err
	}
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("put %s: %w", key, err)
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return false, fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("put %s: write temp: %w", key, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, fmt.Errorf("put %s: chmod temp: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("put %s: close temp: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return false, fmt.Errorf("put %s: rename: %w", key, err)
	}
	return true, nil
}

// Delete removes the files; missing ones are ignored, like S3.
func (d *Dir) Delete(ctx context.Context, keys ...string) error {
	var errs []error
	for _, k := range keys {
		p, err := d.path(k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("delete %s: %w", k, err))
		}
	}
	return errors.Join(errs...)
}
