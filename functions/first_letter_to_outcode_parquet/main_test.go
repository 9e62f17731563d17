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
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
	// The boundary-reviews layer's joined table and files, split by the
	// same Lambda with list_column boundary_reviews.
	brInPfx  = "addressbase/development/current_boundary_reviews_joined_to_address_base/first_letter=S/"
	brOutPfx = "addressbase/development/current_boundary_reviews_parquet/"
	// review is one boundary_reviews element: compact JSON, as the layer's
	// join writes it.
	review = `{"boundary_review_id":512,"slug":"westminster-2026","status":"CURRENT","boundary_review_details":{"consultation_url":"https://www.lgbce.org.uk/all-reviews/westminster","legislation_title":"","effective_date":"","organisation_name":"Westminster","organisation_official_name":"Westminster City Council","organisation_gss":"E09000033"},"changes":[{"division_type":"LBW","old_division_slug":"st-jamess","old_division_name":"St James's","old_division_official_identifier":"E05013806","old_divisionset_pmtiles_url":"https://s3.eu-west-2.amazonaws.com/ee.public.data/pmtiles-store/westminster_11_aaaa.pmtiles","new_division_slug":"st-jamess","new_division_name":"St James's","new_division_official_identifier":"E05099999","new_divisionset_pmtiles_url":"https://s3.eu-west-2.amazonaws.com/ee.public.data/pmtiles-store/westminster_22_bbbb.pmtiles","change_scenario":"BOUNDARY_CHANGED"}]}`
)

// letterS is letter S as two Athena-style objects, one row duplicated;
// list gives row 100 its list (a ballot id or a review) and every other
// row has none, so S1's file is empty.
func letterS(list string) map[string][]outcodes.Row {
	return map[string][]outcodes.Row{
		"20261126_000000_00001_aaaaa_1": {
			{UPRN: "100", Address: "1 High St", Postcode: "SW1A 1AA", AddressbaseSource: src, BallotIDs: []string{list}},
			{UPRN: "101", Address: "2 High St", Postcode: "SW1A 1AA", AddressbaseSource: src},
		},
		"20261126_000000_00001_aaaaa_2": {
			{UPRN: "200", Address: "Flat 1", Postcode: "S1 2AB", AddressbaseSource: src},
			{UPRN: "100", Address: "1 High St", Postcode: "SW1A 1AA", AddressbaseSource: src, BallotIDs: []string{list}},
		},
	}
}

// seed writes letter S of both layers' joined tables: ballot_ids under
// inPfx, boundary_reviews under brInPfx.
func seed(t *testing.T, st blob.Store) {
	put(t, st, inPfx, letterS("parl.cities-of-london-and-westminster.2026-05-07"))
	put(t, st, brInPfx, letterS(review), parquet.StructTag(`parquet:"boundary_reviews,list"`, "BallotIDs"))
}

func put(t *testing.T, st blob.Store, prefix string, files map[string][]outcodes.Row, opts ...parquet.WriterOption) {
	t.Helper()
	for name, rows := range files {
		var buf bytes.Buffer
		w := parquet.NewGenericWriter[outcodes.Row](&buf, append(opts, parquet.Compression(&parquet.Snappy))...)
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Put(context.Background(), prefix+name, buf.Bytes()); err != nil {
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
				for _, out := range []string{outPfx, brOutPfx} {
					objs, lerr := st.List(context.Background(), out)
					if lerr != nil || len(objs) != 0 {
						t.Errorf("a rejected event left %d objects under %s (%v)", len(objs), out, lerr)
					}
				}
			}
		})
	}
}

// TestInvokeWritesFiles checks the objects behind each split reply: the
// files, their list column and rows, and that a retry uploads nothing.
func TestInvokeWritesFiles(t *testing.T) {
	tests := []struct {
		payload, out, column string
		sw1a                 []string // row 100's list in SW1A.parquet
	}{
		{"testdata/split.json", outPfx, "ballot_ids", []string{"parl.cities-of-london-and-westminster.2026-05-07"}},
		{"testdata/split_boundary_reviews.json", brOutPfx, "boundary_reviews", []string{review}},
	}
	for _, tt := range tests {
		t.Run(tt.column, func(t *testing.T) {
			ctx := context.Background()
			client, count := s3test.NewS3(t, bucket)
			st := blob.NewS3(client, bucket)
			seed(t, st)
			h := outcodes.SplitHandler{S3: client, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
			invoke := lambda.NewHandler(h.Handle)
			if _, err := invoke.Invoke(ctx, lambdatest.Read(t, tt.payload)); err != nil {
				t.Fatal(err)
			}
			objs, err := st.List(ctx, tt.out)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, o := range objs {
				keys = append(keys, o.Key)
			}
			if diff := cmp.Diff([]string{tt.out + "S1.parquet", tt.out + "SW1A.parquet"}, keys); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			wantRows := map[string][]outcodes.OutRow{
				"S1": {}, // no list anywhere in the outcode: 0 rows
				"SW1A": {
					{UPRN: "100", Address: "1 High St", Postcode: "SW1A 1AA", AddressbaseSource: src, List: tt.sw1a, Outcode: "SW1A"},
					{UPRN: "101", Address: "2 High St", Postcode: "SW1A 1AA", AddressbaseSource: src, List: []string{}, Outcode: "SW1A"},
				},
			}
			for oc, want := range wantRows {
				obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(tt.out + oc + ".parquet")})
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(obj.Body)
				obj.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				got, err := outcodes.DecodeRows(tt.column, data)
				if err != nil {
					t.Fatalf("%s: %v", oc, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s rows (-want +got):\n%s", oc, diff)
				}
			}
			count.Reset()
			reply, err := invoke.Invoke(ctx, lambdatest.Read(t, tt.payload))
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
		})
	}
}
