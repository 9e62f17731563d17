// Package s3test runs an in-process S3 (gofakes3, in memory) for tests,
// with a real aws-sdk-go-v2 client and a count of requests per operation.
package s3test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Counter counts HTTP requests by operation, e.g. "PUT object" or
// "HEAD object", seen by the client.
type Counter struct {
	mu     sync.Mutex
	counts map[string]int
	next   http.RoundTripper
}

// RoundTrip counts the request and forwards it.
func (c *Counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.counts[op(r)]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// op names a path-style request: "<METHOD> bucket" or "<METHOD> object",
// with "?delete" marked as "POST delete".
func op(r *http.Request) string {
	kind := "object"
	if strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0 {
		kind = "bucket"
	}
	if r.Method == http.MethodPost && r.URL.Query().Has("delete") {
		kind = "delete"
	}
	return r.Method + " " + kind
}

// Get returns the count for op.
func (c *Counter) Get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[op]
}

// Reset zeroes all counts.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = map[string]int{}
}

// Server is an in-memory S3 with a client for it.
type Server struct {
	Client *s3.Client
	Count  *Counter
	// Backend lets a test seed many objects without HTTP round trips.
	Backend *s3mem.Backend
}

// NewS3 starts an in-memory S3 holding the given buckets and returns a
// path-style client for it. The server stops when the test ends.
func NewS3(t testing.TB, buckets ...string) (*s3.Client, *Counter) {
	t.Helper()
	s := New(t, buckets...)
	return s.Client, s.Count
}

// New starts an in-memory S3 holding the given buckets.
func New(t testing.TB, buckets ...string) *Server {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatalf("create bucket %s: %v", b, err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	counter := &Counter{counts: map[string]int{}, next: http.DefaultTransport}
	client := s3.New(s3.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Transport: counter},
	})
	return &Server{Client: client, Count: counter, Backend: backend}
}

// Get returns the object's body as a string, failing the test on error.
func Get(t testing.TB, c *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read s3://%s/%s: %v", bucket, key, err)
	}
	return string(b)
}

// Put stores body at bucket/key, failing the test on error.
func Put(t testing.TB, c *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
	}); err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// Keys lists the bucket's keys (up to 1,000), sorted.
func Keys(t testing.TB, c *s3.Client, bucket string) []string {
	t.Helper()
	out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("list s3://%s: %v", bucket, err)
	}
	keys := []string{}
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	sort.Strings(keys)
	return keys
}
