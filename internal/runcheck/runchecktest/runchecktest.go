// Package runchecktest is a Step Functions fake for one scripted execution,
// served over the real JSON 1.0 protocol by awsfake: StartExecution,
// DescribeExecution, GetExecutionHistory (paged) and StopExecution. The
// history grows by one step each time the execution is described, as a
// real one grows between polls.
package runchecktest

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
)

// Epoch is when scripted executions start.
var Epoch = time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)

// Event is one history event: Type is a Step Functions HistoryEventType
// such as "TaskStateEntered" or "LambdaFunctionFailed"; State names the
// state of a *StateEntered/*StateExited event; Error and Cause fill a
// failure's details. At is its time after Epoch.
type Event struct {
	Type, State, Error, Cause string
	At                        time.Duration
}

// Fake serves one execution of StateMachineArn, revealing Steps[i] at the
// i-th DescribeExecution (the last step stays once reached).
type Fake struct {
	*awsfake.Server
	StateMachineArn string

	mu      sync.Mutex
	steps   [][]Event
	shown   int
	events  []map[string]any
	status  string
	errName string
	cause   string
	stop    *time.Time
	lastAt  time.Duration
	// Input is what StartExecution was given; Stopped holds StopExecution's
	// error and cause.
	Input   string
	Stopped []string
}

// ExecutionArn is the ARN of the scripted execution.
func (f *Fake) ExecutionArn() string {
	return strings.Replace(f.StateMachineArn, ":stateMachine:", ":execution:", 1) + ":run-1"
}

// New starts a fake; the first step should begin with ExecutionStarted.
// pageSize is GetExecutionHistory's page size. Close it when done.
func New(stateMachineArn string, pageSize int, steps ...[]Event) *Fake {
	f := &Fake{StateMachineArn: stateMachineArn, steps: steps, status: "RUNNING"}
	f.Server = awsfake.New(awsfake.JSON10, awsfake.Routes{
		"AWSStepFunctions.StartExecution": func(body []byte) (any, error) {
			in, err := awsfake.Decode[struct {
				StateMachineArn string `json:"stateMachineArn"`
				Input           string `json:"input"`
			}](body)
			if err != nil {
				return nil, err
			}
			if in.StateMachineArn != f.StateMachineArn {
				return nil, &awsfake.APIError{Code: "StateMachineDoesNotExist", Message: "State Machine Does Not Exist: '" + in.StateMachineArn + "'"}
			}
			f.mu.Lock()
			f.Input = in.Input
			f.mu.Unlock()
			return map[string]any{"executionArn": f.ExecutionArn(), "startDate": epoch(0)}, nil
		},
		"AWSStepFunctions.DescribeExecution": f.withExecution(func(map[string]any) (any, error) {
			if f.shown < len(f.steps) {
				for _, e := range f.steps[f.shown] {
					f.append(e)
				}
				f.shown++
			}
			out := map[string]any{
				"executionArn": f.ExecutionArn(), "stateMachineArn": f.StateMachineArn,
				"status": f.status, "startDate": epoch(0),
			}
			if f.stop != nil {
				out["stopDate"] = float64(f.stop.UnixMilli()) / 1000
			}
			if f.errName != "" {
				out["error"], out["cause"] = f.errName, f.cause
			}
			return out, nil
		}),
		"AWSStepFunctions.GetExecutionHistory": f.withExecution(func(in map[string]any) (any, error) {
			token, _ := in["nextToken"].(string)
			page, next, err := awsfake.Page(f.events, token, pageSize)
			if err != nil {
				return nil, err
			}
			out := map[string]any{"events": page}
			if next != "" {
				out["nextToken"] = next
			}
			return out, nil
		}),
		"AWSStepFunctions.StopExecution": f.withExecution(func(in map[string]any) (any, error) {
			if f.status != "RUNNING" {
				return nil, &awsfake.APIError{Code: "ExecutionNotRunning", Message: "execution is " + f.status}
			}
			e, _ := in["error"].(string)
			c, _ := in["cause"].(string)
			f.Stopped = []string{e, c}
			f.append(Event{Type: "ExecutionAborted", Error: e, Cause: c, At: f.lastAt})
			return map[string]any{"stopDate": epoch(0)}, nil
		}),
	})
	return f
}

// withExecution decodes a request naming executionArn and runs fn with
// the fake locked; an unknown ARN is ExecutionDoesNotExist.
func (f *Fake) withExecution(fn func(map[string]any) (any, error)) awsfake.HandlerFunc {
	return func(body []byte) (any, error) {
		in, err := awsfake.Decode[map[string]any](body)
		if err != nil {
			return nil, err
		}
		if arn, _ := in["executionArn"].(string); arn != f.ExecutionArn() {
			return nil, &awsfake.APIError{Code: "ExecutionDoesNotExist", Message: "Execution Does Not Exist: '" + arn + "'"}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		return fn(in)
	}
}

func epoch(d time.Duration) float64 { return float64(Epoch.Add(d).UnixMilli()) / 1000 }

// append adds e to the history as the wire format has it, and ends the
// execution on an Execution* terminal event. Each event follows the one
// before it (previousEventId), as a run without parallel branches does.
func (f *Fake) append(e Event) {
	id := len(f.events) + 1
	ev := map[string]any{"id": id, "previousEventId": id - 1, "timestamp": epoch(e.At), "type": e.Type}
	switch {
	case strings.HasSuffix(e.Type, "StateEntered"):
		ev["stateEnteredEventDetails"] = map[string]any{"name": e.State}
	case strings.HasSuffix(e.Type, "StateExited"):
		ev["stateExitedEventDetails"] = map[string]any{"name": e.State}
	case e.Error != "" || e.Cause != "":
		// e.g. TaskFailed -> taskFailedEventDetails
		ev[strings.ToLower(e.Type[:1])+e.Type[1:]+"EventDetails"] = map[string]any{"error": e.Error, "cause": e.Cause}
	}
	f.events = append(f.events, ev)
	f.lastAt = e.At
	status := map[string]string{
		"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED",
		"ExecutionTimedOut": "TIMED_OUT", "ExecutionAborted": "ABORTED",
	}[e.Type]
	if status != "" {
		f.status, f.errName, f.cause = status, e.Error, e.Cause
		t := Epoch.Add(e.At)
		f.stop = &t
	}
}

// Calls counts the requests made of each operation, e.g. "StopExecution".
func (f *Fake) Calls(op string) int { return len(f.Server.Calls("AWSStepFunctions." + op)) }

// String describes the fake for test failures.
func (f *Fake) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprintf("execution %s: %s after %d of %d steps", f.ExecutionArn(), f.status, f.shown, len(f.steps))
}
