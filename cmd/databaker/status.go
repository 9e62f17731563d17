package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/DemocracyClub/dc-data-baker/internal/status"
)

func init() {
	commands["status"] = command{summary: "show a deployed stack's recent runs and output freshness (needs pulumi and AWS credentials)", run: runStatus}
}

const statusUsage = `Usage: databaker status --stack <env> [--executions N] [--max-age D] [--json] [--strict]

Status reads the stack's outputs with 'pulumi stack output --json', then
shows the last executions of each layer's state machine and, for each S3
output location, the object count and the newest object's age, warning when
it is older than --max-age. Where the output has a run manifest beside it
(current_elections_manifest/manifest.json), it shows what the last
published run changed, and any implausible change accepted on purpose. It needs the Pulumi CLI (logged in) and AWS
credentials for the stack's account (AWS_PROFILE, SSO, ...).

Exit status: 0 when the report was made, even with warnings (stale
outputs, a failed last run); 1 when it could not be made (no pulumi, no
AWS credentials, no such stack, an AWS error), or with --strict when there
are warnings; 2 for a bad command line.

Examples:

	databaker status --stack development
	databaker status --stack production --executions 10 --max-age 26h
	databaker status --stack production --json | jq '.warnings'
`

// stackClients builds the pulumi runner and AWS clients for the commands
// that read a deployed stack; tests replace it.
var stackClients = func(ctx context.Context, pulumiDir string) (status.Runner, status.SFNAPI, *s3.Client, error) {
	cfg, err := awsConfig(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return status.ExecRunner{Dir: pulumiDir}, sfn.NewFromConfig(cfg), s3.NewFromConfig(cfg), nil
}

// awsConfig loads the default AWS configuration and checks that it has
// credentials, so a machine without any gets one clear sentence rather than
// the SDK's chain error (which ends in EC2 IMDS) from the first request.
func awsConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithDefaultRegion("eu-west-2"))
	if err != nil {
		return cfg, fmt.Errorf("load AWS config: %w", err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return cfg, hinted{hint: "no AWS credentials found: set AWS_PROFILE to a profile for the stack's account (after 'aws sso login' if it uses SSO) and run this again", err: err}
	}
	return cfg, nil
}

// hinted is an error whose first line is one sentence with the next step;
// the underlying error follows for whoever needs the detail.
type hinted struct {
	hint string
	err  error
}

func (h hinted) Error() string { return h.hint + "\n  cause: " + h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

// stackHint turns the failures a newcomer meets first into a next step.
func stackHint(stack string, err error) error {
	var h hinted
	switch {
	case errors.As(err, &h):
		return err
	case errors.Is(err, exec.ErrNotFound):
		return hinted{hint: "the Pulumi CLI (pulumi) is not installed or not on PATH: install it from https://www.pulumi.com/docs/iac/download-install/, run 'pulumi login', and run this again", err: err}
	case strings.Contains(err.Error(), "no stack named"):
		return hinted{hint: fmt.Sprintf("stack %q does not exist in the Pulumi backend you are logged in to: 'pulumi stack ls' lists the stacks ('pulumi whoami -v' shows the backend)", stack), err: err}
	}
	return err
}

// strictError fails a run whose report has warnings under --strict.
type strictError struct{ warnings int }

func (e strictError) Error() string {
	return fmt.Sprintf("%d warning(s), and --strict makes warnings fail", e.warnings)
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", statusUsage, stderr)
	var (
		stack, dir string
		opts       status.Options
		asJSON     bool
		strict     bool
	)
	fs.StringVar(&stack, "stack", "", "Pulumi `stack`, e.g. development or production (required)")
	fs.StringVar(&dir, "pulumi-dir", ".", "`dir`ectory of the Pulumi project (Pulumi.yaml)")
	fs.IntVar(&opts.Executions, "executions", 5, "executions to show per state machine (`N`)")
	fs.DurationVar(&opts.MaxAge, "max-age", 36*time.Hour, "warn when an output's newest object is older than `D`")
	fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	fs.BoolVar(&strict, "strict", false, "exit 1 when there are warnings (for scripts and alarms)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "stack"); err != nil {
		return err
	}
	if opts.Executions < 1 || opts.Executions > 1000 {
		return usagef("--executions must be between 1 and 1000, got %d", opts.Executions)
	}
	if opts.MaxAge <= 0 {
		return usagef("--max-age must be positive, got %s", opts.MaxAge)
	}
	runner, sf, s3c, err := stackClients(ctx, dir)
	if err != nil {
		return stackHint(stack, err)
	}
	outs, err := status.ReadOutputs(ctx, runner, stack)
	if err != nil {
		return stackHint(stack, err)
	}
	report, err := status.Collect(ctx, sf, s3c, outs, opts)
	if err != nil {
		return fmt.Errorf("stack %s: %w", stack, err)
	}
	write := status.WriteText
	if asJSON {
		write = status.WriteJSON
	}
	if err := write(stdout, report); err != nil {
		return err
	}
	if strict && len(report.Warnings) > 0 {
		return strictError{len(report.Warnings)}
	}
	return nil
}
