package sqlcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/tools/nodetool"
)

// Problem is one syntax error reported by the parser.
type Problem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	return fmt.Sprintf("line %d col %d: %s", p.Line, p.Column, p.Message)
}

// Result is the parser's verdict on one statement.
type Result struct {
	Name   string    `json:"name"`
	Errors []Problem `json:"errors"`
}

// Checker runs tools/sqlcheck/sqlcheck.mjs, bundled once by esbuild.
type Checker struct {
	root   string
	node   string
	bundle string
}

// New bundles the checker script into dir (a scratch directory) with the
// repository's esbuild. It needs `npm ci` to have run.
func New(ctx context.Context, dir string) (*Checker, error) {
	root, err := nodetool.Root()
	if err != nil {
		return nil, err
	}
	if err := nodetool.Installed(root); err != nil {
		return nil, err
	}
	node, err := nodetool.Node22(root)
	if err != nil {
		return nil, err
	}
	bundle := filepath.Join(dir, "sqlcheck.bundle.mjs")
	esbuild := filepath.Join(root, "node_modules", ".bin", "esbuild")
	if _, err := nodetool.Run(ctx, root, nil, esbuild,
		filepath.Join("tools", "sqlcheck", "sqlcheck.mjs"),
		"--bundle", "--platform=node", "--format=esm", "--log-level=warning",
		"--outfile="+bundle); err != nil {
		return nil, fmt.Errorf("bundle sql checker: %w", err)
	}
	return &Checker{root: root, node: node, bundle: bundle}, nil
}

// Check parses every statement in one node run and returns a result per
// statement, in order.
func (c *Checker) Check(ctx context.Context, stmts []Statement) ([]Result, error) {
	in, err := json.Marshal(stmts)
	if err != nil {
		return nil, fmt.Errorf("encode statements: %w", err)
	}
	out, err := nodetool.Run(ctx, c.root, in, c.node, c.bundle)
	if err != nil {
		return nil, fmt.Errorf("run sql checker: %w", err)
	}
	var res []Result
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("decode sql checker output: %w", err)
	}
	if len(res) != len(stmts) {
		return nil, fmt.Errorf("sql checker returned %d results for %d statements", len(res), len(stmts))
	}
	return res, nil
}

// Failures formats the results that have errors, one line per problem with
// the statement's name; empty means every statement parsed.
func Failures(results []Result) string {
	var b strings.Builder
	for _, r := range results {
		for _, p := range r.Errors {
			fmt.Fprintf(&b, "%s: %s\n", r.Name, p)
		}
	}
	return b.String()
}
