// Package s3prefix deletes every object under an S3 prefix, refusing
// prefixes that would empty a whole bucket, except those under the prefixes
// it is told to keep (a run-scoped table's current and previous runs).
package s3prefix

import (
	"github.com/DemocracyClub/dc-data-baker/internal/blob"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	// Keep are prefixes, as keys or s3://bucket/key URIs in Bucket, whose
	// objects are not deleted. Each ends in "/".
	Keep []string `json:"keep,omitempty"`
}

// Output is the Lambda result.
type Output struct {
	Deleted int `json:"deleted"`
	Kept    int `json:"kept,omitempty"`
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
	keep, err := KeepPrefixes(in.Bucket, in.Keep)
	if err != nil {
		return Output{}, err
	}
	n, kept, err := EmptyExcept(ctx, h.Client, in.Bucket, in.Prefix, keep)
	if err != nil {
		return Output{Deleted: n, Kept: kept}, err
	}
	h.Logger.InfoContext(ctx, "emptied prefix", "bucket", in.Bucket, "prefix", in.Prefix, "keep", keep, "deleted", n, "kept", kept)
	return Output{Deleted: n, Kept: kept}, nil
}

// KeepPrefixes turns Input.Keep into key prefixes of bucket.
func KeepPrefixes(bucket string, keep []string) ([]string, error) {
	out := make([]string, 0, len(keep))
	for _, k := range keep {
		p := k
		if rest, ok := strings.CutPrefix(k, "s3://"); ok {
			b, key, _ := strings.Cut(rest, "/")
			if b != bucket {
				return nil, fmt.Errorf("input: keep %q is not in bucket %s", k, bucket)
			}
			p = key
		}
		if !strings.HasSuffix(p, "/") {
			return nil, fmt.Errorf("input: keep %q must end in /, or it would keep every sibling that starts the same", k)
		}
		out = append(out, p)
	}
	return out, nil
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
	n, _, err := EmptyExcept(ctx, client, bucket, prefix, nil)
	return n, err
}

// EmptyExcept is Empty, except that it keeps the objects under any of the
// key prefixes in keep; it returns how many it deleted and kept.
func EmptyExcept(ctx context.Context, client API, bucket, prefix string, keep []string) (int, int, error) {
	if err := CheckPrefix(bucket, prefix); err != nil {
		return 0, 0, err
	}
	deleted, kept := 0, 0
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return deleted, kept, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		keys := make([]string, 0, len(page.Contents))
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if slices.ContainsFunc(keep, func(p string) bool { return strings.HasPrefix(k, p) }) {
				kept++
				continue
			}
			keys = append(keys, k)
		}
		n, err := blob.DeleteKeys(ctx, client, bucket, keys)
		deleted += n
		if err != nil {
			return deleted, kept, fmt.Errorf("delete s3://%s/%s: %w", bucket, prefix, err)
		}
	}
	return deleted, kept, nil
}
