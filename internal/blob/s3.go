package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
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

// DigestKey is the object metadata key that holds the SHA-256 of the bytes
// Put wrote.
const DigestKey = "content-sha256"

// Put uploads data unless the object already holds the same bytes: the same
// size, and the SHA-256 that Put recorded in its metadata. An object without
// that metadata is compared by ETag, which is the MD5 only for single-part
// uploads without SSE-KMS; the metadata keeps "unchanged" meaning unchanged
// in a bucket encrypted with KMS, where the ETag is not the MD5.
func (s *S3) Put(ctx context.Context, key string, data []byte) (bool, error) {
	digest := fmt.Sprintf("%x", sha256.Sum256(data))
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	switch {
	case err == nil:
		same := aws.ToString(head.ETag) == ETagOf(data)
		if d, ok := head.Metadata[DigestKey]; ok {
			same = d == digest
		}
		if same && aws.ToInt64(head.ContentLength) == int64(len(data)) {
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
		Metadata:   map[string]string{DigestKey: digest},
	})
	if err != nil {
		return false, fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return true, nil
}

// Delete removes keys in batches of 1000; see DeleteKeys.
func (s *S3) Delete(ctx context.Context, keys ...string) error {
	if _, err := DeleteKeys(ctx, s.client, s.bucket, keys); err != nil {
		return fmt.Errorf("delete from s3://%s: %w", s.bucket, err)
	}
	return nil
}

// ObjectDeleter is the one S3 call DeleteKeys makes.
type ObjectDeleter interface {
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

// DeleteKeys deletes keys from bucket in batches of 1000 (DeleteObjects'
// limit) and returns how many were deleted. Per-key failures fail the call,
// naming up to ten keys with their codes; it stops at the first batch that
// fails, so a retry deletes what is left.
func DeleteKeys(ctx context.Context, client ObjectDeleter, bucket string, keys []string) (int, error) {
	deleted := 0
	for batch := range slices.Chunk(keys, deleteBatch) {
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return deleted, fmt.Errorf("DeleteObjects of %d keys from %s to %s: %w", len(batch), batch[0], batch[len(batch)-1], err)
		}
		deleted += len(batch) - len(out.Errors)
		if len(out.Errors) == 0 {
			continue
		}
		const show = 10
		msgs := make([]string, 0, min(len(out.Errors), show))
		for _, e := range out.Errors[:min(len(out.Errors), show)] {
			msgs = append(msgs, fmt.Sprintf("%s (%s: %s)", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message)))
		}
		more := ""
		if len(out.Errors) > show {
			more = fmt.Sprintf(" and %d more", len(out.Errors)-show)
		}
		return deleted, fmt.Errorf("%d of %d keys not deleted: %s%s", len(out.Errors), len(batch), strings.Join(msgs, ", "), more)
	}
	return deleted, nil
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
