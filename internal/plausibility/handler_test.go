package plausibility_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/lambdatest"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/plausibility"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
)

const (
	bucket    = "pollingstations-test"
	eeBucket  = "ee-test"
	ballotKey = "ballots-with-wkt/current_elections.csv"
	joinedPfx = "addressbase/development/current_ballots_joined_to_address_base/"
	destPfx   = "addressbase/development/current_elections_parquet/"
	stagePfx  = "addressbase/development/staging/current_elections_parquet/"
	// manifestKey is the live manifest, beside the live folder.
	manifestKey = "addressbase/development/current_elections_manifest/manifest.json"
	fixtures    = "../../testdata/fixtures/"
)

// localBake bakes the fixture AddressBase with ballots into a new folder,
// accepting any change, and returns it.
func localBake(t *testing.T, ballots string) string {
	t.Helper()
	dir := t.TempDir()
	bp := filepath.Join(dir, "current_elections.csv")
	if err := os.WriteFile(bp, []byte(ballots), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	_, err := bake.Run(context.Background(), bake.Options{
		Inputs: map[string]string{addressbase.Input: fixtures + "addressbase_run1.csv", currentelections.BallotsInput: bp},
		Out:    out, AcceptChange: true, KeepIntermediate: true,
	}, layers.Bake())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// upload copies the files under dir/folder to S3 under prefix.
func upload(t *testing.T, st blob.Store, dir, folder, prefix string) {
	t.Helper()
	root := filepath.Join(dir, folder)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		_, err = st.Put(context.Background(), prefix+filepath.ToSlash(rel), data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// objects reads every object under prefix.
func objects(t *testing.T, st blob.Store, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	objs, err := st.List(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range objs {
		rc, err := st.Open(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[o.Key] = string(b)
	}
	return out
}

// TestGateLambda runs the gate through its JSON boundary against gofakes3,
// between the real split and publish Lambdas, on joined tables the local
// bake wrote: its manifest agrees with the bake's and goes live only with
// the publish; a planted 50% drop is refused with the live files and
// manifest untouched; {"accept_change": true} as the execution's input
// lets it through.
func TestGateLambda(t *testing.T) {
	ctx := context.Background()
	client, _ := s3test.NewS3(t, bucket, eeBucket)
	st, ee := blob.NewS3(client, bucket), blob.NewS3(client, eeBucket)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := plausibility.Handler{S3: client, Logger: log}
	// split runs the split Lambda for every letter of the joined table, as
	// the flow's Map does, and returns the Map's output.
	split := func(out string) []outcodes.Result {
		t.Helper()
		upload(t, st, out, currentelections.JoinedName, joinedPfx)
		var res []outcodes.Result
		for _, l := range []string{"A", "B", "C"} {
			r, err := outcodes.SplitHandler{S3: client, Logger: log}.Handle(ctx, outcodes.SplitEvent{
				Bucket: bucket, SourcePrefix: joinedPfx, DestPrefix: stagePfx, FirstLetter: l, ListColumn: currentelections.ListColumn,
				StatsPrefix: manifest.StatsPrefix(stagePfx),
			})
			if err != nil {
				t.Fatalf("split %s: %v", l, err)
			}
			res = append(res, r)
		}
		return res
	}
	// invoke runs the gate on the payload file with the Map's letters.
	invoke := func(payload string, letters []outcodes.Result) ([]byte, error) {
		var ev map[string]any
		if err := json.Unmarshal(lambdatest.Payload(t, "plausibility_gate", payload), &ev); err != nil {
			t.Fatal(err)
		}
		ev["letters"] = letters
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return lambda.NewHandler(h.Handle).Invoke(ctx, b)
	}
	publish := func(letters []outcodes.Result) {
		t.Helper()
		_, err := outcodes.PublishHandler{S3: client, Logger: log}.Handle(ctx, outcodes.PublishEvent{
			Bucket: bucket, StagingPrefix: stagePfx, DestPrefix: destPfx, Letters: letters,
			Manifest: &outcodes.ManifestCopy{From: manifest.Key(stagePfx), To: manifestKey},
		})
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
	}

	// Run 1: no manifest yet; the gate's manifest is the bake's.
	ballots := readFile(t, fixtures+"ballots.csv")
	out1 := localBake(t, ballots)
	if _, err := ee.Put(ctx, ballotKey, []byte(ballots)); err != nil {
		t.Fatal(err)
	}
	letters := split(out1)
	// A file a failed run left in staging, of an outcode this run did not
	// write, is not this run's: the gate neither reads nor lists it.
	if _, err := st.Put(ctx, stagePfx+"ZZ9.parquet", []byte("not this run's")); err != nil {
		t.Fatal(err)
	}
	if _, err := invoke("gate.json", letters); err != nil {
		t.Fatalf("first run: %v", err)
	}
	if m, err := manifest.Load(ctx, st, manifestKey); err != nil || m != nil {
		t.Fatalf("the gate published the manifest before the files: %v, %v", m, err)
	}
	publish(letters)
	got, err := manifest.Load(ctx, st, manifestKey)
	if err != nil || got == nil {
		t.Fatalf("manifest %s: %v, %v", manifestKey, got, err)
	}
	want, err := manifest.Load(ctx, blob.NewDir(out1), "current_elections_manifest/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want.Outcodes, got.Outcodes); d != "" {
		t.Errorf("the Lambda's outcodes differ from the bake's (-bake +lambda):\n%s", d)
	}
	if d := cmp.Diff(want.Totals, got.Totals); d != "" {
		t.Errorf("the Lambda's totals differ from the bake's (-bake +lambda):\n%s", d)
	}
	if d := cmp.Diff(want.Items, got.Items); d != "" {
		t.Errorf("items (-bake +lambda):\n%s", d)
	}
	if len(got.Inputs) != 2 || got.Inputs[1].URI != "s3://"+eeBucket+"/"+ballotKey || got.Inputs[1].Size != int64(len(ballots)) || !strings.HasPrefix(got.Inputs[1].Hash, "sha256:") {
		t.Errorf("inputs = %+v", got.Inputs)
	}

	// Run 2: half the UPRNs with ballots lose them.
	lines := strings.SplitAfter(ballots, "\n")
	drop := lines[0] + strings.Join(lines[3:], "")
	if _, err := ee.Put(ctx, ballotKey, []byte(drop)); err != nil {
		t.Fatal(err)
	}
	before := objects(t, st, "addressbase/development/current_elections_")
	letters = split(localBake(t, drop))
	_, err = invoke("gate.json", letters)
	for _, w := range []string{"plausibility gate refused current_elections_parquet", "moved from 46.2% (6 of 13) to 23.1% (3 of 13)", `{"accept_change": true}`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("planted drop: err = %v, want it to say %q", err, w)
		}
	}
	if d := cmp.Diff(before, objects(t, st, "addressbase/development/current_elections_")); d != "" {
		t.Errorf("a refused gate changed the live files or manifest (-before +after):\n%s", d)
	}

	// The operator accepts it.
	reply, err := invoke("gate_accept.json", letters)
	if err != nil {
		t.Fatalf("accept_change: %v", err)
	}
	if !bytes.Contains(reply, []byte(`"uprns_lost_item":4`)) || !bytes.Contains(reply, []byte(`"accepted_findings":["the share of UPRNs with ballot_ids moved`)) {
		t.Errorf("reply = %s", reply)
	}
	publish(letters)
	m, err := manifest.Load(ctx, st, manifestKey)
	if err != nil || m == nil || len(m.Accepted) != 2 || m.Totals.RowsWithItems != 3 {
		t.Errorf("manifest after accept_change: %+v, %v", m, err)
	}
}

// TestGateLambdaRejects: a bad event fails before anything is read or
// written.
func TestGateLambdaRejects(t *testing.T) {
	client, _ := s3test.NewS3(t, bucket)
	h := plausibility.Handler{S3: client, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	for _, p := range []string{"missing_bucket.json", "same_prefix.json", "no_letters.json"} {
		t.Run(p, func(t *testing.T) {
			got, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), lambdatest.Payload(t, "plausibility_gate", p))
			if lambdatest.Check(t, filepath.Join("../../functions/plausibility_gate/testdata", p), got, err) {
				t.Error("a bad event succeeded")
			}
			if keys := s3test.Keys(t, client, bucket); len(keys) != 0 {
				t.Errorf("a rejected event wrote %q", keys)
			}
		})
	}
}

var _ blob.S3API = (*s3.Client)(nil)

// TestGateLambdaNeedsEachLettersStats: a letter whose split reported
// outcodes but whose stats are missing, or name other outcodes, fails the
// gate, which writes nothing.
func TestGateLambdaNeedsEachLettersStats(t *testing.T) {
	ctx := context.Background()
	client, _ := s3test.NewS3(t, bucket)
	st := blob.NewS3(client, bucket)
	h := plausibility.Handler{S3: client, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	ev := plausibility.Event{
		Bucket: bucket, StagingPrefix: stagePfx, DestPrefix: destPfx, StatsPrefix: manifest.StatsPrefix(stagePfx),
		ListColumn: currentelections.ListColumn, Letters: []outcodes.Result{{Letter: "A", Rows: 2, Outcodes: []string{"AA1", "AA2"}}},
	}
	if _, err := h.Handle(ctx, ev); err == nil || !strings.Contains(err.Error(), "letter A's stats") {
		t.Errorf("no stats: err = %v, want it to name letter A's stats", err)
	}
	key := outcodes.StatsKey(ev.StatsPrefix, "A")
	if _, err := st.Put(ctx, key, []byte(`{"first_letter":"A","outcodes":{"AA1":{"sha256":"x"},"AA3":{"sha256":"y"}}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, ev); err == nil || !strings.Contains(err.Error(), key+": no stats of outcode AA2") {
		t.Errorf("other outcodes' stats: err = %v, want it to name AA2", err)
	}
	if keys := s3test.Keys(t, client, bucket); len(keys) != 1 {
		t.Errorf("the failed gate wrote %q", keys)
	}
}
