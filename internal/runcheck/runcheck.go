// Package runcheck starts a layer's state machine and follows the
// execution to its end, as a deploy's post-deploy check does: one progress
// line per state entered or exited, and an error naming the failing state,
// its error and cause when the run fails, times out or is aborted, or when
// it outlasts the caller's time budget.
package runcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/clock"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// SFNAPI is the part of the Step Functions client that runcheck uses.
type SFNAPI interface {
	StartExecution(ctx context.Context, params *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, params *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	GetExecutionHistory(ctx context.Context, params *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	StopExecution(ctx context.Context, params *sfn.StopExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
}

var _ SFNAPI = (*sfn.Client)(nil)

// Defaults used when an Options field is zero.
const (
	DefaultPoll    = 2 * time.Second
	DefaultTimeout = 120 * time.Second
)

// StopError is the error a run stopped for outlasting its budget is
// aborted with, so its history says who stopped it and why.
const StopError = "databaker.RunTimeout"

// Options tune Follow.
type Options struct {
	// Timeout is the time budget from the execution's start; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Poll is the wait between looks at the execution; 0 means DefaultPoll.
	Poll time.Duration
	// KeepRunning leaves an execution that outlasts Timeout running instead
	// of stopping it.
	KeepRunning bool
	// Committed are the states from which a stop would leave what readers
	// see half switched (a layer's publish and table switches): once the
	// run has entered one, Follow leaves it running past Timeout, as
	// KeepRunning does, so it can finish.
	Committed []string
	// Progress receives one line per state entered or exited; nil discards.
	Progress io.Writer
	// Sleep waits between polls; nil means clock.Sleep.
	// Tests replace it to run without waiting.
	Sleep func(context.Context, time.Duration) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Start starts the state machine with input ("" means "{}") and returns
// the execution ARN. name may be empty: Step Functions then picks one.
func Start(ctx context.Context, api SFNAPI, stateMachineArn, name, input string) (string, error) {
	if input == "" {
		input = "{}"
	}
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(stateMachineArn), Input: aws.String(input)}
	if name != "" {
		in.Name = aws.String(name)
	}
	out, err := api.StartExecution(ctx, in)
	if err != nil {
		return "", fmt.Errorf("start %s: %w", stateMachineArn, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// Result is how a followed execution ended.
type Result struct {
	ExecutionArn string
	Status       types.ExecutionStatus
	Duration     time.Duration
}

// RunError is a run that did not succeed: it failed, timed out or was
// aborted in Step Functions, or outlasted the caller's budget (Budget is
// then non-zero and Stopped says whether it was stopped).
type RunError struct {
	ExecutionArn string
	Status       types.ExecutionStatus
	// State is the state the failure came from: where a task failed (even
	// when a Catch then led to a failure notification), or else the last
	// state entered. Running lists the states entered and not yet exited.
	State   string
	Running []string
	Err     string // the Step Functions error name, e.g. States.TaskFailed
	Cause   string
	Budget  time.Duration
	Stopped bool
}

func (e *RunError) Error() string {
	if e.Budget > 0 {
		what := "left running"
		if e.Stopped {
			what = "stopped"
		}
		return fmt.Sprintf("execution %s did not finish within %s (%s); still in %s", e.ExecutionArn, e.Budget, what, statesOrNone(e.Running))
	}
	msg := fmt.Sprintf("execution %s %s", e.ExecutionArn, e.Status)
	if e.State != "" {
		msg += fmt.Sprintf(" in state %q", e.State)
	}
	if e.Err != "" {
		msg += ": " + e.Err
	}
	if e.Cause != "" {
		msg += ": " + e.Cause
	}
	if e.Status == types.ExecutionStatusTimedOut && len(e.Running) > 0 {
		msg += "; still in " + statesOrNone(e.Running)
	}
	return msg
}

func statesOrNone(s []string) string {
	if len(s) == 0 {
		return "no state"
	}
	return fmt.Sprintf("%q", s)
}

// Follow polls the execution until it ends, printing a line to
// opts.Progress for every state entered or exited. It returns the result
// of a successful run, and a *RunError for one that failed, timed out, was
// aborted or outlasted opts.Timeout; it stops such a run unless
// opts.KeepRunning. Other errors are AWS or context errors.
func Follow(ctx context.Context, api SFNAPI, executionArn string, opts Options) (Result, error) {
	o := withDefaults(opts)
	h := &history{arn: executionArn, stateOf: map[int64]string{}, open: map[string]int{}}
	for {
		desc, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionArn)})
		if err != nil {
			return Result{}, fmt.Errorf("describe %s: %w", executionArn, err)
		}
		// The history is read after the status, so a finished execution's
		// history is complete.
		if err := h.read(ctx, api, o.Progress); err != nil {
			return Result{}, err
		}
		start := aws.ToTime(desc.StartDate)
		res := Result{ExecutionArn: executionArn, Status: desc.Status}
		if desc.Status != types.ExecutionStatusRunning && desc.Status != types.ExecutionStatusPendingRedrive {
			res.Duration = aws.ToTime(desc.StopDate).Sub(start)
			if desc.Status == types.ExecutionStatusSucceeded {
				return res, nil
			}
			return res, h.failure(desc)
		}
		elapsed := o.Now().Sub(start)
		if elapsed >= o.Timeout {
			res.Duration = elapsed
			runErr := &RunError{ExecutionArn: executionArn, Status: desc.Status, Running: h.running(), Budget: o.Timeout}
			if !o.KeepRunning && !slices.ContainsFunc(h.order, func(s string) bool { return slices.Contains(o.Committed, s) }) {
				if _, err := api.StopExecution(ctx, &sfn.StopExecutionInput{
					ExecutionArn: aws.String(executionArn), Error: aws.String(StopError),
					Cause: aws.String(fmt.Sprintf("databaker run: not finished within %s", o.Timeout)),
				}); err != nil {
					return res, fmt.Errorf("%w; and stopping it failed: %w", runErr, err)
				}
				runErr.Stopped = true
			}
			return res, runErr
		}
		if err := o.Sleep(ctx, min(o.Poll, o.Timeout-elapsed)); err != nil {
			return res, fmt.Errorf("follow %s: %w", executionArn, err)
		}
	}
}

func withDefaults(o Options) Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = clock.Sleep
	}
	return o
}

// history is what has been read of an execution's event history.
type history struct {
	arn     string
	last    int64            // the newest event ID read
	started time.Time        // ExecutionStarted's timestamp
	stateOf map[int64]string // event ID -> the state it happened in
	open    map[string]int   // states entered and not exited, with counts
	order   []string         // the order states were first entered in
	entered string           // the last state entered
	// failed is the newest task failure not followed by a success in the
	// same state: where a caught error came from.
	failed *failure
}

type failure struct {
	state, err, cause string
}

// read fetches the events after the last one read, page by page, and
// prints the state changes among them.
func (h *history) read(ctx context.Context, api SFNAPI, w io.Writer) error {
	var token *string
	for {
		out, err := api.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
			ExecutionArn: aws.String(h.arn), NextToken: token, IncludeExecutionData: aws.Bool(false),
		})
		if err != nil {
			return fmt.Errorf("history of %s: %w", h.arn, err)
		}
		for _, e := range out.Events {
			if e.Id <= h.last {
				continue
			}
			h.last = e.Id
			if err := h.event(e, w); err != nil {
				return err
			}
		}
		if out.NextToken == nil {
			return nil
		}
		token = out.NextToken
	}
}

