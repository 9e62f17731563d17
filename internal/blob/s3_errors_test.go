package blob_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
)

// failingS3 returns errors gofakes3 cannot produce: per-key DeleteObjects
// failures and HeadObject errors other than NotFound. Calls it does not
// override panic through the nil embedded interface.
type failingS3 struct {
	blob.S3API
	puts int
}

func (f *failingS3) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	var errs []types.Error
	for _, o := range in.Delete.Objects {
		if strings.HasPrefix(aws.ToString(o.Key), "locked/") {
			errs = append(errs, types.Error{Key: o.Key, Code: aws.String("AccessDenied"), Message: aws.String("Access Denied")})
		}
	}
	return &s3.DeleteObjectsOutput{Errors: errs}, nil
}

func (f *failingS3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return nil, errors.New("api error Forbidden: Forbidden")
}

func (f *failingS3) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	f.puts++
	return &s3.PutObjectOutput{}, nil
}

func TestS3DeleteReportsFailedKeys(t *testing.T) {
	st := blob.NewS3(&failingS3{}, "bucket")
	err := st.Delete(context.Background(), "ok/a.parquet", "locked/b.parquet", "locked/c.parquet")
	if err == nil {
		t.Fatal("Delete succeeded, want an error naming the failed keys")
	}
	for _, want := range []string{"s3://bucket", "2 of 3 keys not deleted", "locked/b.parquet (AccessDenied: Access Denied)", "locked/c.parquet"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "ok/a.parquet") {
		t.Errorf("error %q names a key that was deleted", err)
	}
}

func TestS3PutFailsOnHeadError(t *testing.T) {
	fake := &failingS3{}
	_, err := blob.NewS3(fake, "bucket").Put(context.Background(), "out/A1.parquet", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "head s3://bucket/out/A1.parquet") {
		t.Errorf("error = %v, want one naming the HeadObject of the key", err)
	}
	if fake.puts != 0 {
		t.Errorf("PutObject called %d times after a failed HeadObject, want 0", fake.puts)
	}
}
