package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/runcheck"
	"github.com/DemocracyClub/dc-data-baker/internal/status"
)

func init() {
	commands["run"] = command{summary: "start a deployed layer's state machine and, with --wait, follow it to the end (the post-deploy check)", run: runLayer}
}

const runUsage = `Usage: databaker run <layer> --stack <env> [--wait] [--timeout 120s] [--keep-running]

Run starts the layer's state machine in the stack (its ARN is the stack
output <layer>StateMachineArn, read with 'pulumi stack output --json'), and
prints the execution ARN. <layer> is a layer's output name, e.g.
currentElections or addressbase; current-elections works too.

With --wait it follows the execution, printing one line per state entered
or exited (seconds since the start), and exits 1 when the run fails, times
out or is aborted, naming the state the failure came from and its error
and cause. A run still going after --timeout (counted from its start) also
exits 1: it is stopped, with the error databaker.RunTimeout, so a failed
check leaves nothing running and the failure topic hears of it. With
--keep-running it is left to finish instead.

This is what the deploy workflows run after 'pulumi up'. It needs the
Pulumi CLI (logged in) and AWS credentials allowed states:StartExecution,
DescribeExecution, GetExecutionHistory and StopExecution.

Exit status: 0 when the run was started (and, with --wait, succeeded in
time); 1 when it failed, outlasted --timeout, or could not be started or
followed; 2 for a bad command line.

Examples:

	databaker run currentElections --stack development
	databaker run currentElections --stack production --wait --timeout 120s
	databaker run addressbase --stack development --wait --timeout 15m
`

// runClients builds the pulumi runner and Step Functions client for
// databaker run; tests replace it.
var runClients = func(ctx context.Context, pulumiDir string) (status.Runner, runcheck.SFNAPI, error) {
	cfg, err := awsConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	return status.ExecRunner{Dir: pulumiDir}, sfn.NewFromConfig(cfg), nil
}

// committedStates are every layer's publish and table switches: a run that
// has reached one is left to finish rather than stopped at its budget, so
// a slow deploy check never leaves live files and tables half switched.
var committedStates = []string{
	addressbase.StateSwitch,
	currentelections.StatePublish, currentelections.StateSwitch,
	boundaryreviews.StatePublish, boundaryreviews.StateSwitchJoined, boundaryreviews.StateSwitchChanges,
}

// runSleep and runNow are the clock databaker run follows an execution
// with; tests replace them.
var (
	runSleep func(context.Context, time.Duration) error
	runNow   func() time.Time
)

func runLayer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", runUsage, stderr)
	var (
		stack, dir string
		wait       bool
		opts       runcheck.Options
	)
	fs.StringVar(&stack, "stack", "", "Pulumi `stack`, e.g. development or production (required)")
	fs.StringVar(&dir, "pulumi-dir", ".", "`dir`ectory of the Pulumi project (Pulumi.yaml)")
	fs.BoolVar(&wait, "wait", false, "follow the execution to its end; exit 1 unless it succeeds within --timeout")
	fs.DurationVar(&opts.Timeout, "timeout", runcheck.DefaultTimeout, "with --wait, the time budget from the execution's start (`D`)")
	fs.DurationVar(&opts.Poll, "poll", runcheck.DefaultPoll, "with --wait, how often to look at the execution (`D`)")
	fs.BoolVar(&opts.KeepRunning, "keep-running", false, "with --wait, leave a run that outlasts --timeout running instead of stopping it")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one layer, e.g. 'databaker run currentElections --stack development', got %d arguments", len(pos))
	}
	if err := required(fs, "stack"); err != nil {
		return err
	}
	if opts.Timeout <= 0 || opts.Poll <= 0 {
		return usagef("--timeout and --poll must be positive, got %s and %s", opts.Timeout, opts.Poll)
	}
	runner, api, err := runClients(ctx, dir)
	if err != nil {
		return stackHint(stack, err)
	}
	outs, err := status.ReadOutputs(ctx, runner, stack)
	if err != nil {
		return stackHint(stack, err)
	}
	sm, err := findLayer(outs, pos[0])
	if err != nil {
		return err
	}
	arn, err := runcheck.Start(ctx, api, sm.ARN, "", "")
	if err != nil {
		return fmt.Errorf("stack %s: %w", stack, err)
	}
	fmt.Fprintf(stdout, "started %s\n", arn)
	if !wait {
		return nil
	}
	opts.Progress, opts.Sleep, opts.Now = stdout, runSleep, runNow
	opts.Committed = committedStates
	res, err := runcheck.Follow(ctx, api, arn, opts)
	if err != nil {
		return fmt.Errorf("stack %s, layer %s: %w", stack, sm.Layer, err)
	}
	fmt.Fprintf(stdout, "%s %s in %.1fs (budget %s)\n", sm.Layer, res.Status, res.Duration.Seconds(), opts.Timeout)
	return nil
}

// findLayer picks the layer's state machine from the stack outputs,
// ignoring case and dashes, so currentElections and current-elections both
// name the CurrentElections layer.
func findLayer(outs status.Outputs, name string) (status.StateMachine, error) {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "")) }
	var known []string
	for _, sm := range outs.StateMachines {
		if norm(sm.Layer) == norm(name) {
			return sm, nil
		}
		known = append(known, sm.Layer)
	}
	sort.Strings(known)
	return status.StateMachine{}, usagef("stack %s has no layer %q; its layers are %s", outs.Stack, name, strings.Join(known, ", "))
}
