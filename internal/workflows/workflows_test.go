package workflows_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/workflows"
)

const dir = "../../.github/workflows"

// actionlintPkg is the pinned actionlint; `go run` caches the built binary.
const actionlintPkg = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

func load(t *testing.T) map[string]*workflows.Workflow {
	t.Helper()
	ws, err := workflows.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func job(t *testing.T, ws map[string]*workflows.Workflow, file, name string) *workflows.Job {
	t.Helper()
	w := ws[file]
	if w == nil {
		t.Fatalf("workflow %s is missing", file)
	}
	j := w.Jobs[name]
	if j == nil {
		t.Fatalf("%s: job %s is missing (have %v)", file, name, w.SortedJobs())
	}
	return j
}

// step returns the first step of j that uses action, failing if none does.
func step(t *testing.T, file, jobName string, j *workflows.Job, action string) workflows.Step {
	t.Helper()
	for _, s := range j.Steps {
		if s.Action() == action {
			return s
		}
	}
	t.Fatalf("%s: job %s has no step using %s", file, jobName, action)
	return workflows.Step{}
}

func TestPolicy(t *testing.T) {
	if problems := workflows.Check(load(t)); len(problems) > 0 {
		t.Errorf("policy problems:\n%s", strings.Join(problems, "\n"))
	}
}

func TestTriggers(t *testing.T) {
	ws := load(t)
	for _, tc := range []struct {
		file  string
		event string
		want  *workflows.Filter
	}{
		{"pull-request.yml", "pull_request", nil},
		{"deploy-development.yml", "push", &workflows.Filter{Branches: []string{"main"}}},
		{"deploy-production.yml", "workflow_dispatch", nil},
		{"deploy-production.yml", "push", &workflows.Filter{Tags: []string{"v*"}}},
	} {
		w := ws[tc.file]
		if w == nil {
			t.Errorf("workflow %s is missing", tc.file)
			continue
		}
		got, ok := w.On[tc.event]
		if !ok {
			t.Errorf("%s: not triggered on %s", tc.file, tc.event)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: on.%s (-want +got):\n%s", tc.file, tc.event, diff)
		}
	}
	if n := len(ws["deploy-production.yml"].On); n != 2 {
		t.Errorf("deploy-production.yml: %d triggers, want only workflow_dispatch and push tags", n)
	}
}

// Every workflow tests first, the way CI does: .ci/run on the go.mod Go
// version and Node 22.
func TestTestJobs(t *testing.T) {
	ws := load(t)
	for _, file := range []string{"pull-request.yml", "deploy-development.yml", "deploy-production.yml"} {
		j := job(t, ws, file, "test")
		step(t, file, "test", j, "actions/checkout")
		if s := step(t, file, "test", j, "actions/setup-go"); s.With["go-version-file"] != "go.mod" {
			t.Errorf("%s: setup-go go-version-file = %q, want go.mod", file, s.With["go-version-file"])
		}
		if s := step(t, file, "test", j, "actions/setup-node"); s.With["node-version"] != "22" {
			t.Errorf("%s: setup-node node-version = %q, want 22", file, s.With["node-version"])
		}
		if !slices.ContainsFunc(j.Steps, func(s workflows.Step) bool { return strings.TrimSpace(s.Run) == ".ci/run" }) {
			t.Errorf("%s: job test does not run .ci/run", file)
		}
	}
}

// The linters run once per pull request, inside .ci/run, with their
// built binaries cached by the test job.
func TestLintRunsInCIOnce(t *testing.T) {
	ws := load(t)
	ci, err := os.ReadFile(filepath.Join("..", "..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\nscripts/lint\n") {
		t.Error(".ci/run does not run scripts/lint")
	}
	j := job(t, ws, "pull-request.yml", "test")
	if s := step(t, "pull-request.yml", "test", j, "actions/cache"); s.With["path"] != ".build/tools" {
		t.Errorf("pull-request.yml: test job caches %q, want .build/tools", s.With["path"])
	}
	for name, w := range ws {
		for jn, jb := range w.Jobs {
			if jn != "test" && slices.ContainsFunc(jb.Steps, func(s workflows.Step) bool { return strings.TrimSpace(s.Run) == "scripts/lint" }) {
				t.Errorf("%s: job %s runs scripts/lint again", name, jn)
			}
		}
	}
}

func TestPulumiJobs(t *testing.T) {
	ws := load(t)
	for _, tc := range []struct {
		file, job, command, stack, role, environment string
	}{
		{"pull-request.yml", "preview", "preview", "development", "AWS_ROLE_ARN_PREVIEW", ""},
		{"deploy-development.yml", "deploy", "up", "development", "AWS_ROLE_ARN_DEVELOPMENT", ""},
		{"deploy-production.yml", "deploy", "up", "production", "AWS_ROLE_ARN_PRODUCTION", "production"},
	} {
		w := ws[tc.file]
		j := job(t, ws, tc.file, tc.job)
		if !slices.Contains(j.Needs, "test") {
			t.Errorf("%s: job %s needs %v, want test", tc.file, tc.job, j.Needs)
		}
		if j.Environment.Name != tc.environment {
			t.Errorf("%s: job %s environment = %q, want %q", tc.file, tc.job, j.Environment.Name, tc.environment)
		}
		aws := step(t, tc.file, tc.job, j, "aws-actions/configure-aws-credentials")
		if got, want := aws.With["role-to-assume"], "${{ vars."+tc.role+" }}"; got != want {
			t.Errorf("%s: role-to-assume = %q, want %q", tc.file, got, want)
		}
		if aws.With["aws-region"] != "eu-west-2" {
			t.Errorf("%s: aws-region = %q, want eu-west-2", tc.file, aws.With["aws-region"])
		}
		if w.EffectivePermissions(tc.job).Access("id-token") != "write" {
			t.Errorf("%s: job %s lacks id-token: write", tc.file, tc.job)
		}
		step(t, tc.file, tc.job, j, "actions/setup-go") // the Pulumi program and its Lambdas are Go
		p := step(t, tc.file, tc.job, j, "pulumi/actions")
		if p.With["command"] != tc.command || p.With["stack-name"] != tc.stack {
			t.Errorf("%s: pulumi/actions command=%q stack-name=%q, want %q %q", tc.file, p.With["command"], p.With["stack-name"], tc.command, tc.stack)
		}
		if tc.command == "up" {
			if w.Concurrency == nil || w.Concurrency.Group == "" || w.Concurrency.CancelInProgress != false {
				t.Errorf("%s: deploys need a concurrency group with cancel-in-progress: false, got %+v", tc.file, w.Concurrency)
			}
		}
	}
	if ws["deploy-development.yml"].Concurrency.Group == ws["deploy-production.yml"].Concurrency.Group {
		t.Error("development and production deploys share a concurrency group; they should not block each other")
	}
}

func TestPreviewCommentsOnPR(t *testing.T) {
	ws := load(t)
	w := ws["pull-request.yml"]
	j := job(t, ws, "pull-request.yml", "preview")
	p := step(t, "pull-request.yml", "preview", j, "pulumi/actions")
	if p.With["comment-on-pr"] != "true" {
		t.Errorf("preview: comment-on-pr = %q, want true", p.With["comment-on-pr"])
	}
	if p.With["github-token"] != "${{ secrets.GITHUB_TOKEN }}" {
		t.Errorf("preview: github-token = %q, want ${{ secrets.GITHUB_TOKEN }}", p.With["github-token"])
	}
	if got := w.EffectivePermissions("preview").Access("pull-requests"); got != "write" {
		t.Errorf("preview: pull-requests permission = %q, want write", got)
	}
	if got := w.EffectivePermissions("test").Access("pull-requests"); got == "write" {
		t.Error("test job can write pull requests; only preview should")
	}
}

// Check must catch each kind of violation; each case breaks one rule.
func TestCheckCatchesViolations(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"write-all.yml", `write-all.yml: top-level permissions "write-all"; list scopes explicitly`},
		{"no-permissions.yml", "no-permissions.yml: no top-level permissions block (the default token may be read-write)"},
		{"top-level-write.yml", "top-level-write.yml: top-level permission id-token: write; grant it only on the job that needs it"},
		{"static-keys.yml", "static-keys.yml: mentions aws-access-key-id; use OIDC, not long-lived AWS keys"},
		{"no-id-token.yml", "no-id-token.yml: job deploy step 1 (aws-actions/configure-aws-credentials@v4): assumes an AWS role without id-token: write"},
		{"literal-role.yml", `literal-role.yml: job deploy step 1 (aws-actions/configure-aws-credentials@v4): role-to-assume "arn:aws:iam::123456789012:role/deploy" must come from vars.*`},
		{"unpinned.yml", "unpinned.yml: job test step 1 (actions/checkout@main): pin the action to a major version or commit"},
		{"pulumi-token.yml", "pulumi-token.yml: job deploy step 1 (pulumi/actions@v6): PULUMI_ACCESS_TOKEN must come from secrets.*"},
		{"pr-write.yml", "pr-write.yml: job test has pull-requests: write but posts no PR comment"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			w, err := workflows.Parse(tc.file, b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tc.want}, workflows.Check(map[string]*workflows.Workflow{tc.file: w})); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseForms(t *testing.T) {
	w, err := workflows.Parse("forms.yml", []byte(`
on: [push, workflow_dispatch]
permissions: read-all
concurrency: one
jobs:
  a:
    needs: b
    environment: {name: production, url: https://example.com}
    steps: [{uses: actions/checkout@v4}]
`))
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		On          workflows.Triggers
		Permissions string
		Group       string
		Needs       workflows.StringList
		Environment string
	}{w.On, w.Permissions.All, w.Concurrency.Group, w.Jobs["a"].Needs, w.Jobs["a"].Environment.Name}
	want := struct {
		On          workflows.Triggers
		Permissions string
		Group       string
		Needs       workflows.StringList
		Environment string
	}{workflows.Triggers{"push": nil, "workflow_dispatch": nil}, "read-all", "one", workflows.StringList{"b"}, "production"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := workflows.Parse("bad.yml", []byte("jobs: [")); err == nil || !strings.Contains(err.Error(), "bad.yml") {
		t.Errorf("Parse(bad YAML) error = %v, want one naming bad.yml", err)
	}
	if _, err := workflows.Parse("empty.yml", []byte("on: push\n")); err == nil || !strings.Contains(err.Error(), "empty.yml: no jobs") {
		t.Errorf("Parse(no jobs) error = %v, want empty.yml: no jobs", err)
	}
}

// TestActionlint runs the real linter (expressions, action inputs, job
// graph). It uses $ACTIONLINT if set, else `go run` of the pinned version,
// which needs the Go module proxy the first time. Without either it skips,
// except under CI=true, where it fails.
func TestActionlint(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows in %s: %v", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// shellcheck and pyflakes are optional extras that actionlint runs when
	// it finds them; turn them off so results do not depend on the machine.
	args := append([]string{"-shellcheck=", "-pyflakes="}, files...)
	var cmd *exec.Cmd
	if bin := os.Getenv("ACTIONLINT"); bin != "" {
		cmd = exec.CommandContext(ctx, bin, args...)
	} else {
		cmd = exec.CommandContext(ctx, "go", append([]string{"run", actionlintPkg}, args...)...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		// actionlint exits 1 when it found problems.
		t.Errorf("actionlint found problems:\n%s", out.String())
	case os.Getenv("CI") == "true":
		t.Fatalf("cannot run actionlint (%v):\n%s", err, out.String())
	default:
		t.Skipf("cannot run actionlint (%v); set ACTIONLINT or allow the Go module proxy:\n%s", err, out.String())
	}
}

// The repository's own workflows pin every action by full commit SHA, with
// the version as a comment for people and Dependabot: a tag can be moved.
func TestActionsArePinnedBySHA(t *testing.T) {
	pinned := regexp.MustCompile(`^\s*-?\s*uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$`)
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows: %v", err)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, "uses:") || strings.Contains(line, "uses: ./") {
				continue
			}
			n++
			if !pinned.MatchString(line) {
				t.Errorf("%s:%d: %q is not pinned as uses: owner/repo@<40-hex SHA> # vX.Y.Z", filepath.Base(f), i+1, strings.TrimSpace(line))
			}
		}
	}
	if n == 0 {
		t.Error("no uses: lines found")
	}
	if _, err := os.Stat("../../.github/dependabot.yml"); err != nil {
		t.Errorf("no Dependabot config to keep the pins current: %v", err)
	}
}

