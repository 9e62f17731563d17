// Package sfnguard keeps a state machine a singleton without losing a
// request: an execution proceeds when no other runs, waits while only older
// ones run (so changes that arrived during a run get a run of their own),
// and stops when a newer one exists, which will do its work. At most one
// execution runs and one waits.
package sfnguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
// context object ($$.StateMachine.Id and $$.Execution.Id).
type Input struct {
	StateMachineArn     string `json:"stateMachineArn"`
	CurrentExecutionArn string `json:"currentExecutionArn"`
}

// Output tells the execution whether to go on, wait and ask again, or stop.
type Output struct {
	Proceed bool   `json:"proceed"`
	Wait    bool   `json:"wait"`
	Message string `json:"message"`
}

// Handler is the Lambda handler.
type Handler struct {
	Client API
	Logger *slog.Logger
}

// New returns a handler; a nil logger discards logs.
func New(client API, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{Client: client, Logger: logger}
}

// Handle lists every RUNNING execution of the state machine, following all
// pages, and compares their start times with the current execution's.
func (h *Handler) Handle(ctx context.Context, in Input) (Output, error) {
	if in.StateMachineArn == "" || in.CurrentExecutionArn == "" {
		return Output{}, errors.New("input: stateMachineArn and currentExecutionArn are both required")
	}
	var others []types.ExecutionListItem
	// ListExecutions is eventually consistent: an execution that just
	// started may be missing, so it counts as starting now.
	current := time.Now()
	p := sfn.NewListExecutionsPaginator(h.Client, &sfn.ListExecutionsInput{
		StateMachineArn: aws.String(in.StateMachineArn),
		StatusFilter:    types.ExecutionStatusRunning,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Output{}, fmt.Errorf("list running executions of %s: %w", in.StateMachineArn, err)
		}
		for _, e := range page.Executions {
			if aws.ToString(e.ExecutionArn) == in.CurrentExecutionArn {
				if e.StartDate != nil {
					current = *e.StartDate
				}
				continue
			}
			others = append(others, e)
		}
	}
	if len(others) == 0 {
		msg := fmt.Sprintf("no other execution of %s is running", in.StateMachineArn)
		h.Logger.InfoContext(ctx, "proceed", "stateMachineArn", in.StateMachineArn, "currentExecutionArn", in.CurrentExecutionArn)
		return Output{Proceed: true, Message: msg}, nil
	}
	var newer, older []string
	for _, e := range others {
		name := aws.ToString(e.ExecutionArn)
		started := current
		if e.StartDate != nil {
			started = *e.StartDate
			name += " (started " + started.UTC().Format(time.RFC3339) + ")"
		}
		// Ties go by ARN, so two executions never both wait for each other.
		if started.After(current) || (started.Equal(current) && aws.ToString(e.ExecutionArn) > in.CurrentExecutionArn) {
			newer = append(newer, name)
		} else {
			older = append(older, name)
		}
	}
	if len(newer) > 0 {
		msg := fmt.Sprintf("a newer execution of %s will run instead: %s", in.StateMachineArn, strings.Join(newer, ", "))
		h.Logger.InfoContext(ctx, "stop: a newer execution exists", "stateMachineArn", in.StateMachineArn, "currentExecutionArn", in.CurrentExecutionArn, "newer", newer)
		return Output{Message: msg}, nil
	}
	msg := fmt.Sprintf("%s is already running in %d older execution(s): %s; waiting", in.StateMachineArn, len(older), strings.Join(older, ", "))
	h.Logger.InfoContext(ctx, "wait: an older execution is running", "stateMachineArn", in.StateMachineArn, "currentExecutionArn", in.CurrentExecutionArn, "older", older)
	return Output{Wait: true, Message: msg}, nil
}
