package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3API is the part of the S3 client that S3 uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// deleteBatch is the most keys one DeleteObjects call accepts.
const deleteBatch = 1000

// S3 is a Store in one bucket.
type S3 struct {
	client S3API
	bucket string
}

var _ Store = (*S3)(nil)

// NewS3 returns a Store for bucket.
func NewS3(client S3API, bucket string) *S3 { return &S3{client: client, bucket: bucket} }

// Bucket returns the bucket name.
func (s *S3) Bucket() string { return s.bucket }

// List returns every object under prefix, following all pages, sorted by key.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket),
		Prefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.bucket, prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, Object{
				Key:  aws.ToString(o.Key),
				Size: aws.ToInt64(o.Size),
				ETag: aws.ToString(o.ETag),
			})
		}
	}
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Open streams the object's body.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	return out.Body, nil
}

// Put uploads data unless HeadObject reports the same size and an ETag
// equal to the MD5 of data (true for single-part uploads, which is all
// Put makes).
func (s *S3) Put(ctx context.Context, key string, data []byte) (bool, error) {
	etag := ETagOf(data)
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	switch {
	case err == nil:
		if aws.ToString(head.ETag) == etag && aws.ToInt64(head.ContentLength) == int64(len(data)) {
			return false, nil
		}
	case isNotFound(err):
		// A new object: upload it.
	default:
		return false, fmt.Errorf("head s3://%s/%s: %w", s.bucket, key, err)
	}
	sum := md5.Sum(data)
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:     aws.String(s.bucket),
		Key:        aws.String(key),
		Body:       bytes.NewReader(data), // seekable, so the SDK can hash it over plain HTTP
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	})
	if err != nil {
		return false, fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return true, nil
}

// Delete removes keys in batches of 1000. Per-key failures are collected
// and reported together, naming the keys.
func (s *S3) Delete(ctx context.Context, keys ...string) error {
	var failed []string
	for batch := range slices.Chunk(keys, deleteBatch) {
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(s.bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("delete %d objects from s3://%s (first %s): %w", len(batch), s.bucket, batch[0], err)
		}
		for _, e := range out.Errors {
			failed = append(failed, fmt.Sprintf("%s (%s: %s)", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message)))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("delete from s3://%s: %d keys failed: %s", s.bucket, len(failed), strings.Join(failed, ", "))
	}
	return nil
}

func isNotFound(err error) bool {
	var nf *types.NotFound
	if errors.As(err, &nf) {
		return true
	}
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey")
}
