// Package flows builds the layers' Step Functions state machines from
// deploy-time values. ARNs are plain strings, so the Pulumi components can
// call these inside ApplyT and tests can call them directly.
//
// Both machines share one frame: the input is wrapped in an object (an
// EventBridge Pipe delivers an array), then a singleton guard: a second
// execution stops at once in the AlreadyRunning Succeed state, which is not
// a failure and does not notify. The layer's body runs inside a one-branch
// Parallel whose Catch publishes any failure to the SNS topic and ends in a
// Fail state.
package flows

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
)

// Lambdas holds the shared functions' ARNs.
type Lambdas struct {
	Guard         string // check_step_function_running
	TableLocation string // get_glue_table_location
	EmptyPrefix   string // empty_s3_bucket_by_prefix
	Query         string // run_athena_query
	ExportBallots string // export_current_ballots
	OutcodeSplit  string // first_letter_to_outcode_parquet
	DeleteStale   string // delete_stale_outcodes
}

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

func orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func orStr(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// catchAll sends every error to the failure notification, keeping the
// state's input and adding the error as $.error.
func catchAll() []asl.Catcher {
	return []asl.Catcher{{ErrorEquals: []string{"States.ALL"}, Next: StateNotifyFailure, ResultPath: "$.error"}}
}

// guarded wraps a layer's body in the singleton guard and failure handling.
func guarded(comment string, l Lambdas, topicArn string, timeout int, body asl.Branch) asl.StateMachine {
	guard := asl.LambdaTask(l.Guard, map[string]any{
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

// lambdaStep is a Lambda task whose response goes to resultPath.
func lambdaStep(fnArn string, payload map[string]any, resultPath, next string) asl.Task {
	t := asl.LambdaTask(fnArn, payload)
	t.ResultPath = resultPath
	t.Next = next
	t.End = next == ""
	return t
}

func merge(dst map[string]asl.State, srcs ...map[string]asl.State) map[string]asl.State {
	for _, src := range srcs {
		for k, v := range src {
			dst[k] = v
		}
	}
	return dst
}
