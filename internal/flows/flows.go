// Package flows holds what every layer's Step Functions state machine is
// built from; each layer's package (internal/layers/...) builds its own
// machine with it. ARNs are plain strings, so the Pulumi component can
// render a machine inside ApplyT and tests can render it directly.
//
// Every machine shares one frame: the input is wrapped in an object (an
// EventBridge Pipe delivers an array), then a guard (internal/sfnguard)
// orders the running executions of this machine and of the machines it
// conflicts with by start time and ARN. The second oldest execution of the
// same machine is its follow-up: it waits and asks again until the oldest
// has ended, so a change that arrives mid-run is rebuilt right after it. Any
// younger one stops at once in the AlreadyRunning Succeed state, which is
// not a failure and does not notify: the waiting follow-up covers it. While
// an older execution of a conflicting machine runs, the execution waits and
// asks again too. The layer's body runs
// inside a one-branch Parallel whose Catch stops the Athena queries the run
// started, publishes the failure to the SNS topic and ends in a Fail state.
package flows

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/sfnguard"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// State names the tests and the console refer to.
const (
	StateStart          = "Wrap input"
	StateGuard          = "Check singleton"
	StateGuardChoice    = "Already running?"
	StateGuardWait      = "Wait for older run"
	StateAlreadyRunning = "AlreadyRunning"
	StateRun            = "Run"
	StateSucceeded      = "Succeeded"
	StateStopQueries    = "Stop this run's queries"
	StateNotifyFailure  = "Notify failure"
	StateFailed         = "Failed"
)

// Defaults, in one place.
const (
	DefaultPollSeconds    = 5
	DefaultTimeoutSeconds = 3600
	DefaultMaxConcurrency = 4
	// DefaultGuardWaitSeconds is the pause before asking the guard again
	// while an older run of this machine or of a conflicting one is
	// running.
	DefaultGuardWaitSeconds = 30
)

// DefaultLetters are the postcode first letters A–Z.
func DefaultLetters() []string { return tables.Letters() }

// Or returns v, or def when v is the zero value.
func Or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// catchAll sends every error to the failure notification, keeping the
// state's input and adding the error as $.error.
func catchAll() []asl.Catcher {
	return []asl.Catcher{{ErrorEquals: []string{"States.ALL"}, Next: StateNotifyFailure, ResultPath: "$.error"}}
}

// Guard configures the guard of a layer's machine.
type Guard struct {
	// ConflictingStateMachineArns are the machines whose runs must not
	// overlap with this machine's: one reads what the other writes.
	ConflictingStateMachineArns []string
	// WaitSeconds is the pause between guard calls while an older run of
	// this machine or of a conflicting one is running (default 30).
	WaitSeconds int
}

// Frame is what every layer's machine is rendered with besides its own
// steps: the functions' ARNs, the failure topic, the guard's conflicts and
// the timing.
type Frame struct {
	Lambdas         layer.Lambdas
	FailureTopicArn string
	Guard           Guard
	// PollSeconds is the wait between Athena status calls (default 5).
	PollSeconds int
	// TimeoutSeconds bounds the whole execution (default 3600).
	TimeoutSeconds int
}

// FrameFor is the frame of a machine rendered for the stack.
func FrameFor(rt layer.Runtime) Frame {
	return Frame{
		Lambdas: rt.Lambdas, FailureTopicArn: rt.FailureTopicArn,
		Guard: Guard{ConflictingStateMachineArns: rt.ConflictingStateMachineArns},
	}
}

// Query is an Athena query step of the machine, polled until it succeeds.
func (f Frame) Query(name string, req map[string]any, resultPath, next string) AthenaQuery {
	return AthenaQuery{Name: name, Lambda: f.Lambdas[layer.Query], Request: req, ResultPath: resultPath, PollSeconds: f.PollSeconds, Next: next}
}

// Machine wraps the layer's body in the guard and failure handling.
func (f Frame) Machine(comment string, body asl.Branch) asl.StateMachine {
	return guarded(comment, f.Lambdas, f.FailureTopicArn, Or(f.TimeoutSeconds, DefaultTimeoutSeconds), f.Guard, body)
}