// Each deploy runs the post-deploy check after pulumi up: every layer,
// waiting, within its budget (120 s for CurrentElections).
func TestDeploysRunThePostDeployCheck(t *testing.T) {
	ws := load(t)
	for _, file := range []string{"deploy-development.yml", "deploy-production.yml"} {
		j := job(t, ws, file, "deploy")
		up := slices.IndexFunc(j.Steps, func(s workflows.Step) bool { return s.Action() == "pulumi/actions" })
		check := slices.IndexFunc(j.Steps, func(s workflows.Step) bool { return strings.Contains(s.Run, "cmd/databaker") })
		if up < 0 || check < up {
			t.Errorf("%s: no post-deploy check step after pulumi up (steps %d, %d)", file, up, check)
			continue
		}
		run := j.Steps[check].Run
		for _, want := range []string{"run addressbase --stack", "run currentElections --stack", "--wait --timeout 120s"} {
			if !strings.Contains(run, want) {
				t.Errorf("%s: post-deploy check %q lacks %q", file, run, want)
			}
		}
		if j.Steps[check].Env["PULUMI_ACCESS_TOKEN"] != "${{ secrets.PULUMI_ACCESS_TOKEN }}" {
			t.Errorf("%s: the check reads stack outputs but has no PULUMI_ACCESS_TOKEN", file)
		}
	}
}
