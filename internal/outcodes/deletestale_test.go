package outcodes_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
	"github.com/google/go-cmp/cmp"
)

func TestDeleteStale(t *testing.T) {
	ctx := context.Background()
	client, _ := s3test.NewS3(t, "bucket")
	for name, st := range map[string]blob.Store{"s3": blob.NewS3(client, "bucket"), "dir": blob.NewDir(t.TempDir())} {
		t.Run(name, func(t *testing.T) {
			existing := []string{
				"out/M1.parquet", "out/ME1.parquet", "out/ME14.parquet", "out/ZZ9.parquet", // ZZ9 and ME1 are stale
				"out/notes.txt",           // not parquet: untouched
				"out/old/M1.parquet",      // not directly under the prefix: untouched
				"out-archive/ZZ9.parquet", // another prefix sharing the name: untouched
				"elsewhere/ME1.parquet",   // another prefix: untouched
			}
			for _, k := range existing {
				if _, err := st.Put(ctx, k, []byte(k)); err != nil {
					t.Fatal(err)
				}
			}
			deleted, err := outcodes.DeleteStale(ctx, st, "out/", []string{"ME14", "M1", "NOTHERE"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"out/ME1.parquet", "out/ZZ9.parquet"}, deleted); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
			want := []string{"elsewhere/ME1.parquet", "out-archive/ZZ9.parquet", "out/M1.parquet", "out/ME14.parquet", "out/notes.txt", "out/old/M1.parquet"}
			objs, err := st.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.Key)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("remaining (-want +got):\n%s", diff)
			}
			// Nothing stale: nothing deleted.
			deleted, err = outcodes.DeleteStale(ctx, st, "out/", []string{"ME14", "M1"})
			if err != nil || len(deleted) != 0 {
				t.Errorf("second DeleteStale = %v, %v; want nothing deleted", deleted, err)
			}
		})
	}
}

func TestDeleteStaleRefusesEmptyPrefix(t *testing.T) {
	st := blob.NewDir(t.TempDir())
	if _, err := st.Put(context.Background(), "A1.parquet", []byte("x")); err != nil {
		t.Fatal(err)
	}
	_, err := outcodes.DeleteStale(context.Background(), st, "", nil)
	if err == nil || !strings.Contains(err.Error(), "empty destination prefix") {
		t.Errorf("error = %v, want a refusal of the empty prefix", err)
	}
}

// The Lambda refuses to delete more than a small share of the files: an
// incomplete joined table must not take live outcodes away from the APIs.
func TestPublishHandlerRefusesMassDeletion(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		files      int
		keep       int
		wantErr    string
		wantDelete int
	}{
		{"a release dropping a few outcodes", 300, 295, "", 5},
		{"half the outcodes missing", 300, 150, "refusing to delete 150 of 300 outcode files (more than 30)", 0},
		{"small prefix under the floor", 20, 0, "", 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, count := s3test.NewS3(t, "bucket")
			st := blob.NewS3(client, "bucket")
			var keep []string
			for i := range tc.files {
				oc := fmt.Sprintf("OC%d", i)
				if _, err := st.Put(ctx, "out/"+oc+".parquet", []byte(oc)); err != nil {
					t.Fatal(err)
				}
				if i < tc.keep {
					keep = append(keep, oc)
				}
			}
			if tc.keep == 0 {
				keep = []string{"NONE"}
			}
			for _, oc := range keep {
				if _, err := st.Put(ctx, "stage/"+oc+".parquet", []byte("new "+oc)); err != nil {
					t.Fatal(err)
				}
			}
			count.Reset()
			h := outcodes.PublishHandler{S3: client}
			out, err := h.Handle(ctx, outcodes.PublishEvent{Bucket: "bucket", StagingPrefix: "stage/", DestPrefix: "out/", Letters: []outcodes.Result{{Letter: "O", Outcodes: keep}}})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if n, m := count.Get("POST delete"), count.Get("PUT object"); n+m != 0 {
					t.Errorf("%d delete and %d copy requests after refusing", n, m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Deleted) != tc.wantDelete || len(out.Copied) != len(keep) {
				t.Errorf("deleted %d, copied %d; want %d, %d", len(out.Deleted), len(out.Copied), tc.wantDelete, len(keep))
			}
		})
	}
}
