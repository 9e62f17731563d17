package runcheck_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/runcheck"
	rt "github.com/DemocracyClub/dc-data-baker/internal/runcheck/runchecktest"
)

const smArn = "arn:aws:states:eu-west-2:123456789012:stateMachine:dc-data-baker-current-elections-development"

// ev is a history event at s seconds after the start.
func ev(s int, typ, state string) rt.Event {
	return rt.Event{Type: typ, State: state, At: time.Duration(s) * time.Second}
}

func failed(s int, typ, errName, cause string) rt.Event {
	return rt.Event{Type: typ, Error: errName, Cause: cause, At: time.Duration(s) * time.Second}
}

// task is a Lambda task state that succeeds, entered at s.
func task(s int, state string) []rt.Event {
	return []rt.Event{
		ev(s, "TaskStateEntered", state), ev(s, "TaskScheduled", ""), ev(s, "TaskStarted", ""),
		ev(s+1, "TaskSucceeded", ""), ev(s+1, "TaskStateExited", state),
	}
}

// follow starts the fake's execution and follows it with a clock that
// advances by each sleep, returning the progress lines.
func follow(t *testing.T, f *rt.Fake, opts runcheck.Options) (runcheck.Result, string, error) {
	t.Helper()
	t.Cleanup(f.Close)
	api := sfn.NewFromConfig(f.Config())
	ctx := context.Background()
	arn, err := runcheck.Start(ctx, api, smArn, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if arn != f.ExecutionArn() || f.Input != "{}" {
		t.Fatalf("started %s with input %q, want %s with {}", arn, f.Input, f.ExecutionArn())
	}
	clock := rt.Epoch
	var progress strings.Builder
	opts.Progress = &progress
	opts.Now = func() time.Time { return clock }
	opts.Sleep = func(_ context.Context, d time.Duration) error { clock = clock.Add(d); return nil }
	res, err := runcheck.Follow(ctx, api, arn, opts)
	return res, progress.String(), err
}

func TestFollowSuccess(t *testing.T) {
	f := rt.New(smArn, 3,
		append([]rt.Event{ev(0, "ExecutionStarted", "")}, task(0, "Check singleton")...),
		// A retried task failure is not the run's failure.
		append([]rt.Event{ev(2, "ParallelStateEntered", "Run"), ev(2, "TaskStateEntered", "Join A"), failed(3, "LambdaFunctionFailed", "Lambda.ServiceException", "throttled")}, task(4, "Join A")[1:]...),
		[]rt.Event{ev(5, "ParallelStateExited", "Run"), ev(5, "SucceedStateEntered", "Succeeded"), ev(5, "SucceedStateExited", "Succeeded"), ev(5, "ExecutionSucceeded", "")},
	)
	res, progress, err := follow(t, f, runcheck.Options{Timeout: 120 * time.Second})
	if err != nil {
		t.Fatalf("Follow: %v (%s)", err, f)
	}
	if res.Status != types.ExecutionStatusSucceeded || res.Duration != 5*time.Second {
		t.Errorf("result %+v, want SUCCEEDED after 5s", res)
	}
	want := `    0.0s  entered  Check singleton
    1.0s  exited   Check singleton
    2.0s  entered  Run
    2.0s  entered  Join A
    5.0s  exited   Join A
    5.0s  exited   Run
    5.0s  entered  Succeeded
    5.0s  exited   Succeeded
`
	if diff := cmp.Diff(want, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if n := f.Calls("StopExecution"); n != 0 {
		t.Errorf("StopExecution called %d times for a run that succeeded", n)
	}
}

// A task fails, the Catch leads through the failure notification to a Fail
// state: the error names the task, not the Fail state.
func TestFollowFailureNamesTheState(t *testing.T) {
	f := rt.New(smArn, 2,
		append([]rt.Event{ev(0, "ExecutionStarted", "")}, task(0, "Check singleton")...),
		[]rt.Event{ev(2, "TaskStateEntered", "Gate: one addressbase_source"), ev(2, "TaskScheduled", ""),
			failed(4, "TaskFailed", "QueryFailed", "gate failed: 2 addressbase_source values")},
		append(task(5, "Notify failure"),
			ev(6, "FailStateEntered", "Failed"),
			failed(6, "ExecutionFailed", "QueryFailed", "gate failed: 2 addressbase_source values")),
	)
	_, progress, err := follow(t, f, runcheck.Options{})
	var runErr *runcheck.RunError
	if !errors.As(err, &runErr) {
		t.Fatalf("err = %v, want a *RunError", err)
	}
	if runErr.Status != types.ExecutionStatusFailed || runErr.State != "Gate: one addressbase_source" || runErr.Err != "QueryFailed" || runErr.Budget != 0 {
		t.Errorf("RunError %+v, want FAILED in the gate with QueryFailed", runErr)
	}
	for _, want := range []string{`FAILED in state "Gate: one addressbase_source"`, "QueryFailed: gate failed: 2 addressbase_source values"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !strings.Contains(progress, "entered  Failed") {
		t.Errorf("progress does not show the Fail state:\n%s", progress)
	}
}

// A Fail state reached directly is the failing state.
func TestFollowFailStateWithoutTaskFailure(t *testing.T) {
	f := rt.New(smArn, 10, []rt.Event{
		ev(0, "ExecutionStarted", ""), ev(0, "FailStateEntered", "Athena stray status"),
		failed(0, "ExecutionFailed", "Athena.UnexpectedQueryStatus", "run_athena_query returned CANCELLED"),
	})
	_, _, err := follow(t, f, runcheck.Options{})
	var runErr *runcheck.RunError
	if !errors.As(err, &runErr) || runErr.State != "Athena stray status" || runErr.Err != "Athena.UnexpectedQueryStatus" {
		t.Fatalf("err = %v, want the Fail state named with its error", err)
	}
}

// The run outlasts the budget: it is stopped, and the error says where it was.
func TestFollowTimeoutStopsTheRun(t *testing.T) {
	f := rt.New(smArn, 5,
		append([]rt.Event{ev(0, "ExecutionStarted", "")}, task(0, "Check singleton")...),
		[]rt.Event{ev(2, "MapStateEntered", "Outcodes"), ev(2, "TaskStateEntered", "Split letter"), ev(2, "TaskScheduled", "")},
	)
	res, progress, err := follow(t, f, runcheck.Options{Timeout: 9 * time.Second, Poll: 2 * time.Second})
	var runErr *runcheck.RunError
	if !errors.As(err, &runErr) {
		t.Fatalf("err = %v, want a *RunError", err)
	}
	if runErr.Budget != 9*time.Second || !runErr.Stopped || res.Duration != 9*time.Second {
		t.Errorf("RunError %+v after %s, want a stopped run at the 9s budget", runErr, res.Duration)
	}
	if diff := cmp.Diff([]string{"Outcodes", "Split letter"}, runErr.Running); diff != "" {
		t.Errorf("running states (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "did not finish within 9s (stopped)") {
		t.Errorf("error %q does not say it outlasted the budget and was stopped", err)
	}
	if f.Stopped == nil || f.Stopped[0] != runcheck.StopError || !strings.Contains(f.Stopped[1], "9s") {
		t.Errorf("StopExecution got %q, want %s with the budget in the cause", f.Stopped, runcheck.StopError)
	}
	if !strings.HasSuffix(progress, "entered  Split letter\n") {
		t.Errorf("progress:\n%s", progress)
	}
}

func TestFollowTimeoutKeepRunning(t *testing.T) {
	f := rt.New(smArn, 5, []rt.Event{ev(0, "ExecutionStarted", ""), ev(0, "TaskStateEntered", "Check singleton")})
	_, _, err := follow(t, f, runcheck.Options{Timeout: 3 * time.Second, KeepRunning: true})
	var runErr *runcheck.RunError
	if !errors.As(err, &runErr) || runErr.Stopped || !strings.Contains(err.Error(), "left running") {
		t.Fatalf("err = %v, want a budget error that left the run going", err)
	}
	if n := f.Calls("StopExecution"); n != 0 {
		t.Errorf("StopExecution called %d times with KeepRunning", n)
	}
}

// A run past its budget that has entered a committed state (its publish)
// is left to finish: stopping it there would leave live files and tables
// half switched.
func TestFollowTimeoutLeavesACommittedRun(t *testing.T) {
	f := rt.New(smArn, 5,
		[]rt.Event{ev(0, "ExecutionStarted", ""), ev(0, "TaskStateEntered", "Publish outcode files"), ev(0, "TaskScheduled", "")},
		[]rt.Event{ev(2, "TaskStateExited", "Publish outcode files"), ev(2, "TaskStateEntered", "Switch joined table to this run")},
	)
	_, _, err := follow(t, f, runcheck.Options{Timeout: 3 * time.Second, Committed: []string{"Publish outcode files"}})
	var runErr *runcheck.RunError
	if !errors.As(err, &runErr) || runErr.Stopped || !strings.Contains(err.Error(), "left running") {
		t.Fatalf("err = %v, want a budget error that left the committed run going", err)
	}
	if n := f.Calls("StopExecution"); n != 0 {
		t.Errorf("StopExecution called %d times on a run that had entered its publish", n)
	}
}

// Step Functions' own TimeoutSeconds ends the run: TIMED_OUT, with the
// states it was in.
func TestFollowStateMachineTimedOut(t *testing.T) {
	f := rt.New(smArn, 5, []rt.Event{
		ev(0, "ExecutionStarted", ""), ev(0, "TaskStateEntered", "Join A"),
		failed(900, "ExecutionTimedOut", "States.Timeout", "The execution timed out"),
	})
	_, _, err := follow(t, f, runcheck.Options{Timeout: time.Hour})
	var runErr *runcheck.RunError
	if !errors.As(err, &runErr) || runErr.Status != types.ExecutionStatusTimedOut || !strings.Contains(err.Error(), `still in ["Join A"]`) {
		t.Fatalf("err = %v, want TIMED_OUT naming Join A", err)
	}
}

func TestAWSErrorsAreNotRunErrors(t *testing.T) {
	f := rt.New(smArn, 5, []rt.Event{ev(0, "ExecutionStarted", "")})
	t.Cleanup(f.Close)
	api := sfn.NewFromConfig(f.Config())
	_, err := runcheck.Start(context.Background(), api, smArn+"-nope", "", "")
	if err == nil || !strings.Contains(err.Error(), "StateMachineDoesNotExist") || !strings.Contains(err.Error(), smArn+"-nope") {
		t.Errorf("Start of a missing machine: %v", err)
	}
	_, err = runcheck.Follow(context.Background(), api, f.ExecutionArn()+"x", runcheck.Options{})
	if err == nil || runcheck.IsRunError(err) || !strings.Contains(err.Error(), "ExecutionDoesNotExist") {
		t.Errorf("Follow of a missing execution: %v", err)
	}
}
