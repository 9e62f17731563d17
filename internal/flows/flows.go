// Package flows holds what every layer's Step Functions state machine is
// built from; each layer's package (internal/layers/...) builds its own
// machine with it. ARNs are plain strings, so the Pulumi component can
// render a machine inside ApplyT and tests can render it directly.
//
// Every machine shares one frame: the input is wrapped in an object (an
// EventBridge Pipe delivers an array), then a singleton guard: a second
// execution stops at once in the AlreadyRunning Succeed state, which is not
// a failure and does not notify. The layer's body runs inside a one-branch
// Parallel whose Catch publishes any failure to the SNS topic and ends in a
// Fail state.
package flows

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// State names the tests and the console refer to.
const (
	StateStart          = "Wrap input"
	StateGuard          = "Check singleton"
	StateGuardChoice    = "Already running?"
	StateAlreadyRunning = "AlreadyRunning"
	StateRun            = "Run"
	StateSucceeded      = "Succeeded"
	StateNotifyFailure  = "Notify failure"
	StateFailed         = "Failed"
)

// Defaults, in one place.
const (
	DefaultPollSeconds    = 5
	DefaultTimeoutSeconds = 3600
	DefaultMaxConcurrency = 4
)

// DefaultLetters are the postcode first letters A–Z.
func DefaultLetters() []string {
	out := make([]string, 0, 26)
	for c := 'A'; c <= 'Z'; c++ {
		out = append(out, string(c))
	}
	return out
}

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

// Guarded wraps a layer's body in the singleton guard and failure handling.
func Guarded(comment string, l layer.Lambdas, topicArn string, timeout int, body asl.Branch) asl.StateMachine {
	guard := asl.LambdaTask(l[layer.Guard], map[string]any{
		"stateMachineArn.$":     "$$.StateMachine.Id",
		"currentExecutionArn.$": "$$.Execution.Id",
	})
	guard.Comment = "Stop at once if another execution of this state machine is running."
	guard.ResultPath = "$.guard"
	guard.Next = StateGuardChoice
	guard.Catch = catchAll()

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
					{Condition: asl.BooleanEquals("$.guard.Payload.proceed", true), Next: StateRun},
				},
				Default: StateAlreadyRunning,
			},
			StateAlreadyRunning: asl.Succeed{Comment: "Another execution is running; this one is not needed."},
			StateRun: asl.Parallel{
				Comment:    "The layer's steps; any failure is caught once, here.",
				Branches:   []asl.Branch{body},
				ResultPath: asl.DiscardResult,
				Catch:      catchAll(),
				Next:       StateSucceeded,
			},
			StateSucceeded:     asl.Succeed{},
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
