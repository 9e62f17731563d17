package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/DemocracyClub/dc-data-baker/internal/status"
)

func init() {
	commands["status"] = command{summary: "show a deployed stack's recent runs and output freshness (needs pulumi and AWS credentials)", run: runStatus}
}

const statusUsage = `Usage: databaker status --stack <env> [--executions N] [--max-age D] [--json]

Status reads the stack's outputs with 'pulumi stack output --json', then
shows the last executions of each layer's state machine and, for each S3
output location, the object count and the newest object's age, warning when
it is older than --max-age. It needs the Pulumi CLI (logged in) and AWS
credentials for the stack's account (AWS_PROFILE, SSO, ...).

Examples:

	databaker status --stack development
	databaker status --stack production --executions 10 --max-age 26h
	databaker status --stack production --json | jq '.warnings'
`

// statusClients builds the runner and AWS clients; tests replace it.
var statusClients = func(ctx context.Context, pulumiDir string) (status.Runner, status.SFNAPI, status.S3API, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithDefaultRegion("eu-west-2"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load AWS config: %w", err)
	}
	return status.ExecRunner{Dir: pulumiDir}, sfn.NewFromConfig(cfg), s3.NewFromConfig(cfg), nil
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", statusUsage, stderr)
	var (
		stack, dir string
		opts       status.Options
		asJSON     bool
	)
	fs.StringVar(&stack, "stack", "", "Pulumi `stack`, e.g. development or production (required)")
	fs.StringVar(&dir, "pulumi-dir", ".", "`dir`ectory of the Pulumi project (Pulumi.yaml)")
	fs.IntVar(&opts.Executions, "executions", 5, "executions to show per state machine (`N`)")
	fs.DurationVar(&opts.MaxAge, "max-age", 36*time.Hour, "warn when an output's newest object is older than `D`")
	fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
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
	runner, sf, s3c, err := statusClients(ctx, dir)
	if err != nil {
		return err
	}
	outs, err := status.ReadOutputs(ctx, runner, stack)
	if err != nil {
		return err
	}
	report, err := status.Collect(ctx, sf, s3c, outs, opts)
	if err != nil {
		return fmt.Errorf("stack %s: %w", stack, err)
	}
	if asJSON {
		return status.WriteJSON(stdout, report)
	}
	return status.WriteText(stdout, report)
}
