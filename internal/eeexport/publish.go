package eeexport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the S3 client an export uses.
type S3API interface {
	PutObject(ctx context.Context, params *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CopyObject(ctx context.Context, params *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	DeleteObject(ctx context.Context, params *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// publish uploads body to bucket/key without ever exposing a partial
// object: PutObject to a temporary key, CopyObject over key (S3 replaces
// an object atomically), then delete the temporary key. If any step fails
// the previous object at key is untouched, and the temporary key is
// removed where possible.
func publish(ctx context.Context, api S3API, bucket, key, tmpKey string, body io.ReadSeeker, size int64) error {
	if _, err := api.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(tmpKey),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String("text/csv; charset=utf-8"),
	}); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, tmpKey, err)
	}
	if _, err := api.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:     aws.String(bucket),
		Key:        aws.String(key),
		CopySource: aws.String(copySource(bucket, tmpKey)),
	}); err != nil {
		err = fmt.Errorf("copy s3://%s/%s to %s: %w", bucket, tmpKey, key, err)
		if derr := deleteKey(ctx, api, bucket, tmpKey); derr != nil {
			err = errors.Join(err, derr)
		}
		return err
	}
	// The new file is live. A failed delete is still reported as an
	// error so that a missing s3:DeleteObject permission is noticed; a
	// retry of the whole export is harmless.
	return deleteKey(ctx, api, bucket, tmpKey)
}

func deleteKey(ctx context.Context, api S3API, bucket, key string) error {
	if _, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete temporary s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// copySource URL-encodes bucket/key for CopyObject, keeping the slashes.
func copySource(bucket, key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return bucket + "/" + strings.Join(parts, "/")
}
