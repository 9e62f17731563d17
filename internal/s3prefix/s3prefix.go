// Package s3prefix deletes every object under an S3 prefix, refusing
// prefixes that would empty a whole bucket.
package s3prefix

import (
	"github.com/DemocracyClub/dc-data-baker/internal/blob"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// API is the part of the S3 client that Empty uses.
type API interface {
	ListObjectsV2(ctx context.Context, params *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObjects(ctx context.Context, params *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

var _ API = (*s3.Client)(nil)

// Input is the Lambda payload.
type Input struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
}

// Output is the Lambda result.
type Output struct {
	Deleted int `json:"deleted"`
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

// Handle is the Lambda entry point.
func (h *Handler) Handle(ctx context.Context, in Input) (Output, error) {
	n, err := Empty(ctx, h.Client, in.Bucket, in.Prefix)
	if err != nil {
		return Output{Deleted: n}, err
	}
	h.Logger.InfoContext(ctx, "emptied prefix", "bucket", in.Bucket, "prefix", in.Prefix, "deleted", n)
	return Output{Deleted: n}, nil
}

// CheckPrefix refuses a bucket or prefix that is empty, or a prefix made only
// of slashes and spaces: one typo must not wipe a bucket.
func CheckPrefix(bucket, prefix string) error {
	if strings.TrimSpace(bucket) == "" {
		return errors.New("refusing to empty a prefix: bucket is empty")
	}
	if strings.Trim(prefix, "/ \t\r\n") == "" {
		return fmt.Errorf("refusing to empty s3://%s/%s: the prefix %q would match the whole bucket", bucket, prefix, prefix)
	}
	return nil
}

// Empty deletes every object under s3://bucket/prefix and returns how many it
// deleted. It reads one listing page at a time and deletes that page's keys
// (at most 1,000, DeleteObjects' limit) before reading the next, so memory
// stays bounded. Any per-key failure stops it with an error naming the keys.
// Running it again is harmless: a prefix that is already empty deletes 0.
func Empty(ctx context.Context, client API, bucket, prefix string) (int, error) {
	if err := CheckPrefix(bucket, prefix); err != nil {
		return 0, err
	}
	deleted := 0
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return deleted, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		keys := make([]string, len(page.Contents))
		for i, o := range page.Contents {
			keys[i] = aws.ToString(o.Key)
		}
		n, err := blob.DeleteKeys(ctx, client, bucket, keys)
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("delete s3://%s/%s: %w", bucket, prefix, err)
		}
	}
	return deleted, nil
}