func (h *history) event(e types.HistoryEvent, w io.Writer) error {
	state := h.stateOf[e.PreviousEventId]
	if e.Type == types.HistoryEventTypeExecutionStarted {
		h.started = aws.ToTime(e.Timestamp)
	}
	at := aws.ToTime(e.Timestamp).Sub(h.started).Seconds()
	if d := e.StateEnteredEventDetails; d != nil {
		state = aws.ToString(d.Name)
		h.stateOf[e.Id] = state
		h.entered = state
		if _, seen := h.open[state]; !seen {
			h.order = append(h.order, state)
		}
		h.open[state]++
		_, err := fmt.Fprintf(w, "%7.1fs  entered  %s\n", at, state)
		return err
	}
	h.stateOf[e.Id] = state
	if d := e.StateExitedEventDetails; d != nil {
		name := aws.ToString(d.Name)
		if h.open[name] > 0 {
			h.open[name]--
		}
		_, err := fmt.Fprintf(w, "%7.1fs  exited   %s\n", at, name)
		return err
	}
	if errName, cause, ok := taskFailure(e); ok {
		h.failed = &failure{state: state, err: errName, cause: cause}
	} else if taskSucceeded(e) && h.failed != nil && h.failed.state == state {
		h.failed = nil // a retry succeeded
	}
	return nil
}

