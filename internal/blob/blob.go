// Package blob stores objects at a URL: an S3 bucket and prefix, or a local
// directory. Both back ends expose the same small Store interface so the
// Lambdas and the local engine share one code path.
package blob

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Store is a flat key/value object store. Keys use "/" as separator.
type Store interface {
	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Open opens the object for reading. The caller closes it. Dir returns
	// an *os.File, so readers may use io.ReaderAt and Stat to avoid a copy.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Put stores data under key. It skips the write and returns
	// changed=false when the object already holds identical bytes.
	Put(ctx context.Context, key string, data []byte) (changed bool, err error)
	// Delete removes keys. Missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error
}

// Object describes one stored object.
type Object struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	// ETag is S3's ETag (the quoted hex MD5 for single-part uploads);
	// Dir leaves it empty.
	ETag string `json:"etag"`
}

// NotFound reports whether err says that a key does not exist, from either
// store: Dir's fs.ErrNotExist or S3's NoSuchKey / NotFound.
func NotFound(err error) bool { return errors.Is(err, fs.ErrNotExist) || isNotFound(err) }

// ETagOf returns the S3-style ETag of data: the quoted hex MD5.
func ETagOf(data []byte) string {
	sum := md5.Sum(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// Open returns the Store for rawURL and the key prefix inside it.
// "s3://bucket/some/prefix/" uses the default AWS configuration;
// anything else (a path, or file:///path) is a local directory, whose
// prefix is "".
func Open(ctx context.Context, rawURL string) (Store, string, error) {
	if strings.HasPrefix(rawURL, "s3://") {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, "", fmt.Errorf("parse store url %q: %w", rawURL, err)
		}
		if u.Host == "" {
			return nil, "", fmt.Errorf("store url %q: missing bucket", rawURL)
		}
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("load aws config for %q: %w", rawURL, err)
		}
		return NewS3(s3.NewFromConfig(cfg), u.Host), strings.TrimPrefix(u.Path, "/"), nil
	}
	path := strings.TrimPrefix(rawURL, "file://")
	if path == "" {
		return nil, "", fmt.Errorf("store url is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", fmt.Errorf("store path %q: %w", rawURL, err)
	}
	return NewDir(abs), "", nil
}
