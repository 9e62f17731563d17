package outcodes_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
)

// Publishing copies only the staged files whose bytes differ from the live
// ones (new, changed, or the same size with other bytes), keeps the
// recorded digest on the copies, and deletes live files of gone outcodes.
func TestPublishCopiesOnlyChangedFiles(t *testing.T) {
	ctx := context.Background()
	client, count := s3test.NewS3(t, "bucket")
	st := blob.NewS3(client, "bucket")
	put := func(key, body string) {
		t.Helper()
		if _, err := st.Put(ctx, key, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	put("live/SAME.parquet", "same")
	put("live/CHANGED.parquet", "old bytes")
	put("live/SAMESIZE.parquet", "aaaa")
	put("live/GONE.parquet", "gone")
	put("stage/SAME.parquet", "same")
	put("stage/CHANGED.parquet", "new, longer bytes")
	put("stage/SAMESIZE.parquet", "bbbb")
	put("stage/NEW.parquet", "new")
	put("stage/OLD.parquet", "a staged file of an outcode gone since")
	count.Reset()

	h := outcodes.PublishHandler{S3: client}
	out, err := h.Handle(ctx, outcodes.PublishEvent{Bucket: "bucket", StagingPrefix: "stage/", DestPrefix: "live/", Letters: []outcodes.Result{
		{Letter: "S", Outcodes: []string{"SAME", "SAMESIZE"}}, {Letter: "C", Outcodes: []string{"CHANGED"}}, {Letter: "N", Outcodes: []string{"NEW"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := outcodes.PublishOutput{
		Copied:    []string{"live/CHANGED.parquet", "live/NEW.parquet", "live/SAMESIZE.parquet"},
		Unchanged: 1,
		Deleted:   []string{"live/GONE.parquet"},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if n := count.Get("PUT object"); n != 3 {
		t.Errorf("%d PUT requests, want the 3 copies", n)
	}
	for key, body := range map[string]string{"live/SAME.parquet": "same", "live/CHANGED.parquet": "new, longer bytes", "live/SAMESIZE.parquet": "bbbb", "live/NEW.parquet": "new"} {
		if got := s3test.Get(t, client, "bucket", key); got != body {
			t.Errorf("%s = %q, want %q", key, got, body)
		}
	}
	wantKeys := []string{"live/CHANGED.parquet", "live/NEW.parquet", "live/SAME.parquet", "live/SAMESIZE.parquet",
		"stage/CHANGED.parquet", "stage/NEW.parquet", "stage/SAME.parquet", "stage/SAMESIZE.parquet"}
	if diff := cmp.Diff(wantKeys, s3test.Keys(t, client, "bucket")); diff != "" {
		t.Errorf("keys after publishing (-want +got):\n%s", diff)
	}

	// The copy keeps the digest, so the next publish of the same staging
	// copies nothing: Put's skip and this comparison agree.
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bucket"), Key: aws.String("live/NEW.parquet")})
	if err != nil || head.Metadata[blob.DigestKey] == "" {
		t.Errorf("copied object metadata %v, %v; want the %s digest", head, err, blob.DigestKey)
	}
	count.Reset()
	again, err := h.Handle(ctx, outcodes.PublishEvent{Bucket: "bucket", StagingPrefix: "stage/", DestPrefix: "live/", Letters: []outcodes.Result{
		{Letter: "S", Outcodes: []string{"SAME", "SAMESIZE", "CHANGED", "NEW"}},
	}})
	if err != nil || len(again.Copied) != 0 || again.Unchanged != 4 || count.Get("PUT object") != 0 {
		t.Errorf("second publish = %+v, %v with %d PUTs; want nothing copied", again, err, count.Get("PUT object"))
	}
}

// An outcode without a staged file fails the publish before any copy.
func TestPublishRefusesAMissingStagedFile(t *testing.T) {
	ctx := context.Background()
	client, count := s3test.NewS3(t, "bucket")
	s3test.Put(t, client, "bucket", "stage/A1.parquet", "a1")
	count.Reset()
	h := outcodes.PublishHandler{S3: client}
	_, err := h.Handle(ctx, outcodes.PublishEvent{Bucket: "bucket", StagingPrefix: "stage/", DestPrefix: "live/", Letters: []outcodes.Result{{Letter: "A", Outcodes: []string{"A1", "A2"}}}})
	if err == nil || !cmp.Equal(count.Get("PUT object"), 0) {
		t.Fatalf("err = %v with %d PUTs; want an error naming A2 and no copy", err, count.Get("PUT object"))
	}
	if want := "outcode A2: no staged file s3://bucket/stage/A2.parquet"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to say %q", err, want)
	}
}

// A gated publish copies the staged manifest live, after the files; a
// manifest key inside the outcode folders, or a missing staged manifest,
// fails it, the latter leaving no live manifest.
func TestPublishCopiesTheManifestLast(t *testing.T) {
	ctx := context.Background()
	letters := []outcodes.Result{{Letter: "A", Outcodes: []string{"A1"}}}
	m := &outcodes.ManifestCopy{From: "staging/x_manifest/manifest.json", To: "x_manifest/manifest.json"}

	client, _ := s3test.NewS3(t, "bucket")
	s3test.Put(t, client, "bucket", "staging/x/A1.parquet", "a1")
	h := outcodes.PublishHandler{S3: client}
	ev := outcodes.PublishEvent{Bucket: "bucket", StagingPrefix: "staging/x/", DestPrefix: "x/", Letters: letters, Manifest: m}
	if _, err := h.Handle(ctx, ev); err == nil || !strings.Contains(err.Error(), "copy manifest s3://bucket/staging/x_manifest/manifest.json") {
		t.Errorf("without a staged manifest: err = %v, want the failed copy named", err)
	}
	if keys := s3test.Keys(t, client, "bucket"); slices.Contains(keys, m.To) {
		t.Errorf("a live manifest appeared without a staged one: %q", keys)
	}

	s3test.Put(t, client, "bucket", m.From, `{"version":1}`)
	if _, err := h.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got := s3test.Get(t, client, "bucket", m.To); got != `{"version":1}` {
		t.Errorf("live manifest = %q, want the staged one", got)
	}
	if got := s3test.Get(t, client, "bucket", "x/A1.parquet"); got != "a1" {
		t.Errorf("live file = %q", got)
	}

	for _, bad := range []outcodes.ManifestCopy{
		{From: m.From, To: "x/manifest.json"},
		{From: "staging/x/manifest.json", To: m.To},
		{From: m.From, To: m.From},
		{From: m.From, To: ""},
	} {
		ev.Manifest = &bad
		if _, err := h.Handle(ctx, ev); err == nil || !strings.Contains(err.Error(), "field manifest") {
			t.Errorf("manifest %+v: err = %v, want it refused", bad, err)
		}
	}
}
