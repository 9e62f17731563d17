// Package sql holds the Athena (Trino) query templates: sql/<layer>/ has a
// layer's own, sql/gates/ the quality gates every layer shares. A template's
// name is its path without .sql, e.g. "currentelections/uprn-to-ballots".
//
// A template has two kinds of placeholder. Deploy-time values use Go
// template syntax, {{.table}}, and are filled by Render from the table model;
// a missing one is an error. Run-time values use single braces,
// {first_letter}, and are left for the query Lambda to fill from the state
// machine's payload.
package sql

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"text/template"
)

//go:embed */*.sql
var files embed.FS

// Names lists the templates, without the .sql suffix, sorted.
func Names() []string {
	entries, err := fs.Glob(files, "*/*.sql")
	if err != nil { // only possible for a malformed pattern
		panic(err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = strings.TrimSuffix(e, ".sql")
	}
	sort.Strings(names)
	return names
}

// Source returns a template's raw text.
func Source(name string) (string, error) {
	b, err := files.ReadFile(name + ".sql")
	if err != nil {
		return "", fmt.Errorf("sql template %q: %w", name, err)
	}
	return string(b), nil
}

// Render fills a template's deploy-time values. A value the template names
// but values lacks is an error naming it; a value that would break out of
// its quotes (a single quote or a brace) is refused.
func Render(name string, values map[string]string) (string, error) {
	src, err := Source(name)
	if err != nil {
		return "", err
	}
	return RenderSource(name, src, values)
}

// RenderSource is Render for a template's text src, e.g. a mutated copy in
// a test.
func RenderSource(name, src string, values map[string]string) (string, error) {
	for k, v := range values {
		if strings.ContainsAny(v, "'{}\"") {
			return "", fmt.Errorf("sql template %q: value %s=%q contains a quote or brace", name, k, v)
		}
	}
	t, err := template.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return "", fmt.Errorf("parse sql template %q: %w", name, err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, values); err != nil {
		return "", fmt.Errorf("render sql template %q: %w", name, err)
	}
	return out.String(), nil
}

// Hash is a short, stable digest of rendered SQL, for a named query's
// description, so that a changed query shows up in a preview.
func Hash(rendered string) string {
	sum := sha256.Sum256([]byte(rendered))
	return hex.EncodeToString(sum[:])[:16]
}

var runtimePlaceholder = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// RuntimePlaceholders lists the run-time {name} placeholders left in rendered
// SQL, sorted and distinct.
func RuntimePlaceholders(rendered string) []string {
	seen := map[string]bool{}
	var names []string
	for _, m := range runtimePlaceholder.FindAllStringSubmatch(rendered, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names
}

// Fill replaces the run-time {name} placeholders in rendered SQL with values
// from context. A placeholder with no value is an error naming it: a missing
// value must never become an empty string.
func Fill(rendered string, context map[string]string) (string, error) {
	var missing []string
	for _, name := range RuntimePlaceholders(rendered) {
		if _, ok := context[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("no context value for placeholder(s) {%s}", strings.Join(missing, "}, {"))
	}
	return runtimePlaceholder.ReplaceAllStringFunc(rendered, func(m string) string {
		return context[m[1:len(m)-1]]
	}), nil
}