// guarded wraps a layer's body in the guard and failure handling.
func guarded(comment string, l layer.Lambdas, topicArn string, timeout int, g Guard, body asl.Branch) asl.StateMachine {
	conflicts := g.ConflictingStateMachineArns
	if conflicts == nil {
		conflicts = []string{}
	}
	guard := asl.LambdaTask(l[layer.Guard], map[string]any{
		"stateMachineArn.$":           "$$.StateMachine.Id",
		"currentExecutionArn.$":       "$$.Execution.Id",
		"currentExecutionStartTime.$": "$$.Execution.StartTime",
		"conflictingStateMachineArns": conflicts,
		// A run that waited longer than half its time would be cut off
		// by the timeout mid-way and without a notification; the guard
		// fails it (notified) instead.
		"maxWaitSeconds": timeout / 2,
	})
	guard.Comment = "Wait while one older execution of this state machine, or an older one of a conflicting state machine, is running; stop if two older executions of this one are (the younger of them follows up)."
	guard.ResultPath = "$.guard"
	guard.Next = StateGuardChoice
	guard.Catch = catchAll()

	// The queries a failed run started would otherwise run on and could
	// write into a prefix the next run has just emptied.
	stop := asl.LambdaTask(l[layer.Query], map[string]any{
		"stop":           true,
		"executionArn.$": "$$.Execution.Id",
	})
	stop.Comment = "Stop the Athena queries this execution started that are still queued or running."
	stop.ResultPath = "$.stoppedQueries"
	stop.Retry = append(stop.Retry, athenaThrottleRetry())
	// Stopping must never keep the failure from being notified.
	stop.Catch = []asl.Catcher{{ErrorEquals: []string{"States.ALL"}, Next: StateNotifyFailure, ResultPath: "$.stopQueriesError"}}
	stop.Next = StateNotifyFailure

	notify := asl.Task{
		Comment:  "Tell the failure topic's subscribers which execution failed and why.",
		Resource: asl.SNSPublishResource,
		Parameters: map[string]any{
			"TopicArn":  topicArn,
			"Subject":   "dc-data-baker run failed",
			"Message.$": "States.Format('Execution {} failed. Error: {}. Cause: {}', $$.Execution.Id, $.error.Error, $.error.Cause)",
		},
		ResultPath: "$.notification",
		Retry: []asl.Retrier{{
			ErrorEquals:     []string{"States.TaskFailed"},
			IntervalSeconds: 2,
			MaxAttempts:     3,
			BackoffRate:     2,
			JitterStrategy:  "FULL",
		}},
		// Even if the notification cannot be sent, the execution must fail.
		Catch: []asl.Catcher{{ErrorEquals: []string{"States.ALL"}, Next: StateFailed, ResultPath: "$.notificationError"}},
		Next:  StateFailed,
	}

	return asl.StateMachine{
		Comment:        comment,
		StartAt:        StateStart,
		TimeoutSeconds: timeout,
		States: map[string]asl.State{
			StateStart: asl.Pass{
				Comment:    "A Pipe starts the machine with an array of messages; later states add fields, so the input must be an object.",
				Parameters: map[string]any{"trigger.$": "$"},
				Next:       StateGuard,
			},
			StateGuard: guard,
			StateGuardChoice: asl.Choice{
				Choices: []asl.ChoiceRule{
					{Condition: asl.StringEquals("$.guard.Payload.decision", sfnguard.Proceed), Next: StateRun},
					{Condition: asl.StringEquals("$.guard.Payload.decision", sfnguard.Wait), Next: StateGuardWait},
				},
				Default: StateAlreadyRunning,
			},
			StateGuardWait: asl.Wait{
				Comment: "An older run of this state machine or of a conflicting one is running; ask again after a pause.",
				Seconds: Or(g.WaitSeconds, DefaultGuardWaitSeconds),
				Next:    StateGuard,
			},
			StateAlreadyRunning: asl.Succeed{Comment: "An older execution is running and another waits to follow it; this one is not needed."},
			StateRun: asl.Parallel{
				Comment:    "The layer's steps; any failure is caught once, here.",
				Branches:   []asl.Branch{body},
				ResultPath: asl.DiscardResult,
				Catch:      []asl.Catcher{{ErrorEquals: []string{"States.ALL"}, Next: StateStopQueries, ResultPath: "$.error"}},
				Next:       StateSucceeded,
			},
			StateSucceeded:     asl.Succeed{},
			StateStopQueries:   stop,
			StateNotifyFailure: notify,
			StateFailed:        asl.Fail{ErrorPath: "$.error.Error", CausePath: "$.error.Cause"},
		},
	}
}

// LambdaStep is a Lambda task whose response goes to resultPath.
func LambdaStep(fnArn string, payload map[string]any, resultPath, next string) asl.Task {
	t := asl.LambdaTask(fnArn, payload)
	t.ResultPath = resultPath
	t.Next = next
	t.End = next == ""
	return t
}

// Merge adds every state of srcs to dst.
func Merge(dst map[string]asl.State, srcs ...map[string]asl.State) map[string]asl.State {
	for _, src := range srcs {
		for k, v := range src {
			dst[k] = v
		}
	}
	return dst
}

// Qualified returns database.table, or table when database is empty.
func Qualified(database, table string) string {
	if database == "" {
		return table
	}
	return database + "." + table
}
