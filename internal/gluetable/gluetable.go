// Package gluetable reads where a Glue table's data lives, so a state machine
// can pass the location on to tasks that write or clear it, and switches a
// run-scoped table to the prefix a run wrote.
package gluetable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
)

// API is the part of the Glue client that the handler uses.
type API interface {
	GetTable(ctx context.Context, params *glue.GetTableInput, optFns ...func(*glue.Options)) (*glue.GetTableOutput, error)
	UpdateTable(ctx context.Context, params *glue.UpdateTableInput, optFns ...func(*glue.Options)) (*glue.UpdateTableOutput, error)
}

var _ API = (*glue.Client)(nil)

// Input is the Lambda payload.
type Input struct {
	Database string `json:"database"`
	Table    string `json:"table"`
	// Location, when set, is the s3:// prefix to point the table at; the
	// output then also names the location it had before.
	Location string `json:"location,omitempty"`
}

// Output maps "<table>_location" to the table's s3:// location and, after
// a switch, "<table>_previous_location" to the one it replaced.
type Output map[string]string

// PreviousSuffix ends the output key of the location a switch replaced.
const PreviousSuffix = "_previous_location"

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

// Handle returns {"<table>_location": "s3://..."}, after pointing the
// table at in.Location when that is set.
func (h *Handler) Handle(ctx context.Context, in Input) (Output, error) {
	if in.Location != "" {
		prev, err := Switch(ctx, h.Client, in.Database, in.Table, in.Location)
		if err != nil {
			return nil, err
		}
		h.Logger.InfoContext(ctx, "switched table location", "database", in.Database, "table", in.Table, "location", in.Location, "previous", prev)
		return Output{in.Table + "_location": in.Location, in.Table + PreviousSuffix: prev}, nil
	}
	loc, err := Location(ctx, h.Client, in.Database, in.Table)
	if err != nil {
		return nil, err
	}
	h.Logger.InfoContext(ctx, "table location", "database", in.Database, "table", in.Table, "location", loc)
	return Output{in.Table + "_location": loc}, nil
}

// Location returns the table's StorageDescriptor.Location, which must be an
// s3:// URI.
func Location(ctx context.Context, client API, database, table string) (string, error) {
	if database == "" || table == "" {
		return "", errors.New("input: database and table are both required")
	}
	t, err := get(ctx, client, database, table)
	if err != nil {
		return "", err
	}
	return aws.ToString(t.StorageDescriptor.Location), nil
}

// get reads a table that has an s3:// location.
func get(ctx context.Context, client API, database, table string) (*types.Table, error) {
	out, err := client.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String(database), Name: aws.String(table)})
	if err != nil {
		return nil, fmt.Errorf("get glue table %s.%s: %w", database, table, err)
	}
	if out.Table == nil || out.Table.StorageDescriptor == nil {
		return nil, fmt.Errorf("glue table %s.%s has no StorageDescriptor", database, table)
	}
	loc := aws.ToString(out.Table.StorageDescriptor.Location)
	if loc == "" {
		return nil, fmt.Errorf("glue table %s.%s has no StorageDescriptor.Location", database, table)
	}
	if !strings.HasPrefix(loc, "s3://") {
		return nil, fmt.Errorf("glue table %s.%s: location %q is not an s3:// URI", database, table, loc)
	}
	return out.Table, nil
}

// Switch points the table at location and returns the location it had. It
// rewrites the table as it reads it, changing only the location, so the
// columns, SerDe and partition projection stay what the deploy declared;
// the read's VersionId makes Glue refuse the write if the table changed in
// between (a deploy, or another switch), rather than undo that change.
func Switch(ctx context.Context, client API, database, table, location string) (string, error) {
	if database == "" || table == "" {
		return "", errors.New("input: database and table are both required")
	}
	if !strings.HasPrefix(location, "s3://") || !strings.HasSuffix(location, "/") {
		return "", fmt.Errorf("input: location %q for %s.%s must be an s3:// prefix ending in /", location, database, table)
	}
	t, err := get(ctx, client, database, table)
	if err != nil {
		return "", err
	}
	prev := aws.ToString(t.StorageDescriptor.Location)
	sd := *t.StorageDescriptor
	sd.Location = aws.String(location)
	if _, err := client.UpdateTable(ctx, &glue.UpdateTableInput{
		DatabaseName: aws.String(database),
		VersionId:    t.VersionId,
		TableInput: &types.TableInput{
			Name:              t.Name,
			Description:       t.Description,
			Owner:             t.Owner,
			Retention:         t.Retention,
			TableType:         t.TableType,
			Parameters:        t.Parameters,
			PartitionKeys:     t.PartitionKeys,
			StorageDescriptor: &sd,
			ViewOriginalText:  t.ViewOriginalText,
			ViewExpandedText:  t.ViewExpandedText,
			TargetTable:       t.TargetTable,
		},
	}); err != nil {
		return "", fmt.Errorf("point glue table %s.%s at %s (was %s): %w", database, table, location, prev, err)
	}
	return prev, nil
}
