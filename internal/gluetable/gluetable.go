// Package gluetable reads where a Glue table's data lives, so a state machine
// can pass the location on to tasks that write or clear it.
package gluetable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
)

// API is the part of the Glue client that the handler uses.
type API interface {
	GetTable(ctx context.Context, params *glue.GetTableInput, optFns ...func(*glue.Options)) (*glue.GetTableOutput, error)
}

var _ API = (*glue.Client)(nil)

// Input is the Lambda payload.
type Input struct {
	Database string `json:"database"`
	Table    string `json:"table"`
}

// Output maps "<table>_location" to the table's s3:// location.
type Output map[string]string

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

// Handle returns {"<table>_location": "s3://..."}.
func (h *Handler) Handle(ctx context.Context, in Input) (Output, error) {
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
	out, err := client.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String(database), Name: aws.String(table)})
	if err != nil {
		return "", fmt.Errorf("get glue table %s.%s: %w", database, table, err)
	}
	if out.Table == nil || out.Table.StorageDescriptor == nil {
		return "", fmt.Errorf("glue table %s.%s has no StorageDescriptor", database, table)
	}
	loc := aws.ToString(out.Table.StorageDescriptor.Location)
	if loc == "" {
		return "", fmt.Errorf("glue table %s.%s has no StorageDescriptor.Location", database, table)
	}
	if !strings.HasPrefix(loc, "s3://") {
		return "", fmt.Errorf("glue table %s.%s: location %q is not an s3:// URI", database, table, loc)
	}
	return loc, nil
}
