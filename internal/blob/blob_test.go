package blob_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
	"github.com/google/go-cmp/cmp"
)

// stores returns each back end, empty, for the shared behaviour tests.
func stores(t *testing.T) map[string]blob.Store {
	client, _ := s3test.NewS3(t, "bucket")
	return map[string]blob.Store{
		"s3":  blob.NewS3(client, "bucket"),
		"dir": blob.NewDir(t.TempDir()),
	}
}

func keys(objs []blob.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func TestStoreBehaviour(t *testing.T) {
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			steps := []struct {
				key, data   string
				wantChanged bool
			}{
				{"p/b.parquet", "one", true},
				{"p/b.parquet", "one", false}, // identical bytes: skipped
				{"p/b.parquet", "two", true},  // different bytes: written
				{"p/a.parquet", "a", true},
				{"p/sub/c.parquet", "c", true},
				{"q/d.parquet", "d", true},
				{"pz.parquet", "z", true},
			}
			for _, s := range steps {
				changed, err := st.Put(ctx, s.key, []byte(s.data))
				if err != nil {
					t.Fatalf("Put(%s): %v", s.key, err)
				}
				if changed != s.wantChanged {
					t.Errorf("Put(%s, %q) changed = %v, want %v", s.key, s.data, changed, s.wantChanged)
				}
			}
			objs, err := st.List(ctx, "p/")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"p/a.parquet", "p/b.parquet", "p/sub/c.parquet"}, keys(objs)); diff != "" {
				t.Errorf("List(p/) (-want +got):\n%s", diff)
			}
			if objs[1].Size != 3 {
				t.Errorf("size of p/b.parquet = %d, want 3", objs[1].Size)
			}
			objs, err = st.List(ctx, "p")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"p/a.parquet", "p/b.parquet", "p/sub/c.parquet", "pz.parquet"}, keys(objs)); diff != "" {
				t.Errorf("List(p) (-want +got):\n%s", diff)
			}

			rc, err := st.Open(ctx, "p/b.parquet")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || string(got) != "two" {
				t.Errorf("Open(p/b.parquet) = %q, %v; want \"two\"", got, err)
			}
			if _, err := st.Open(ctx, "p/missing"); err == nil || !strings.Contains(err.Error(), "p/missing") {
				t.Errorf("Open(missing) error = %v, want one naming the key", err)
			}

			if err := st.Delete(ctx, "p/a.parquet", "p/never-existed"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			objs, err = st.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"p/b.parquet", "p/sub/c.parquet", "pz.parquet", "q/d.parquet"}, keys(objs)); diff != "" {
				t.Errorf("List after Delete (-want +got):\n%s", diff)
			}
		})
	}
}

func TestS3PutSkipsUploadOfIdenticalBytes(t *testing.T) {
	ctx := context.Background()
	client, count := s3test.NewS3(t, "bucket")
	st := blob.NewS3(client, "bucket")
	if _, err := st.Put(ctx, "k", []byte("data")); err != nil {
		t.Fatal(err)
	}
	count.Reset()
	changed, err := st.Put(ctx, "k", []byte("data"))
	if err != nil || changed {
		t.Fatalf("second Put = %v, %v; want unchanged", changed, err)
	}
	if got := count.Get("PUT object"); got != 0 {
		t.Errorf("PutObject calls = %d, want 0", got)
	}
	if got := count.Get("HEAD object"); got != 1 {
		t.Errorf("HeadObject calls = %d, want 1", got)
	}
}

// TestS3ManyKeys checks that List follows every page and Delete batches
// DeleteObjects at 1000 keys.
func TestS3ManyKeys(t *testing.T) {
	ctx := context.Background()
	client, count := s3test.NewS3(t, "bucket")
	st := blob.NewS3(client, "bucket")
	const n = 1003
	var want []string
	for i := range n {
		k := fmt.Sprintf("many/%05d", n-1-i) // uploaded in reverse order
		if _, err := st.Put(ctx, k, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{k}, want...)
	}
	objs, err := st.List(ctx, "many/")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if got := count.Get("GET bucket"); got < 2 {
		t.Errorf("ListObjectsV2 calls = %d, want at least 2 pages", got)
	}
	count.Reset()
	if err := st.Delete(ctx, want...); err != nil {
		t.Fatal(err)
	}
	if got := count.Get("POST delete"); got != 2 {
		t.Errorf("DeleteObjects calls = %d, want 2", got)
	}
	objs, err = st.List(ctx, "many/")
	if err != nil || len(objs) != 0 {
		t.Errorf("List after Delete = %d objects, %v; want none", len(objs), err)
	}
}

func TestDirPutIsAtomicAndRejectsBadKeys(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	st := blob.NewDir(root)
	if _, err := st.Put(ctx, "a/b/c.parquet", []byte("x")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(root, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "c.parquet" {
		t.Errorf("directory holds %v, want only c.parquet (no temp files)", entries)
	}
	// A temp file left by a crash is not listed.
	if err := os.WriteFile(filepath.Join(root, "a", "b", ".blob-tmp-123"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := st.List(ctx, "a/")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a/b/c.parquet"}, keys(objs)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	for _, k := range []string{"", "/abs", "a/../../escape"} {
		if _, err := st.Put(ctx, k, []byte("x")); err == nil {
			t.Errorf("Put(%q) succeeded, want an invalid key error", k)
		}
	}
}

func TestOpenURL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, prefix, err := blob.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := st.(*blob.Dir); !ok || d.Root() != dir || prefix != "" {
		t.Errorf("Open(%q) = %T %v, %q", dir, st, st, prefix)
	}
	t.Setenv("AWS_REGION", "eu-west-2")
	st, prefix, err = blob.Open(ctx, "s3://my-bucket/some/prefix/")
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := st.(*blob.S3); !ok || s.Bucket() != "my-bucket" || prefix != "some/prefix/" {
		t.Errorf("Open(s3://my-bucket/some/prefix/) = %T, %q", st, prefix)
	}
	if _, _, err := blob.Open(ctx, "s3:///nobucket"); err == nil {
		t.Error("Open(s3:///nobucket) succeeded, want a missing bucket error")
	}
}
