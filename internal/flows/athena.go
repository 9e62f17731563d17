package flows

import (
	"maps"

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
)

// AthenaQuery is a query run through run_athena_query without blocking: a
// Lambda starts it, then a Wait → status → Choice loop polls until it
// SUCCEEDS, because an Athena query can outlast a Lambda's time limit. The
// status call fails (and so the step fails) when the query is FAILED or
// CANCELLED; a gate query uses that to stop the run.
type AthenaQuery struct {
	// Name is the start state's name and the prefix of the loop's states;
	// it must be unique in the state machine.
	Name string
	// Lambda is run_athena_query's ARN.
	Lambda string
	// Request is the start payload: QueryName (+ context) or QueryString.
	// "blocking": false and the execution's ARN are added.
	Request map[string]any
	// ResultPath is where {"Payload": {queryExecutionId, status, ...}} goes.
	ResultPath string
	// PollSeconds is the wait between status calls.
	PollSeconds int
	// Next is the state after success; empty ends the scope.
	Next string
}

// State names of the polling loop.
func (q AthenaQuery) waitName() string   { return q.Name + " - wait" }
func (q AthenaQuery) statusName() string { return q.Name + " - status" }
func (q AthenaQuery) choiceName() string { return q.Name + " - done?" }
func (q AthenaQuery) strayName() string  { return q.Name + " - unexpected status" }

// States returns the loop's states; the entry state is q.Name.
func (q AthenaQuery) States() map[string]asl.State {
	req := maps.Clone(q.Request)
	if req == nil {
		req = map[string]any{}
	}
	req["blocking"] = false
	// The query is tagged with the execution, so a failed run can stop it.
	req["executionArn.$"] = "$$.Execution.Id"
	id := q.ResultPath + ".Payload.queryExecutionId"
	status := q.ResultPath + ".Payload.status"

	var done asl.State
	if q.Next == "" {
		done = asl.Succeed{}
	}
	doneName := q.Next
	if doneName == "" {
		doneName = q.Name + " - succeeded"
	}
	start := LambdaStep(q.Lambda, req, q.ResultPath, q.waitName())
	start.Retry = append(start.Retry, athenaThrottleRetry(), namedQueryRetry())
	check := LambdaStep(q.Lambda, map[string]any{"queryExecutionId.$": id}, q.ResultPath, q.choiceName())
	check.Retry = append(check.Retry, athenaThrottleRetry())
	states := map[string]asl.State{
		q.Name:         start,
		q.waitName():   asl.Wait{Seconds: Or(q.PollSeconds, DefaultPollSeconds), Next: q.statusName()},
		q.statusName(): check,
		q.choiceName(): asl.Choice{
			Choices: []asl.ChoiceRule{
				{Condition: asl.StringEquals(status, "SUCCEEDED"), Next: doneName},
				{Condition: asl.Or(asl.StringEquals(status, "QUEUED"), asl.StringEquals(status, "RUNNING")), Next: q.waitName()},
			},
			Default: q.strayName(),
		},
		// The status Lambda already fails on FAILED/CANCELLED; anything else
		// unexpected must not loop for ever.
		q.strayName(): asl.Fail{Error: "Athena.UnexpectedQueryStatus", Cause: "run_athena_query returned a status other than QUEUED, RUNNING or SUCCEEDED for " + q.Name},
	}
	if done != nil {
		states[doneName] = done
	}
	return states
}

// Branch returns the loop as a scope on its own (for a Parallel branch or a
// Map's processor).
func (q AthenaQuery) Branch() asl.Branch {
	return asl.Branch{StartAt: q.Name, States: q.States()}
}

// AthenaThrottled is the error type run_athena_query reports when Athena's
// rate or concurrent-query quota refused a call.
const AthenaThrottled = "ThrottledError"

// NamedQueryUnavailable is the Lambda errorType of a named query that is
// missing or has a duplicate, as it is for a moment while a deploy replaces
// it (athenaquery.NamedQueryUnavailableError).
const NamedQueryUnavailable = "NamedQueryUnavailableError"

// athenaThrottleRetry waits out Athena's quotas: other queries finish within
// minutes, so back off longer than for Lambda's own errors.
func athenaThrottleRetry() asl.Retrier {
	return asl.Retrier{
		ErrorEquals:     []string{AthenaThrottled},
		IntervalSeconds: 10,
		MaxAttempts:     8,
		BackoffRate:     2,
		MaxDelaySeconds: 120,
		JitterStrategy:  "FULL",
	}
}

// namedQueryRetry outlasts a deploy that replaces a named query: it deletes
// the old query, then creates the new one, and meanwhile the name finds
// nothing. About eight minutes in all; after that the run fails with the
// Lambda's message, which says what to do.
func namedQueryRetry() asl.Retrier {
	return asl.Retrier{
		ErrorEquals:     []string{NamedQueryUnavailable},
		IntervalSeconds: 15,
		MaxAttempts:     6,
		BackoffRate:     2,
		MaxDelaySeconds: 120,
	}
}
