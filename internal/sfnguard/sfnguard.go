// Package sfnguard keeps a state machine a singleton: it tells an execution
// whether another execution of the same state machine is already running.
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

// Output tells the execution whether to go on.
type Output struct {
	Proceed bool   `json:"proceed"`
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
// pages, and says not to proceed when any other than the current one exists.
func (h *Handler) Handle(ctx context.Context, in Input) (Output, error) {
	if in.StateMachineArn == "" || in.CurrentExecutionArn == "" {
		return Output{}, errors.New("input: stateMachineArn and currentExecutionArn are both required")
	}
	var others []types.ExecutionListItem
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
			if aws.ToString(e.ExecutionArn) != in.CurrentExecutionArn {
				others = append(others, e)
			}
		}
	}
	if len(others) == 0 {
		msg := fmt.Sprintf("no other execution of %s is running", in.StateMachineArn)
		h.Logger.InfoContext(ctx, "proceed", "stateMachineArn", in.StateMachineArn, "currentExecutionArn", in.CurrentExecutionArn)
		return Output{Proceed: true, Message: msg}, nil
	}
	names := make([]string, len(others))
	for i, e := range others {
		names[i] = aws.ToString(e.ExecutionArn)
		if e.StartDate != nil {
			names[i] += " (started " + e.StartDate.UTC().Format(time.RFC3339) + ")"
		}
	}
	msg := fmt.Sprintf("%s is already running in %d other execution(s): %s", in.StateMachineArn, len(others), strings.Join(names, ", "))
	h.Logger.InfoContext(ctx, "stop: another execution is running", "stateMachineArn", in.StateMachineArn, "currentExecutionArn", in.CurrentExecutionArn, "running", names)
	return Output{Proceed: false, Message: msg}, nil
}
