// Package workflows reads the GitHub Actions workflow files and checks them
// against the project's delivery policy: which workflows and jobs exist, how
// they get AWS credentials (OIDC only), and which permissions they hold.
package workflows

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Workflow is the part of a workflow file that the policy looks at.
type Workflow struct {
	File        string          `yaml:"-"` // base name, e.g. "pull-request.yml"
	Text        string          `yaml:"-"` // the raw file
	Name        string          `yaml:"name"`
	On          Triggers        `yaml:"on"`
	Permissions *Permissions    `yaml:"permissions"`
	Concurrency *Concurrency    `yaml:"concurrency"`
	Jobs        map[string]*Job `yaml:"jobs"`
}

// Triggers maps an event name (push, pull_request, ...) to its filter, which
// is nil for a bare event. It accepts the string, list and map forms of on:.
type Triggers map[string]*Filter

// Filter is an event's branch and tag filter.
type Filter struct {
	Branches []string `yaml:"branches"`
	Tags     []string `yaml:"tags"`
	Types    []string `yaml:"types"`
}

// UnmarshalYAML accepts `on: push`, `on: [push, pull_request]` and the map form.
func (t *Triggers) UnmarshalYAML(n *yaml.Node) error {
	*t = Triggers{}
	switch n.Kind {
	case yaml.ScalarNode:
		(*t)[n.Value] = nil
	case yaml.SequenceNode:
		for _, c := range n.Content {
			(*t)[c.Value] = nil
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			if v.Kind != yaml.MappingNode {
				(*t)[k] = nil
				continue
			}
			var f Filter
			if err := v.Decode(&f); err != nil {
				return fmt.Errorf("line %d: on.%s: %w", v.Line, k, err)
			}
			(*t)[k] = &f
		}
	default:
		return fmt.Errorf("line %d: on: unexpected YAML kind", n.Line)
	}
	return nil
}

// Permissions is a permissions block: either a shorthand such as
// "read-all"/"write-all" (All) or a map of scope to access (Scopes).
type Permissions struct {
	All    string
	Scopes map[string]string
}

// UnmarshalYAML accepts both the shorthand and the map form.
func (p *Permissions) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		p.All = n.Value
		return nil
	}
	return n.Decode(&p.Scopes)
}

// Access returns the access ("read", "write", "none" or "") granted to scope.
func (p *Permissions) Access(scope string) string {
	if p == nil {
		return ""
	}
	if p.All != "" {
		return strings.TrimSuffix(p.All, "-all")
	}
	return p.Scopes[scope]
}

// Concurrency is a concurrency block; the string form sets only Group.
type Concurrency struct {
	Group            string `yaml:"group"`
	CancelInProgress any    `yaml:"cancel-in-progress"`
}

// UnmarshalYAML accepts `concurrency: name` and the map form.
func (c *Concurrency) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		c.Group = n.Value
		return nil
	}
	type plain Concurrency
	return n.Decode((*plain)(c))
}

// Job is one job of a workflow.
type Job struct {
	Needs       StringList   `yaml:"needs"`
	If          string       `yaml:"if"`
	RunsOn      any          `yaml:"runs-on"`
	Environment Environment  `yaml:"environment"`
	Permissions *Permissions `yaml:"permissions"`
	Concurrency *Concurrency `yaml:"concurrency"`
	Uses        string       `yaml:"uses"` // a reusable workflow
	Steps       []Step       `yaml:"steps"`
}

// StringList accepts a single string or a list of strings.
type StringList []string

// UnmarshalYAML accepts `needs: a` and `needs: [a, b]`.
func (s *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = StringList{n.Value}
		return nil
	}
	return n.Decode((*[]string)(s))
}

// Environment is a job's deployment environment; it accepts the string form
// and the {name, url} form.
type Environment struct{ Name string }

