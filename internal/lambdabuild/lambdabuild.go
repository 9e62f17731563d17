// Package lambdabuild compiles a Go main package into a reproducible AWS
// Lambda deployment zip for the provided.al2023 runtime on arm64.
//
// The same source always yields the same zip bytes, so the zip's SHA-256 can
// be given to Lambda as SourceCodeHash and a deploy only updates functions
// whose code really changed.
package lambdabuild

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

const (
	// BootstrapName is the executable name the provided.al2023 runtime runs.
	BootstrapName = "bootstrap"
	// ZipName is the file name of the deployment package inside outDir.
	ZipName = "function.zip"
	// CacheDir is where Cached builds, relative to the module root. It is
	// gitignored so built artifacts never reach the repository.
	CacheDir = ".build/lambda"
)

// zipEpoch is the modification time stamped on the zip entry. Any fixed
// value works; 1980-01-01 is the earliest time an MS-DOS zip header holds.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Artifact is a built Lambda deployment package.
type Artifact struct {
	// Name is the function directory's base name, e.g. "run_athena_query".
	Name string `json:"name"`
	// ZipPath is the absolute path of the deployment zip.
	ZipPath string `json:"zipPath"`
	// SourceCodeHash is the base64-encoded SHA-256 of the zip bytes, the
	// form Lambda reports as CodeSha256.
	SourceCodeHash string `json:"sourceCodeHash"`
}

