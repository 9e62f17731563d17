package outcodes

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
)

// PublishAPI is the part of the S3 client that publish_outcodes uses: the
// Store's calls and a server-side copy.
type PublishAPI interface {
	blob.S3API
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
}

var _ PublishAPI = (*s3.Client)(nil)

// publishConcurrency bounds the parallel HEAD and copy calls.
const publishConcurrency = 32

// CopyChanged copies each outcode's file from staging to live in bucket
// when live lacks it or holds other bytes, and returns the copied keys
// (live), sorted, and how many were already the same. Same means the same
// size and, when the ETags differ (as they do under SSE-KMS), the same
// SHA-256 that blob.S3.Put records in the metadata; a server-side copy
// keeps that metadata. Every outcode must have a staging file.
func CopyChanged(ctx context.Context, client PublishAPI, bucket, staging, live string, outcodes []string) (copied []string, unchanged int, err error) {
	store := blob.NewS3(client, bucket)
	list := func(prefix string) (map[string]blob.Object, error) {
		objs, err := store.List(ctx, prefix)
		if err != nil {
			return nil, err
		}
		out := make(map[string]blob.Object, len(objs))
		for _, o := range objs {
			out[o.Key] = o
		}
		return out, nil
	}
	staged, err := list(staging)
	if err != nil {
		return nil, 0, err
	}
	current, err := list(live)
	if err != nil {
		return nil, 0, err
	}
	// Check every outcode before copying any, so a missing file copies
	// nothing.
	type job struct {
		src, dst  string
		headFirst bool // same size, other ETag: compare the digests
	}
	var jobs []job
	for _, oc := range outcodes {
		src, dst := FileKey(staging, oc), FileKey(live, oc)
		s, ok := staged[src]
		if !ok {
			return nil, 0, fmt.Errorf("outcode %s: no staged file s3://%s/%s", oc, bucket, src)
		}
		d, exists := current[dst]
		if exists && s.Size == d.Size && s.ETag == d.ETag && s.ETag != "" {
			unchanged++
			continue
		}
		jobs = append(jobs, job{src: src, dst: dst, headFirst: exists && s.Size == d.Size})
	}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
		sem      = make(chan struct{}, publishConcurrency)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	for _, j := range jobs {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if j.headFirst {
				same, err := sameDigest(ctx, client, bucket, j.src, j.dst)
				if err != nil {
					fail(err)
					return
				}
				if same {
					mu.Lock()
					unchanged++
					mu.Unlock()
					return
				}
			}
			_, err := client.CopyObject(ctx, &s3.CopyObjectInput{
				Bucket: aws.String(bucket), Key: aws.String(j.dst),
				CopySource: aws.String(copySource(bucket, j.src)),
			})
			if err != nil {
				fail(fmt.Errorf("copy s3://%s/%s to %s: %w", bucket, j.src, j.dst, err))
				return
			}
			mu.Lock()
			copied = append(copied, j.dst)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, 0, firstErr
	}
	slices.Sort(copied)
	return copied, unchanged, nil
}

// copySource is CopyObject's "bucket/key", URL-encoded as S3 requires.
func copySource(bucket, key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return bucket + "/" + strings.Join(parts, "/")
}

// sameDigest reports whether both objects carry the same recorded SHA-256.
func sameDigest(ctx context.Context, client PublishAPI, bucket, a, b string) (bool, error) {
	var digests [2]string
	for i, k := range []string{a, b} {
		h, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			return false, fmt.Errorf("head s3://%s/%s: %w", bucket, k, err)
		}
		digests[i] = h.Metadata[blob.DigestKey]
	}
	return digests[0] != "" && digests[0] == digests[1], nil
}
