package nodetool

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ValidateASL checks rendered state machine definitions, keyed by a name used in messages,
// with the real npm asl-validator (`npx --no-install asl-validator
// --json-path f.json`, from the repository root after `npm ci`). It returns
// an error listing every invalid definition with the validator's messages.
func ValidateASL(ctx context.Context, definitions map[string][]byte) error {
	root, err := Root()
	if err != nil {
		return err
	}
	if err := Installed(root); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "asl-validate-")
	if err != nil {
		return fmt.Errorf("validate state machines: %w", err)
	}
	defer os.RemoveAll(dir)

	names := make([]string, 0, len(definitions))
	for name := range definitions {
		names = append(names, name)
	}
	sort.Strings(names)
	args := []string{"--no-install", "asl-validator"}
	files := map[string]string{}
	for i, name := range names {
		f := filepath.Join(dir, fmt.Sprintf("%02d.json", i))
		if err := os.WriteFile(f, definitions[name], 0o600); err != nil {
			return fmt.Errorf("validate state machine %s: %w", name, err)
		}
		files[f] = name
		args = append(args, "--json-path", f)
	}
	out, runErr := Run(ctx, root, nil, "npx", args...)
	// The validator prints one "✓ ... is valid" line per good file; anything
	// else (including a non-zero exit) is reported with the names restored.
	valid := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "✓") && strings.HasSuffix(line, "is valid") {
			valid++
		}
	}
	if runErr == nil && valid == len(names) {
		return nil
	}
	msg := string(out)
	if runErr != nil {
		msg = runErr.Error()
	}
	for f, name := range files {
		msg = strings.ReplaceAll(msg, f, name)
	}
	return fmt.Errorf("asl-validator: %d of %d definitions valid:\n%s", valid, len(names), msg)
}