// UnmarshalYAML accepts `environment: production` and `environment: {name: production}`.
func (e *Environment) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		e.Name = n.Value
		return nil
	}
	var m struct {
		Name string `yaml:"name"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	e.Name = m.Name
	return nil
}

// Step is one step of a job.
type Step struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

// Action returns the action a step uses without its version ("actions/checkout").
func (s Step) Action() string {
	a, _, _ := strings.Cut(s.Uses, "@")
	return a
}

// Load reads every *.yml and *.yaml file in dir, keyed by base name.
func Load(dir string) (map[string]*Workflow, error) {
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no workflow files in %s", dir)
	}
	out := map[string]*Workflow{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		w, err := Parse(filepath.Base(f), b)
		if err != nil {
			return nil, err
		}
		out[w.File] = w
	}
	return out, nil
}

// Parse parses one workflow file's contents; name is used in errors.
func Parse(name string, b []byte) (*Workflow, error) {
	var w Workflow
	if err := yaml.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	if len(w.Jobs) == 0 {
		return nil, fmt.Errorf("parse %s: no jobs", name)
	}
	w.File, w.Text = name, string(b)
	return &w, nil
}

// EffectivePermissions returns the permissions a job runs with: its own
// block if it has one (which replaces the workflow's), else the workflow's.
func (w *Workflow) EffectivePermissions(job string) *Permissions {
	if j := w.Jobs[job]; j != nil && j.Permissions != nil {
		return j.Permissions
	}
	return w.Permissions
}

// SortedJobs returns the job names in order, for stable messages.
func (w *Workflow) SortedJobs() []string {
	names := make([]string, 0, len(w.Jobs))
	for n := range w.Jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var (
	varsRef       = regexp.MustCompile(`^\$\{\{\s*vars\.[A-Za-z0-9_]+\s*\}\}$`)
	secretsRef    = regexp.MustCompile(`^\$\{\{\s*secrets\.[A-Za-z0-9_]+\s*\}\}$`)
	pinnedVersion = regexp.MustCompile(`@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$`)
	longLivedKeys = regexp.MustCompile(`(?i)aws_access_key_id|aws_secret_access_key|aws-access-key-id|aws-secret-access-key|aws_session_token|aws-session-token`)
)

// Check returns every way the workflows break the general delivery policy,
// one message per problem naming the file and job; nil means none:
//   - top-level permissions are an explicit map with no write scope;
//   - every action is pinned to a major version or a commit;
//   - no long-lived AWS keys appear anywhere;
//   - a job that configures AWS credentials uses OIDC (id-token: write) with
//     role-to-assume from vars.*;
//   - a Pulumi step gets PULUMI_ACCESS_TOKEN from secrets, and only a job
//     that posts a PR comment has pull-requests: write.
func Check(ws map[string]*Workflow) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	files := make([]string, 0, len(ws))
	for f := range ws {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		w := ws[f]
		switch {
		case w.Permissions == nil:
			add("%s: no top-level permissions block (the default token may be read-write)", f)
		case w.Permissions.All != "":
			add("%s: top-level permissions %q; list scopes explicitly", f, w.Permissions.All)
		default:
			for scope, access := range w.Permissions.Scopes {
				if access == "write" {
					add("%s: top-level permission %s: write; grant it only on the job that needs it", f, scope)
				}
			}
		}
		if m := longLivedKeys.FindString(w.Text); m != "" {
			add("%s: mentions %s; use OIDC, not long-lived AWS keys", f, m)
		}
		for _, name := range w.SortedJobs() {
			j := w.Jobs[name]
			perms := w.EffectivePermissions(name)
			if j.Permissions != nil && j.Permissions.All == "write-all" {
				add("%s: job %s: permissions write-all", f, name)
			}
			comments := false
			for i, s := range j.Steps {
				where := fmt.Sprintf("%s: job %s step %d (%s)", f, name, i+1, s.Uses)
				if s.Uses != "" && !strings.HasPrefix(s.Uses, "./") && !pinnedVersion.MatchString(s.Uses) {
					add("%s: pin the action to a major version or commit", where)
				}
				switch s.Action() {
				case "aws-actions/configure-aws-credentials":
					if perms.Access("id-token") != "write" {
						add("%s: assumes an AWS role without id-token: write", where)
					}
					if !varsRef.MatchString(s.With["role-to-assume"]) {
						add("%s: role-to-assume %q must come from vars.*", where, s.With["role-to-assume"])
					}
				case "pulumi/actions":
					if !secretsRef.MatchString(s.Env["PULUMI_ACCESS_TOKEN"]) {
						add("%s: PULUMI_ACCESS_TOKEN must come from secrets.*", where)
					}
					if s.With["comment-on-pr"] == "true" {
						comments = true
					}
				}
			}
			if perms.Access("pull-requests") == "write" && !comments {
				add("%s: job %s has pull-requests: write but posts no PR comment", f, name)
			}
		}
	}
	return problems
}
