package s3prefix_test

import (
	"github.com/DemocracyClub/dc-data-baker/internal/lambdatest"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"

	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/s3prefix"
)

const (
	bucket = "pollingstations.private.data"
	prefix = "addressbase/development/current_elections_parquet/"
)

// fakeS3 is an in-process S3 that counts list and delete requests.
type fakeS3 struct {
	*s3test.Server
	client *s3.Client
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	srv := s3test.New(t, bucket)
	return &fakeS3{Server: srv, client: srv.Client}
}

func (f *fakeS3) lists() int   { return f.Count.Get("GET bucket") }
func (f *fakeS3) deletes() int { return f.Count.Get("POST delete") }

// put seeds objects straight into the backend (uploading 2,500 objects over
// HTTP under -race takes ~15s and is not what these tests are about); one
// object is uploaded with the real client to check the wiring.
func (f *fakeS3) put(t *testing.T, keys []string) {
	t.Helper()
	for i, k := range keys {
		var err error
		if i == 0 {
			_, err = f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader([]byte("x"))})
		} else {
			_, err = f.Backend.PutObject(bucket, k, map[string]string{}, bytes.NewReader([]byte("x")), 1, nil)
		}
		if err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
}

func (f *fakeS3) keys(t *testing.T) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(f.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

func outcodeKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sOC%04d.parquet", prefix, i)
	}
	return keys
}

// outside are keys that must survive: a sibling whose name extends the prefix
// without its slash, another layer, and the environment's parent folder.
var outside = []string{
	"addressbase/development/current_elections_parquet.bak/AB1.parquet",
	"addressbase/development/current_ballots_joined_to_address_base/first_letter=A/part-0.parquet",
	"addressbase/production/current_elections_parquet/AB1.parquet",
	"addressbase/development/keep.txt",
}

