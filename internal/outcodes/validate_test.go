package outcodes_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
)

// TestLambdaRefusesInvalidRows runs the outcode Lambda's handler, through
// its JSON boundary, against an in-process S3 (gofakes3), on a joined table
// holding one row that breaks a rule of internal/validate. The letter must
// fail naming the object, row and field, and write nothing: in particular
// "M/14 1EC" must never become the key current_elections_parquet/M/14.parquet.
func TestLambdaRefusesInvalidRows(t *testing.T) {
	good := in{UPRN: "1", Address: "a", Postcode: "M1 1AA", Source: src, List: []string{mayor}}
	for _, tc := range []struct {
		name, uprn, postcode, field string
	}{
		{"slash in outcode", "2", "M/14 1EC", "postcode"},
		{"no incode", "2", "M 9", "postcode"},
		{"dots", "2", "M.. 1EC", "postcode"},
		{"lower-case incode", "2", "ME14 1ec", "postcode"},
		{"double space", "2", "ME14  1EC", "postcode"},
		{"trailing space", "2", "ME14 1EC ", "postcode"},
		{"leading space", "2", " ME14 1EC", "postcode"},
		{"outcode too long", "2", "ME14A 1EC", "postcode"},
		{"uprn leading space", " 2", "M1 1AA", "uprn"},
		{"negative uprn", "-2", "M1 1AA", "uprn"},
		{"20-digit uprn", "12345678901234567890", "M1 1AA", "uprn"},
		{"exponent uprn", "2e5", "M1 1AA", "uprn"},
		{"BOM in uprn", "\ufeff2", "M1 1AA", "uprn"},
		{"bad filler", "ONSPD-M1", "M1 1AA", "uprn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			client, _ := s3test.NewS3(t, "bucket")
			st := blob.NewS3(client, "bucket")
			bad := good
			bad.UPRN, bad.Postcode = tc.uprn, tc.postcode
			putInput(t, st, srcPrefix, map[string][]byte{"bad.parquet": encodeInput(t, hiveSchema, []in{good, bad})})
			ev, _ := json.Marshal(outcodes.SplitEvent{Bucket: "bucket", SourcePrefix: "addressbase/test/current_ballots_joined_to_address_base/",
				DestPrefix: dstPrefix, FirstLetter: "M", ListColumn: "ballot_ids"})
			h := outcodes.SplitHandler{S3: client, Logger: quietLogger()}
			_, err := lambda.NewHandler(h.Handle).Invoke(ctx, ev)
			if err == nil {
				t.Fatal("the Lambda succeeded, want an error")
			}
			if want := "bad.parquet row 2 field " + tc.field; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
			objs, lerr := st.List(ctx, "addressbase/test/current_elections_parquet")
			if lerr != nil {
				t.Fatal(lerr)
			}
			if len(objs) != 0 {
				t.Errorf("wrote %v after a refused row, want nothing", objs)
			}
		})
	}
}
