// Package sfnguard decides whether a state machine execution may start its
// work. A layer's machine runs one execution at a time, keeps at most one
// follow-up queued behind it, and does not overlap with the machines it
// conflicts with (one reads what the other writes).
//
// All running executions of the machine and of its conflicting machines
// are put in one total order: by start time, then by execution ARN. An
// execution
//   - stops when two or more older executions of its own machine are
//     running: the second of them, still waiting, will do the work and
//     will see whatever this one was started for;
//   - waits when exactly one older execution of its own machine is running:
//     it is the follow-up, and runs once that one has ended, so a change
//     that arrives mid-run is not lost;
//   - otherwise waits while an older execution of a conflicting machine is
//     running;
//   - otherwise proceeds.
//
// This cannot deadlock: an execution only ever waits for strictly older
// ones, so the "waits for" relation follows the order and has no cycle. The
// oldest running execution never waits (nothing is older), so it proceeds
// and ends, at the latest at its machine's timeout; then the next oldest is
// the oldest, and so on. Two executions started together both see each
// other, and because the order is total exactly one of them is the younger,
// which waits for the other.
package sfnguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// API is the part of the Step Functions client that the guard uses.
type API interface {
	ListExecutions(ctx context.Context, params *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
}

var _ API = (*sfn.Client)(nil)

// Input is the Lambda payload, usually built from the state machine's
// context object ($$.StateMachine.Id, $$.Execution.Id and
// $$.Execution.StartTime) and deploy-time values.
type Input struct {
	StateMachineArn     string `json:"stateMachineArn"`
	CurrentExecutionArn string `json:"currentExecutionArn"`
	// CurrentExecutionStartTime (RFC 3339) is used when ListExecutions does
	// not list the current execution yet (it is eventually consistent).
	// Otherwise the listed start date is used, the same source as the
	// other executions', so every execution compares the same values.
	CurrentExecutionStartTime string `json:"currentExecutionStartTime,omitempty"`
	// ConflictingStateMachineArns are the machines whose runs must not
	// overlap with this one's.
	ConflictingStateMachineArns []string `json:"conflictingStateMachineArns,omitempty"`
	// MaxWaitSeconds bounds how long after its start an execution may still
	// be told to wait, for its own machine's older run or a conflicting
	// one; past it the guard fails with a *WaitTimeoutError, so
	// the run is notified rather than left too little time to finish. 0
	// means no bound (the machine's own timeout still applies).
	MaxWaitSeconds int `json:"maxWaitSeconds,omitempty"`
}

// Decisions.
const (
	Proceed = "proceed" // no older run of this or a conflicting machine
	Wait    = "wait"    // one older run of this machine, or an older run of a conflicting one, is running
	Stop    = "stop"    // two or more older runs of this machine are running: the younger of them follows up
)

// Output tells the execution what to do.
type Output struct {
	Decision string `json:"decision"`
	Message  string `json:"message"`
}

// WaitTimeoutError reports that the execution waited MaxWaitSeconds for
// an older run and must give up. Its type name is the Lambda errorType.
type WaitTimeoutError struct {
	Execution string
	Waited    time.Duration
	Blockers  string // the older executions it waited for
}

func (e *WaitTimeoutError) Error() string {
	return fmt.Sprintf("%s gave up after waiting %s for older execution(s) to end: %s",
		e.Execution, e.Waited.Round(time.Second), e.Blockers)
}

// Handler is the Lambda handler.
type Handler struct {
	Client API
	Logger *slog.Logger
	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// New returns a handler; a nil logger discards logs.
func New(client API, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{Client: client, Logger: logger, Now: time.Now}
}

// run is one running execution in the guard's order.
type run struct {
	arn   string
	start time.Time
}

// before is the total order: start time, then ARN.
func (r run) before(o run) bool {
	if !r.start.Equal(o.start) {
		return r.start.Before(o.start)
	}
	return r.arn < o.arn
}

func (r run) String() string {
	return r.arn + " (started " + r.start.UTC().Format(time.RFC3339Nano) + ")"
}

// Handle lists every RUNNING execution of the state machine and of each
// conflicting one, following all pages, and decides.
func (h *Handler) Handle(ctx context.Context, in Input) (Output, error) {
	if in.StateMachineArn == "" || in.CurrentExecutionArn == "" {
		return Output{}, errors.New("input: stateMachineArn and currentExecutionArn are both required")
	}
	own, err := h.running(ctx, in.StateMachineArn)
	if err != nil {
		return Output{}, err
	}
	self := run{arn: in.CurrentExecutionArn}
	if i := slices.IndexFunc(own, func(r run) bool { return r.arn == self.arn }); i >= 0 {
		self = own[i]
	} else if in.CurrentExecutionStartTime != "" {
		if self.start, err = time.Parse(time.RFC3339Nano, in.CurrentExecutionStartTime); err != nil {
			return Output{}, fmt.Errorf("input: currentExecutionStartTime: %w", err)
		}
	} else {
		return Output{}, fmt.Errorf("%s is not listed as running and the input has no currentExecutionStartTime, so it cannot be ordered", self.arn)
	}
	log := h.Logger.With("stateMachineArn", in.StateMachineArn, "currentExecutionArn", self.arn)

	switch older := olderThan(self, own); {
	case len(older) >= 2:
		msg := fmt.Sprintf("%s is already running in %s, and %s will run after it; %s stops",
			in.StateMachineArn, older[0], join(older[1:]), self)
		log.InfoContext(ctx, "stop: a follow-up execution of this state machine is already waiting", "older", join(older))
		return Output{Decision: Stop, Message: msg}, nil
	case len(older) == 1:
		return h.wait(ctx, log, in, self, older, "the older execution of its own state machine")
	}
	var blockers []run
	for _, sm := range in.ConflictingStateMachineArns {
		if sm == "" || sm == in.StateMachineArn {
			return Output{}, fmt.Errorf("input: conflictingStateMachineArns holds %q, want other state machines' ARNs", sm)
		}
		runs, err := h.running(ctx, sm)
		if err != nil {
			return Output{}, err
		}
		blockers = append(blockers, olderThan(self, runs)...)
	}
	if len(blockers) > 0 {
		return h.wait(ctx, log, in, self, blockers, "older conflicting execution(s)")
	}
	log.InfoContext(ctx, "proceed")
	return Output{Decision: Proceed, Message: fmt.Sprintf("%s is the oldest running execution of %s and its conflicting state machines", self, in.StateMachineArn)}, nil
}

// wait tells self to wait for blockers (what they are), or fails it with a
// *WaitTimeoutError once it has waited in.MaxWaitSeconds.
func (h *Handler) wait(ctx context.Context, log *slog.Logger, in Input, self run, blockers []run, what string) (Output, error) {
	waited := h.Now().Sub(self.start)
	if in.MaxWaitSeconds > 0 && waited >= time.Duration(in.MaxWaitSeconds)*time.Second {
		return Output{}, &WaitTimeoutError{Execution: self.arn, Waited: waited, Blockers: join(blockers)}
	}
	log.InfoContext(ctx, "wait", "for", what, "older", join(blockers))
	return Output{Decision: Wait, Message: fmt.Sprintf("%s waits for %s %s", self, what, join(blockers))}, nil
}

// running lists the RUNNING executions of a state machine, all pages.
func (h *Handler) running(ctx context.Context, stateMachineArn string) ([]run, error) {
	var out []run
	p := sfn.NewListExecutionsPaginator(h.Client, &sfn.ListExecutionsInput{
		StateMachineArn: aws.String(stateMachineArn),
		StatusFilter:    types.ExecutionStatusRunning,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list running executions of %s: %w", stateMachineArn, err)
		}
		for _, e := range page.Executions {
			if e.StartDate == nil {
				return nil, fmt.Errorf("list running executions of %s: %s has no start date", stateMachineArn, aws.ToString(e.ExecutionArn))
			}
			out = append(out, run{arn: aws.ToString(e.ExecutionArn), start: *e.StartDate})
		}
	}
	return out, nil
}

// olderThan returns the runs before self in the order, oldest first.
func olderThan(self run, runs []run) []run {
	var out []run
	for _, r := range runs {
		if r.arn != self.arn && r.before(self) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b run) int {
		if a.before(b) {
			return -1
		}
		return 1
	})
	return out
}

func join(runs []run) string {
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = r.String()
	}
	return strings.Join(names, ", ")
}