// TestInvokeJSON drives the handler through the Lambda JSON boundary against
// gofakes3 holding 2,500 objects under the prefix.
func TestInvokeJSON(t *testing.T) {
	tests := []struct {
		payload     string
		objects     int
		wantOut     string
		wantErr     string
		wantLists   int
		wantDeletes int
	}{
		{payload: "empty_outcode_prefix.json", objects: 2500, wantOut: `{"deleted":2500}`, wantLists: 3, wantDeletes: 3},
		{payload: "already_empty_prefix.json", objects: 10, wantOut: `{"deleted":0}`, wantLists: 1},
		{payload: "refuse_empty_prefix.json", objects: 10, wantErr: `refusing to empty s3://pollingstations.private.data/: the prefix "" would match the whole bucket`},
		{payload: "refuse_slash_prefix.json", objects: 10, wantErr: `refusing to empty s3://pollingstations.private.data//: the prefix "/" would match the whole bucket`},
		{payload: "refuse_blank_prefix.json", objects: 10, wantErr: `refusing to empty s3://pollingstations.private.data/  : the prefix "  " would match the whole bucket`},
		{payload: "refuse_empty_bucket.json", objects: 10, wantErr: `refusing to empty a prefix: bucket is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			f := newFakeS3(t)
			inside := outcodeKeys(tt.objects)
			f.put(t, append(append([]string(nil), inside...), outside...))
			h := s3prefix.New(f.client, nil)
			out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), lambdatest.Payload(t, "empty_s3_bucket_by_prefix", tt.payload))
			wantKeys := append([]string(nil), outside...)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				wantKeys = append(wantKeys, inside...)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.wantOut, string(out)); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
				if tt.payload == "already_empty_prefix.json" {
					wantKeys = append(wantKeys, inside...)
				}
			}
			if got := f.lists(); got != tt.wantLists {
				t.Errorf("ListObjectsV2 requests = %d, want %d", got, tt.wantLists)
			}
			if got := f.deletes(); got != tt.wantDeletes {
				t.Errorf("DeleteObjects requests = %d, want %d", got, tt.wantDeletes)
			}
			sort.Strings(wantKeys)
			if diff := cmp.Diff(wantKeys, f.keys(t)); diff != "" {
				t.Errorf("keys left (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEmptyTwice checks that a retry after success is harmless.
func TestEmptyTwice(t *testing.T) {
	f := newFakeS3(t)
	f.put(t, outcodeKeys(5))
	for i, want := range []int{5, 0} {
		n, err := s3prefix.Empty(context.Background(), f.client, bucket, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("run %d deleted %d, want %d", i+1, n, want)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	tests := []struct {
		bucket, prefix string
		ok             bool
	}{
		{bucket, prefix, true},
		{bucket, "a", true},
		{bucket, "/a/", true},
		{bucket, "", false},
		{bucket, "/", false},
		{bucket, "//", false},
		{bucket, " / ", false},
		{bucket, "\t\n", false},
		{"", prefix, false},
		{"  ", prefix, false},
	}
	for _, tt := range tests {
		err := s3prefix.CheckPrefix(tt.bucket, tt.prefix)
		if (err == nil) != tt.ok {
			t.Errorf("CheckPrefix(%q, %q) = %v, want ok=%v", tt.bucket, tt.prefix, err, tt.ok)
		}
	}
}

// stubS3 serves one listing page and answers DeleteObjects with per-key
// errors, which gofakes3 cannot produce.
type stubS3 struct {
	keys      []string
	failKeys  map[string]string // key -> error code
	deleteErr error
	deletes   []*s3.DeleteObjectsInput
}

func (s *stubS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	out := &s3.ListObjectsV2Output{IsTruncated: aws.Bool(false)}
	for _, k := range s.keys {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) {
			out.Contents = append(out.Contents, types.Object{Key: aws.String(k)})
		}
	}
	return out, nil
}

func (s *stubS3) DeleteObjects(_ context.Context, in *s3.DeleteObjectsInput, _ ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	s.deletes = append(s.deletes, in)
	if s.deleteErr != nil {
		return nil, s.deleteErr
	}
	out := &s3.DeleteObjectsOutput{}
	for _, o := range in.Delete.Objects {
		if code, ok := s.failKeys[*o.Key]; ok {
			out.Errors = append(out.Errors, types.Error{Key: o.Key, Code: aws.String(code), Message: aws.String("denied by test")})
		}
	}
	return out, nil
}

func TestPerKeyErrors(t *testing.T) {
	tests := []struct {
		name        string
		stub        *stubS3
		wantDeleted int
		wantErr     string
	}{
		{
			name: "two keys refused",
			stub: &stubS3{keys: outcodeKeys(4), failKeys: map[string]string{
				prefix + "OC0001.parquet": "AccessDenied",
				prefix + "OC0003.parquet": "InternalError",
			}},
			wantDeleted: 2,
			wantErr: "delete s3://pollingstations.private.data/addressbase/development/current_elections_parquet/: 2 of 4 keys not deleted: " +
				"addressbase/development/current_elections_parquet/OC0001.parquet (AccessDenied: denied by test), " +
				"addressbase/development/current_elections_parquet/OC0003.parquet (InternalError: denied by test)",
		},
		{
			name:    "request fails",
			stub:    &stubS3{keys: outcodeKeys(2), deleteErr: errors.New("connection reset")},
			wantErr: "delete s3://pollingstations.private.data/addressbase/development/current_elections_parquet/: DeleteObjects of 2 keys from addressbase/development/current_elections_parquet/OC0000.parquet to addressbase/development/current_elections_parquet/OC0001.parquet: connection reset",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := s3prefix.Empty(context.Background(), tt.stub, bucket, prefix)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v\nwant %q", err, tt.wantErr)
			}
			if n != tt.wantDeleted {
				t.Errorf("deleted = %d, want %d", n, tt.wantDeleted)
			}
			for _, d := range tt.stub.deletes {
				if !aws.ToBool(d.Delete.Quiet) {
					t.Error("DeleteObjects without Quiet")
				}
			}
		})
	}
}

func TestPerKeyErrorsTruncated(t *testing.T) {
	stub := &stubS3{keys: outcodeKeys(15), failKeys: map[string]string{}}
	for _, k := range outcodeKeys(15) {
		stub.failKeys[k] = "AccessDenied"
	}
	_, err := s3prefix.Empty(context.Background(), stub, bucket, prefix)
	if err == nil || !strings.Contains(err.Error(), "15 of 15 keys not deleted") || !strings.HasSuffix(err.Error(), " and 5 more") {
		t.Fatalf("error = %v, want 10 keys named and 5 more counted", err)
	}
}

// TestKeep deletes a run-scoped table's old runs and its legacy layout but
// keeps the current and the previous run, named as a key or an s3:// URI.
func TestKeep(t *testing.T) {
	f := newFakeS3(t)
	const table = "addressbase/development/addressbase_partitioned/"
	f.put(t, []string{
		table + "first_letter=A/legacy.parquet",
		table + "runs/r1/first_letter=A/x.parquet",
		table + "runs/r2/first_letter=A/x.parquet",
		table + "runs/r2/first_letter=B/x.parquet",
		table + "runs/r20/first_letter=A/x.parquet",
		table + "runs/r3/first_letter=A/x.parquet",
	})
	payload := `{"bucket":"` + bucket + `","prefix":"` + table + `","keep":["s3://` + bucket + `/` + table + `runs/r2/","` + table + `runs/r3/"]}`
	out, err := lambda.NewHandler(s3prefix.New(f.client, nil).Handle).Invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"deleted":3,"kept":3}`, string(out)); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	want := []string{table + "runs/r2/first_letter=A/x.parquet", table + "runs/r2/first_letter=B/x.parquet", table + "runs/r3/first_letter=A/x.parquet"}
	if diff := cmp.Diff(want, f.keys(t)); diff != "" {
		t.Errorf("keys left (-want +got):\n%s", diff)
	}
	for _, keep := range []string{`"s3://other/` + table + `runs/r2/"`, `"` + table + `runs/r2"`} {
		_, err := lambda.NewHandler(s3prefix.New(f.client, nil).Handle).Invoke(context.Background(), []byte(`{"bucket":"`+bucket+`","prefix":"`+table+`","keep":[`+keep+`]}`))
		if err == nil || !strings.HasPrefix(err.Error(), "input: keep") {
			t.Errorf("keep %s: error %v, want an input error", keep, err)
		}
	}
}