// running lists the states entered and not exited, in the order they were
// first entered.
func (h *history) running() []string {
	var out []string
	for _, s := range h.order {
		if h.open[s] > 0 {
			out = append(out, s)
		}
	}
	return out
}

// failure describes a finished execution that did not succeed. The
// execution's own error and cause come from DescribeExecution; the state is
// where a task failed, or the last one entered (a Fail state, for one).
func (h *history) failure(desc *sfn.DescribeExecutionOutput) error {
	e := &RunError{
		ExecutionArn: h.arn, Status: desc.Status, State: h.entered, Running: h.running(),
		Err: aws.ToString(desc.Error), Cause: aws.ToString(desc.Cause),
	}
	if f := h.failed; f != nil {
		e.State = f.state
		if e.Err == "" || e.Err == f.err {
			e.Err, e.Cause = f.err, f.cause
		} else {
			// A failure path re-raised its own error: keep both.
			e.Cause = joinNonEmpty(e.Cause, fmt.Sprintf("from %s: %s", f.err, f.cause))
		}
	}
	return e
}

func joinNonEmpty(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// taskFailure returns the error and cause of an event that says a task
// (a Lambda or service integration) failed.
func taskFailure(e types.HistoryEvent) (string, string, bool) {
	switch {
	case e.TaskFailedEventDetails != nil:
		d := e.TaskFailedEventDetails
		return aws.ToString(d.Error), aws.ToString(d.Cause), true
	case e.TaskTimedOutEventDetails != nil:
		d := e.TaskTimedOutEventDetails
		return aws.ToString(d.Error), aws.ToString(d.Cause), true
	case e.TaskStartFailedEventDetails != nil:
		d := e.TaskStartFailedEventDetails
		return aws.ToString(d.Error), aws.ToString(d.Cause), true
	case e.TaskSubmitFailedEventDetails != nil:
		d := e.TaskSubmitFailedEventDetails
		return aws.ToString(d.Error), aws.ToString(d.Cause), true
	case e.LambdaFunctionFailedEventDetails != nil:
		d := e.LambdaFunctionFailedEventDetails
		return aws.ToString(d.Error), aws.ToString(d.Cause), true
	case e.LambdaFunctionTimedOutEventDetails != nil:
		d := e.LambdaFunctionTimedOutEventDetails
		return aws.ToString(d.Error), aws.ToString(d.Cause), true
	case e.LambdaFunctionStartFailedEventDetails != nil:
		d := e.LambdaFunctionStartFailedEventDetails
		return aws.ToString(d.Error), aws.ToString(d.Cause), true
	case e.EvaluationFailedEventDetails != nil:
		d := e.EvaluationFailedEventDetails
		return aws.ToString(d.Error), aws.ToString(d.Cause), true
	case e.MapRunFailedEventDetails != nil:
		d := e.MapRunFailedEventDetails
		return aws.ToString(d.Error), aws.ToString(d.Cause), true
	}
	return "", "", false
}

func taskSucceeded(e types.HistoryEvent) bool {
	return e.TaskSucceededEventDetails != nil || e.LambdaFunctionSucceededEventDetails != nil ||
		e.Type == types.HistoryEventTypeTaskSucceeded || e.Type == types.HistoryEventTypeLambdaFunctionSucceeded
}

// IsRunError reports whether err says the run itself did not succeed, as
// opposed to an AWS or context error while following it.
func IsRunError(err error) bool {
	var r *RunError
	return errors.As(err, &r)
}
