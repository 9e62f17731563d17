package main

import (
	"github.com/DemocracyClub/dc-data-baker/internal/lambdatest"

	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
)

const (
	bucket = "pollingstations-test"
	src    = "s3://pollingstations.private.data/addressbase/2026-11/addressbase_cleaned/"
	inPfx  = "addressbase/development/current_ballots_joined_to_address_base/first_letter=S/"
	outPfx = "addressbase/development/current_elections_parquet/"
)

// seed writes letter S as two Athena-style objects, one row duplicated.
func seed(t *testing.T, st blob.Store) {
	files := map[string][]outcodes.Row{
		"20261126_000000_00001_aaaaa_1": {
			{UPRN: "100", Address: "1 High St", Postcode: "SW1A 1AA", AddressbaseSource: src, BallotIDs: []string{"parl.cities-of-london-and-westminster.2026-05-07"}},
			{UPRN: "101", Address: "2 High St", Postcode: "SW1A 1AA", AddressbaseSource: src},
		},
		"20261126_000000_00001_aaaaa_2": {
			{UPRN: "200", Address: "Flat 1", Postcode: "S1 2AB", AddressbaseSource: src},
			{UPRN: "100", Address: "1 High St", Postcode: "SW1A 1AA", AddressbaseSource: src, BallotIDs: []string{"parl.cities-of-london-and-westminster.2026-05-07"}},
		},
	}
	for name, rows := range files {
		var buf bytes.Buffer
		w := parquet.NewGenericWriter[outcodes.Row](&buf, parquet.Compression(&parquet.Snappy))
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Put(context.Background(), inPfx+name, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInvoke sends each testdata/<name>.json through the Lambda JSON
// boundary (see lambdatest); a rejected event must write nothing.
func TestInvoke(t *testing.T) {
	for _, p := range lambdatest.Payloads(t) {
		t.Run(lambdatest.Name(p), func(t *testing.T) {
			client, _ := s3test.NewS3(t, bucket)
			st := blob.NewS3(client, bucket)
			seed(t, st)
			h := outcodes.SplitHandler{S3: client, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}

			got, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), lambdatest.Read(t, p))

			if !lambdatest.Check(t, p, got, err) {
				objs, lerr := st.List(context.Background(), outPfx)
				if lerr != nil || len(objs) != 0 {
					t.Errorf("a rejected event left %d objects under %s (%v)", len(objs), outPfx, lerr)
				}
			}
		})
	}
}

// TestInvokeWritesFiles checks the objects behind the split.json reply.
func TestInvokeWritesFiles(t *testing.T) {
	ctx := context.Background()
	client, count := s3test.NewS3(t, bucket)
	st := blob.NewS3(client, bucket)
	seed(t, st)
	h := outcodes.SplitHandler{S3: client, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	invoke := lambda.NewHandler(h.Handle)
	if _, err := invoke.Invoke(ctx, lambdatest.Read(t, "testdata/split.json")); err != nil {
		t.Fatal(err)
	}
	objs, err := st.List(ctx, outPfx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	if diff := cmp.Diff([]string{outPfx + "S1.parquet", outPfx + "SW1A.parquet"}, keys); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	count.Reset()
	reply, err := invoke.Invoke(ctx, lambdatest.Read(t, "testdata/split.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res outcodes.Result
	if err := json.Unmarshal(reply, &res); err != nil {
		t.Fatal(err)
	}
	if res.Written != 0 || res.Unchanged != 2 || count.Get("PUT object") != 0 {
		t.Errorf("retry: written %d, unchanged %d, PutObject calls %d; want 0, 2, 0", res.Written, res.Unchanged, count.Get("PUT object"))
	}
}
