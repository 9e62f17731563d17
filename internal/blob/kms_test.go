package blob_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
)

// kmsETags reports ETags as S3 does for SSE-KMS objects: not the MD5.
type kmsETags struct{ *s3.Client }

func (k kmsETags) HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	out, err := k.Client.HeadObject(ctx, in, optFns...)
	if err == nil {
		out.ETag = aws.String(`"0123456789abcdef0123456789abcdef"`)
	}
	return out, err
}

// In a KMS-encrypted bucket the ETag is not the MD5, so unchanged files are
// recognised by the SHA-256 Put records in the object's metadata.
func TestS3PutSkipsUnchangedBytesWhenETagIsNotTheMD5(t *testing.T) {
	ctx := context.Background()
	client, count := s3test.NewS3(t, "bucket")
	st := blob.NewS3(kmsETags{client}, "bucket")
	for i, tc := range []struct {
		data        string
		wantChanged bool
	}{{"v1", true}, {"v1", false}, {"v2", true}, {"v2", false}} {
		changed, err := st.Put(ctx, "out/ME14.parquet", []byte(tc.data))
		if err != nil {
			t.Fatal(err)
		}
		if changed != tc.wantChanged {
			t.Errorf("put %d (%s): changed = %v, want %v", i, tc.data, changed, tc.wantChanged)
		}
	}
	if n := count.Get("PUT object"); n != 2 {
		t.Errorf("PutObject requests = %d, want 2", n)
	}
}
