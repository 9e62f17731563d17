package lambdabuild_test

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/lambdabuild"
)

const helloSrc = `package main

import "fmt"

func main() { fmt.Println("%s") }
`

// writeModule writes a standalone module with one main package at
// functions/hello and returns the module root. A standalone module keeps the
// test independent of the repository's dependency graph.
func writeModule(t *testing.T, dir, greeting string) string {
	t.Helper()
	pkg := filepath.Join(dir, "functions", "hello")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/hello\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(helloSrc, "%s", greeting, 1)
	if err := os.WriteFile(filepath.Join(pkg, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func build(t *testing.T, root, outDir string) lambdabuild.Artifact {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	art, err := lambdabuild.Build(ctx, root, "functions/hello", outDir)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return art
}

func TestBuildIsReproducible(t *testing.T) {
	// The same source in two different directories, built into two
	// different output dirs: -trimpath must make the location irrelevant.
	rootA := writeModule(t, t.TempDir(), "hello")
	rootB := writeModule(t, t.TempDir(), "hello")
	a := build(t, rootA, t.TempDir())
	b := build(t, rootB, t.TempDir())

	if a.SourceCodeHash != b.SourceCodeHash {
		t.Errorf("same source gave different hashes: %s vs %s", a.SourceCodeHash, b.SourceCodeHash)
	}
	za, err := os.ReadFile(a.ZipPath)
	if err != nil {
		t.Fatal(err)
	}
	zb, err := os.ReadFile(b.ZipPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(za, zb) {
		t.Errorf("same source gave different zip bytes (%d vs %d bytes)", len(za), len(zb))
	}
	if got := lambdabuild.Hash(za); got != a.SourceCodeHash {
		t.Errorf("SourceCodeHash %s does not match the zip on disk (%s)", a.SourceCodeHash, got)
	}
	if a.Name != "hello" {
		t.Errorf("Name = %q, want hello", a.Name)
	}

	// A changed source must change the hash, or Lambda would keep old code.
	rootC := writeModule(t, t.TempDir(), "hello, changed")
	c := build(t, rootC, t.TempDir())
	if c.SourceCodeHash == a.SourceCodeHash {
		t.Errorf("changed source kept hash %s", a.SourceCodeHash)
	}
}

func TestBuildZipLayout(t *testing.T) {
	root := writeModule(t, t.TempDir(), "layout")
	out := t.TempDir()
	art := build(t, root, out)

	if got, want := art.ZipPath, filepath.Join(out, lambdabuild.ZipName); got != want {
		t.Errorf("ZipPath = %s, want %s", got, want)
	}
	zr, err := zip.OpenReader(art.ZipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()

	type entry struct {
		Name     string
		Mode     os.FileMode
		Modified time.Time
		Extra    int
		Comment  string
	}
	var got []entry
	for _, f := range zr.File {
		got = append(got, entry{f.Name, f.Mode(), f.Modified.UTC(), len(f.Extra), f.Comment})
	}
	want := []entry{{
		Name:     "bootstrap",
		Mode:     0o755,
		Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC),
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("zip entries (-want +got):\n%s", diff)
	}

	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var bin bytes.Buffer
	if _, err := bin.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(bin.Bytes()))
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	if ef.Machine != elf.EM_AARCH64 {
		t.Errorf("bootstrap machine = %v, want EM_AARCH64 (Lambda arm64)", ef.Machine)
	}
	if s := ef.Section(".go.buildinfo"); s == nil {
		t.Errorf("bootstrap has no Go build info")
	}
	if fi, err := os.Stat(filepath.Join(out, lambdabuild.BootstrapName)); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bootstrap next to the zip: %v, mode %v; want 0755", err, fi)
	}
}

func TestBuildErrors(t *testing.T) {
	root := writeModule(t, t.TempDir(), "x")
	broken := filepath.Join(root, "functions", "broken")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\n\nfunc main() { undefinedCall() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "functions", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		root, pkg  string
		wantSubstr string
	}{
		{"no go.mod", t.TempDir(), "functions/hello", "has no go.mod"},
		{"empty package path", root, "", "package path is empty"},
		{"outside module", root, "../elsewhere", "not a directory below module root"},
		{"module root itself", root, ".", "not a directory below module root"},
		{"no go files", root, "functions/empty", "no .go files"},
		{"missing dir", root, "functions/nope", "no .go files"},
		{"compile error names package and cause", root, "functions/broken", "functions/broken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := lambdabuild.Build(context.Background(), tt.root, tt.pkg, t.TempDir())
			if err == nil {
				t.Fatal("Build succeeded, want error")
			}
			if !strings.Contains(err.Error(), tt.wantSubstr) {
				t.Errorf("error %q does not mention %q", err, tt.wantSubstr)
			}
		})
	}
	_, err := lambdabuild.Build(context.Background(), root, "functions/broken", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "undefinedCall") {
		t.Errorf("compile error should carry the compiler message, got %v", err)
	}
}

func TestCachedBuildsOnceIntoBuildDir(t *testing.T) {
	root := writeModule(t, t.TempDir(), "cached")
	ctx := context.Background()
	first, err := lambdabuild.Cached(ctx, root, "functions/hello")
	if err != nil {
		t.Fatal(err)
	}
	wantZip := filepath.Join(root, ".build", "lambda", "functions", "hello", lambdabuild.ZipName)
	if first.ZipPath != wantZip {
		t.Errorf("ZipPath = %s, want %s", first.ZipPath, wantZip)
	}
	// Remove the zip: a second call in the same process must not rebuild.
	if err := os.Remove(first.ZipPath); err != nil {
		t.Fatal(err)
	}
	second, err := lambdabuild.Cached(ctx, root, "./functions/hello/")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second Cached call differs (-first +second):\n%s", diff)
	}
	if _, err := os.Stat(wantZip); !os.IsNotExist(err) {
		t.Errorf("second Cached call rebuilt the zip (stat err %v)", err)
	}
}

func TestFindModuleRoot(t *testing.T) {
	root := writeModule(t, t.TempDir(), "x")
	got, err := lambdabuild.FindModuleRoot(filepath.Join(root, "functions", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if got != root {
		t.Errorf("FindModuleRoot = %s, want %s", got, root)
	}
	if _, err := lambdabuild.FindModuleRoot(t.TempDir()); err == nil {
		t.Error("FindModuleRoot found a go.mod above a fresh temp dir")
	}
}