// Build compiles the main package at pkgPath (relative to moduleRoot, e.g.
// "functions/run_athena_query") for linux/arm64 and writes outDir/bootstrap
// and outDir/function.zip. The build is reproducible: cgo off, -trimpath,
// no VCS stamp, no build id, and a zip with a fixed time and mode.
// Go's build cache is used, so rebuilding unchanged code is fast.
func Build(ctx context.Context, moduleRoot, pkgPath, outDir string) (Artifact, error) {
	root, err := filepath.Abs(moduleRoot)
	if err != nil {
		return Artifact{}, fmt.Errorf("lambda build %s: module root %q: %w", pkgPath, moduleRoot, err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return Artifact{}, fmt.Errorf("lambda build %s: module root %s has no go.mod: %w", pkgPath, root, err)
	}
	rel, err := cleanPkgPath(root, pkgPath)
	if err != nil {
		return Artifact{}, fmt.Errorf("lambda build: %w", err)
	}
	out, err := filepath.Abs(outDir)
	if err != nil {
		return Artifact{}, fmt.Errorf("lambda build %s: output dir %q: %w", rel, outDir, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return Artifact{}, fmt.Errorf("lambda build %s: create output dir: %w", rel, err)
	}

	bin, err := goBuild(ctx, root, rel, out)
	if err != nil {
		return Artifact{}, fmt.Errorf("lambda build %s: %w", rel, err)
	}
	zipBytes, err := zipBootstrap(bin)
	if err != nil {
		return Artifact{}, fmt.Errorf("lambda build %s: zip: %w", rel, err)
	}
	zipPath := filepath.Join(out, ZipName)
	if err := writeFileAtomic(zipPath, zipBytes, 0o644); err != nil {
		return Artifact{}, fmt.Errorf("lambda build %s: %w", rel, err)
	}
	return Artifact{
		Name:           filepath.Base(rel),
		ZipPath:        zipPath,
		SourceCodeHash: Hash(zipBytes),
	}, nil
}

// Hash returns the base64-encoded SHA-256 of b, the format of Lambda's
// SourceCodeHash / CodeSha256.
func Hash(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// cleanPkgPath checks that pkgPath names a directory inside root holding Go
// files, and returns it as a slash-separated path relative to root.
func cleanPkgPath(root, pkgPath string) (string, error) {
	if strings.TrimSpace(pkgPath) == "" {
		return "", errors.New("package path is empty")
	}
	p := pkgPath
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	rel, err := filepath.Rel(root, filepath.Clean(p))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("package path %q is not a directory below module root %s", pkgPath, root)
	}
	goFiles, err := filepath.Glob(filepath.Join(root, rel, "*.go"))
	if err != nil {
		return "", fmt.Errorf("package path %q: %w", pkgPath, err)
	}
	if len(goFiles) == 0 {
		return "", fmt.Errorf("package path %q: no .go files in %s", pkgPath, filepath.Join(root, rel))
	}
	return filepath.ToSlash(rel), nil
}

// goBuild runs go build for linux/arm64 and returns the bootstrap bytes.
func goBuild(ctx context.Context, root, rel, out string) ([]byte, error) {
	tmp, err := os.CreateTemp(out, ".bootstrap-*")
	if err != nil {
		return nil, fmt.Errorf("temp file: %w", err)
	}
	tmpName := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(tmpName) // no-op once renamed

	cmd := exec.CommandContext(ctx, "go", "build",
		"-trimpath",
		"-buildvcs=false",
		"-ldflags=-s -w -buildid=",
		"-tags=lambda.norpc", // provided.al2023 never uses the legacy go1.x RPC mode
		"-o", tmpName,
		"./"+rel,
	)
	cmd.Dir = root
	// The later entries win over anything in the caller's environment.
	cmd.Env = append(os.Environ(),
		"GOOS=linux",
		"GOARCH=arm64",
		"GOARM64=v8.0",
		"CGO_ENABLED=0",
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build ./%s (GOOS=linux GOARCH=arm64): %w: %s", rel, err, strings.TrimSpace(stderr.String()))
	}
	bin, err := os.ReadFile(tmpName)
	if err != nil {
		return nil, fmt.Errorf("read built binary: %w", err)
	}
	if err := os.Chmod(tmpName, 0o755); err != nil {
		return nil, fmt.Errorf("chmod bootstrap: %w", err)
	}
	// Kept next to the zip for inspection; the zip is what gets deployed.
	if err := os.Rename(tmpName, filepath.Join(out, BootstrapName)); err != nil {
		return nil, fmt.Errorf("move bootstrap into place: %w", err)
	}
	return bin, nil
}

// zipBootstrap returns a zip holding one entry, bootstrap, with mode 0755,
// a fixed time and no extra fields, so equal binaries give equal zips.
func zipBootstrap(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	fh := &zip.FileHeader{Name: BootstrapName, Method: zip.Deflate}
	// Setting the legacy MS-DOS fields instead of Modified keeps the writer
	// from adding an extended-timestamp extra field.
	//lint:ignore SA1019 the deprecated fields are what keep the zip free of a timestamp extra field
	fh.ModifiedDate, fh.ModifiedTime = msDosTime(zipEpoch)
	fh.SetMode(0o755)
	w, err := zw.CreateHeader(fh)
	if err != nil {
		return nil, fmt.Errorf("create entry %s: %w", BootstrapName, err)
	}
	if _, err := io.Copy(w, bytes.NewReader(bin)); err != nil {
		return nil, fmt.Errorf("write entry %s: %w", BootstrapName, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("finish zip: %w", err)
	}
	return buf.Bytes(), nil
}

// msDosTime converts t to the MS-DOS date and time fields of a zip header.
func msDosTime(t time.Time) (date, clock uint16) {
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	clock = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, clock
}

// writeFileAtomic writes data to a temp file in the same directory and
// renames it over path, so a concurrent reader (another test binary or a
// parallel Pulumi run) never sees a half-written zip.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// FindModuleRoot walks up from dir to the nearest directory holding go.mod.
func FindModuleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find module root from %q: %w", dir, err)
	}
	for {
		if fi, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !fi.IsDir() {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("find module root: no go.mod in %s or any parent", dir)
		}
		d = parent
	}
}

// memo holds one build per module root and package path for this process.
var memo struct {
	mu      sync.Mutex
	entries map[string]*memoEntry
}

type memoEntry struct {
	mu  sync.Mutex
	art *Artifact
}

// Cached builds pkgPath into <moduleRoot>/.build/lambda/<pkgPath>/ at most
// once per process. Core and every layer are built in one Pulumi run, so a
// function shared by them is compiled once. Failed builds are not
// remembered, so a retry (for example after a cancelled context) builds again.
func Cached(ctx context.Context, moduleRoot, pkgPath string) (Artifact, error) {
	root, err := filepath.Abs(moduleRoot)
	if err != nil {
		return Artifact{}, fmt.Errorf("lambda build %s: module root %q: %w", pkgPath, moduleRoot, err)
	}
	rel, err := cleanPkgPath(root, pkgPath)
	if err != nil {
		return Artifact{}, fmt.Errorf("lambda build: %w", err)
	}
	key := root + "\x00" + rel

	memo.mu.Lock()
	if memo.entries == nil {
		memo.entries = map[string]*memoEntry{}
	}
	e, ok := memo.entries[key]
	if !ok {
		e = &memoEntry{}
		memo.entries[key] = e
	}
	memo.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.art != nil {
		return *e.art, nil
	}
	art, err := Build(ctx, root, rel, filepath.Join(root, filepath.FromSlash(CacheDir), filepath.FromSlash(rel)))
	if err != nil {
		return Artifact{}, err
	}
	e.art = &art
	return art, nil
}
