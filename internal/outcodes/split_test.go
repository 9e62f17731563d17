package outcodes_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/gates"
	"github.com/DemocracyClub/dc-data-baker/internal/golden"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

const (
	srcPrefix = "addressbase/test/current_ballots_joined_to_address_base/first_letter=M/"
	dstPrefix = "addressbase/test/current_elections_parquet/"
	parl      = "parl.maidstone-and-malling.2026-05-07"
	local     = "local.maidstone.detling-thurnham.2026-05-07"
	mayor     = "mayor.greater-manchester.2026-05-07"
	parlM     = "parl.manchester-central.2026-05-07"
)

// listCase is one layer's list column and what its elements look like.
// The fixtures are written with ballot ids; item turns each into the
// column's element, so every case meets the same rows, duplicates, null
// and empty lists, and 0-row outcode.
type listCase struct {
	column string
	item   func(ballotID string) string
	// golden is the folder of the case's golden files.
	golden string
}

var (
	ballotIDs       = listCase{column: "ballot_ids", item: func(id string) string { return id }, golden: "testdata"}
	boundaryReviews = listCase{column: "boundary_reviews", item: reviewJSON, golden: filepath.Join("testdata", "boundary_reviews")}
	listCases       = []listCase{ballotIDs, boundaryReviews}
)

// reviews are boundary_reviews elements as the contract shapes them
// (compact JSON, keys in the contract's order), standing in for the
// fixtures' ballot ids. The order of their ids differs from the ballot
// ids' order, so the elements are sorted afresh; two have no changes.
var reviews = map[string]string{
	local:                     `{"boundary_review_id":41,"slug":"maidstone-2026","status":"CURRENT","boundary_review_details":{"consultation_url":"https://www.lgbce.org.uk/all-reviews/maidstone","legislation_title":"","effective_date":"","organisation_name":"Maidstone","organisation_official_name":"Maidstone Borough Council","organisation_gss":"E07000110"},"changes":[]}`,
	parl:                      `{"boundary_review_id":9,"slug":"kent-2025","status":"COMPLETED","boundary_review_details":{"consultation_url":"","legislation_title":"The Kent (Electoral Changes) Order 2025","effective_date":"2027-05-06","organisation_name":"Kent","organisation_official_name":"Kent County Council","organisation_gss":"E10000016"},"changes":[{"division_type":"CED","old_division_slug":"maidstone-rural-north","old_division_name":"Maidstone Rural North","old_division_official_identifier":"E58000712","old_divisionset_pmtiles_url":"https://s3.eu-west-2.amazonaws.com/ee.public.data/pmtiles-store/kent_101_aaaa.pmtiles","new_division_slug":"detling-and-thurnham","new_division_name":"Detling & Thurnham","new_division_official_identifier":"E58001555","new_divisionset_pmtiles_url":"https://s3.eu-west-2.amazonaws.com/ee.public.data/pmtiles-store/kent_202_bbbb.pmtiles","change_scenario":"BOTH_CHANGED"}]}`,
	mayor:                     `{"boundary_review_id":130,"slug":"manchester-2026","status":"CURRENT","boundary_review_details":{"consultation_url":"https://www.lgbce.org.uk/all-reviews/manchester","legislation_title":"","effective_date":"","organisation_name":"Manchester","organisation_official_name":"Manchester City Council","organisation_gss":"E08000003"},"changes":[]}`,
	parlM:                     `{"boundary_review_id":7,"slug":"manchester-wards-2024","status":"COMPLETED","boundary_review_details":{"consultation_url":"","legislation_title":"The Manchester (Electoral Changes) Order 2024","effective_date":"2026-12-01","organisation_name":"Manchester","organisation_official_name":"Manchester City Council","organisation_gss":"E08000003"},"changes":[{"division_type":"MTW","old_division_slug":"piccadilly","old_division_name":"Piccadilly","old_division_official_identifier":"E05011375","old_divisionset_pmtiles_url":"https://s3.eu-west-2.amazonaws.com/ee.public.data/pmtiles-store/manchester_55_cccc.pmtiles","new_division_slug":"piccadilly","new_division_name":"Piccadilly","new_division_official_identifier":"E05015001","new_divisionset_pmtiles_url":"https://s3.eu-west-2.amazonaws.com/ee.public.data/pmtiles-store/manchester_77_dddd.pmtiles","change_scenario":"BOUNDARY_CHANGED"}]}`,
	"local.medway.2026-05-07": `{"boundary_review_id":88,"slug":"medway-2026","status":"CURRENT","boundary_review_details":{"consultation_url":"","legislation_title":"","effective_date":"","organisation_name":"Medway","organisation_official_name":"Medway Council","organisation_gss":"E06000035"},"changes":[]}`,
}

func reviewJSON(ballotID string) string {
	r, ok := reviews[ballotID]
	if !ok {
		panic("no review stands in for " + ballotID)
	}
	return r
}

// items maps ballot ids to lc's elements, keeping nil and "<null>".
func (lc listCase) items(ids []string) []string {
	if ids == nil {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		if id != "<null>" {
			out[i] = lc.item(id)
		}
	}
	return out
}

// fileItems is items as a file holds them: in the joined table's order
// (each layer's query sorts its list; Split keeps it), never nil.
func (lc listCase) fileItems(ids ...string) []string {
	return append([]string{}, lc.items(ids)...)
}

// The input schemas, in the order inputSchemas returns them.
const (
	hiveInput = iota
	bagInput
	orderedInput
	legacyInput
)

// input encodes rows with one of inputSchemas(lc.column) and lc's
// elements.
func (lc listCase) input(t testing.TB, schema int, rows []in) []byte {
	t.Helper()
	hive, bag, ordered, legacy := inputSchemas(lc.column)
	mapped := make([]in, len(rows))
	for i, r := range rows {
		r.List = lc.items(r.List)
		mapped[i] = r
	}
	return encodeInput(t, []*parquet.Schema{hive, bag, ordered, legacy}[schema], mapped)
}

// letterM is one letter's input for CurrentElections; letterFor gives it
// for any list column.
func letterM(t testing.TB) map[string][]byte { return letterFor(t, ballotIDs) }

// letterFor is one letter's input spread over four objects with different
// writers' schemas and unsorted rows, including an identical duplicate
// (0123), null and empty lists, a null address and a filler row.
func letterFor(t testing.TB, lc listCase) map[string][]byte {
	return map[string][]byte{
		"20261126_101010_00001_abcde_1": lc.input(t, hiveInput, []in{
			{UPRN: "200003721912", Address: "FRINSBURY HOUSE, COX STREET, DETLING, MAIDSTONE", Postcode: "ME14 3HE", Source: src, List: []string{local, parl}},
			{UPRN: "0123", Address: "1 Piccadilly", Postcode: "M1 1AA", Source: src, List: []string{mayor}},
			{UPRN: "ONSPD-ME11AB", Postcode: "ME1 1AB", Source: src, NullAddress: true, NullList: true},
			{UPRN: "9", Address: "9 HIGH ST", Postcode: "ME14 1AA", Source: src, NullList: true},
		}),
		"20261126_101010_00001_abcde_2": lc.input(t, orderedInput, []in{
			{UPRN: "10000000001", Address: "Flat 2, Maison Été", Postcode: "ME14 1AA", Source: src, List: []string{parl}},
		}),
		"20261126_101010_00001_abcde_0": lc.input(t, bagInput, []in{
			{UPRN: "777", Address: "7 Rochester Rd", Postcode: "ME1 1AB", Source: src, List: nil},
			{UPRN: "55", Address: "55 Oxford Rd", Postcode: "M1 2BB", Source: src, List: []string{parlM, mayor}}, // kept in this order, not re-sorted
		}),
		"20261126_101010_00001_abcde_3": lc.input(t, legacyInput, []in{
			{UPRN: "200003721900", Address: "1 COX STREET", Postcode: "ME14 3HE", Source: src, List: []string{local, parl}},
			{UPRN: "0123", Address: "1 Piccadilly", Postcode: "M1 1AA", Source: src, List: []string{mayor}},
		}),
	}
}

// wantM is the expected content of each CurrentElections file.
var wantM = wantFor(ballotIDs)

// wantFor is the expected content of each file of letterFor(lc).
func wantFor(lc listCase) map[string][]outcodes.OutRow {
	it := lc.fileItems
	return map[string][]outcodes.OutRow{
		"M1": {
			{UPRN: "0123", Address: "1 Piccadilly", Postcode: "M1 1AA", AddressbaseSource: src, List: it(mayor), Outcode: "M1"},
			{UPRN: "55", Address: "55 Oxford Rd", Postcode: "M1 2BB", AddressbaseSource: src, List: it(parlM, mayor), Outcode: "M1"},
		},
		"ME1": {}, // every list in the outcode empty: an empty file
		"ME14": {
			{UPRN: "10000000001", Address: "Flat 2, Maison Été", Postcode: "ME14 1AA", AddressbaseSource: src, List: it(parl), Outcode: "ME14"},
			{UPRN: "9", Address: "9 HIGH ST", Postcode: "ME14 1AA", AddressbaseSource: src, List: it(), Outcode: "ME14"},
			{UPRN: "200003721900", Address: "1 COX STREET", Postcode: "ME14 3HE", AddressbaseSource: src, List: it(local, parl), Outcode: "ME14"},
			{UPRN: "200003721912", Address: "FRINSBURY HOUSE, COX STREET, DETLING, MAIDSTONE", Postcode: "ME14 3HE", AddressbaseSource: src, List: it(local, parl), Outcode: "ME14"},
		},
	}
}

func inputStats() gates.UPRNStats {
	var s gates.UPRNStats
	for _, u := range []string{"200003721912", "0123", "ONSPD-ME11AB", "9", "55", "10000000001", "777", "200003721900", "0123"} {
		s.Add(u)
	}
	return gates.UPRNStats{Rows: s.Rows, Distinct: s.Distinct, Checksum: s.Checksum}
}

// readOutput reads a produced file with parquet-go's low-level API,
// independently of OutRow, checking the schema polars needs with col as
// the list column.
func readOutput(t testing.TB, col, name string, data []byte) []outcodes.OutRow {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: open: %v", name, err)
	}
	wantCols := [][]string{{"uprn"}, {"address"}, {"postcode"}, {"addressbase_source"}, {col, "list", "element"}, {"outcode"}}
	if diff := cmp.Diff(wantCols, f.Schema().Columns()); diff != "" {
		t.Fatalf("%s: columns (-want +got):\n%s", name, diff)
	}
	for _, c := range wantCols {
		leaf, _ := f.Schema().Lookup(c...)
		if lt := leaf.Node.Type().LogicalType(); lt == nil || !isType[*format.StringType](lt) {
			t.Errorf("%s: column %v has logical type %v, want STRING", name, c, lt)
		}
		if leaf.Node.Optional() {
			t.Errorf("%s: column %v is optional, want required (never null)", name, c)
		}
	}
	bl := f.Schema().Fields()[4]
	if lt := bl.Type().LogicalType(); bl.Name() != col || lt == nil || !isType[*format.ListType](lt) || bl.Optional() {
		t.Errorf("%s: field 5 is %s, want a required LIST named %s", name, bl, col)
	}
	if cb := f.Metadata().CreatedBy; strings.Contains(cb, "parquet-go") {
		t.Errorf("%s: created_by %q carries the library build", name, cb)
	}
	var out []outcodes.OutRow
	buf := make([]parquet.Row, 64)
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			for _, r := range buf[:n] {
				o := outcodes.OutRow{List: []string{}}
				for _, v := range r {
					s := string(v.ByteArray())
					switch v.Column() {
					case 0:
						o.UPRN = s
					case 1:
						o.Address = s
					case 2:
						o.Postcode = s
					case 3:
						o.AddressbaseSource = s
					case 4:
						if !v.IsNull() {
							o.List = append(o.List, s)
						}
					case 5:
						o.Outcode = s
					}
				}
				out = append(out, o)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: read: %v", name, err)
			}
		}
		rows.Close()
	}
	if int64(len(out)) != f.NumRows() {
		t.Errorf("%s: read %d rows, metadata says %d", name, len(out), f.NumRows())
	}
	if out == nil {
		out = []outcodes.OutRow{}
	}
	return out
}

func isType[T format.LogicalTypeValue](lt *format.LogicalType) bool {
	_, ok := lt.Value.(T)
	return ok
}

// readAll returns every object under prefix.
func readAll(t testing.TB, st blob.Store, prefix string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	objs, err := st.List(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, o := range objs {
		rc, err := st.Open(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(o.Key, prefix)] = data
	}
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func TestSplit(t *testing.T) {
	for _, lc := range listCases {
		t.Run(lc.column, func(t *testing.T) { testSplit(t, lc) })
	}
}

func testSplit(t *testing.T, lc listCase) {
	ctx := context.Background()
	client, count := s3test.NewS3(t, "bucket")
	s3store := blob.NewS3(client, "bucket")
	dir := blob.NewDir(t.TempDir())
	outputs := map[string]map[string][]byte{}

	for name, st := range map[string]blob.Store{"s3": s3store, "dir": dir} {
		t.Run(name, func(t *testing.T) {
			putInput(t, st, srcPrefix, letterFor(t, lc))
			// Side files Athena or Hadoop may leave are ignored.
			putInput(t, st, srcPrefix, map[string][]byte{"_SUCCESS": []byte("x")})
			var logs bytes.Buffer
			input := outcodes.SplitInput{Src: st, SrcPrefix: srcPrefix, Dst: st, DstPrefix: dstPrefix, Letter: "M",
				ListColumn: lc.column, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}

			res, err := outcodes.Split(ctx, input)
			if err != nil {
				t.Fatal(err)
			}
			want := outcodes.Result{Letter: "M", Rows: 8, DuplicatesDropped: 1, Outcodes: []string{"M1", "ME1", "ME14"},
				Written: 3, Empty: 1, AddressbaseSource: src, Input: inputStats()}
			if diff := cmp.Diff(want, res, cmpopts.IgnoreUnexported(gates.UPRNStats{}), cmpopts.IgnoreFields(outcodes.Result{}, "Stats")); diff != "" {
				t.Errorf("first run result (-want +got):\n%s", diff)
			}
			if !strings.Contains(logs.String(), `"level":"WARN","msg":"identical duplicate uprns dropped","letter":"M","count":1,"examples":["0123"]`) {
				t.Errorf("duplicate report missing from logs:\n%s", logs.String())
			}

			files := readAll(t, st, dstPrefix)
			got := map[string][]outcodes.OutRow{}
			for k, data := range files {
				got[strings.TrimSuffix(k, ".parquet")] = readOutput(t, lc.column, k, data)
			}
			if diff := cmp.Diff(wantFor(lc), got); diff != "" {
				t.Errorf("output files (-want +got):\n%s", diff)
			}
			outputs[name] = files

			// A second run over the same input changes nothing and, on S3,
			// uploads nothing.
			count.Reset()
			res2, err := outcodes.Split(ctx, input)
			if err != nil {
				t.Fatal(err)
			}
			want.Written, want.Unchanged = 0, 3
			if diff := cmp.Diff(want, res2, cmpopts.IgnoreUnexported(gates.UPRNStats{}), cmpopts.IgnoreFields(outcodes.Result{}, "Stats")); diff != "" {
				t.Errorf("second run result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(files, readAll(t, st, dstPrefix)); diff != "" {
				t.Errorf("second run changed bytes")
			}
			if name == "s3" {
				if n := count.Get("PUT object"); n != 0 {
					t.Errorf("second run made %d PutObject calls, want 0", n)
				}
				if n := count.Get("HEAD object"); n != 3 {
					t.Errorf("second run made %d HeadObject calls, want 3", n)
				}
			}
		})
	}
	if diff := cmp.Diff(outputs["s3"], outputs["dir"]); diff != "" {
		t.Error("S3 and directory runs wrote different bytes")
	}

	// Golden bytes: a change here means every consumer re-downloads every
	// file, so it must be deliberate (go test -update).
	for _, oc := range []string{"ME14", "ME1"} {
		golden.Check(t, filepath.Join(lc.golden, oc+".parquet"), outputs["dir"][oc+".parquet"])
	}
}

// TestSplitUpdatesChangedFiles checks that only outcodes whose rows
// changed are rewritten.
func TestSplitUpdatesChangedFiles(t *testing.T) {
	ctx := context.Background()
	st := blob.NewDir(t.TempDir())
	putInput(t, st, srcPrefix, letterM(t))
	input := outcodes.SplitInput{Src: st, SrcPrefix: srcPrefix, Dst: st, DstPrefix: dstPrefix, Letter: "M", ListColumn: "ballot_ids", Logger: quietLogger()}
	if _, err := outcodes.Split(ctx, input); err != nil {
		t.Fatal(err)
	}
	// A new ballot in ME1 turns its empty file into data; others stay.
	putInput(t, st, srcPrefix, map[string][]byte{"20261126_101010_00001_abcde_4": encodeInput(t, hiveSchema, []in{
		{UPRN: "888", Address: "8 Rochester Rd", Postcode: "ME1 1AB", Source: src, List: []string{"local.medway.2026-05-07"}},
	})})
	res, err := outcodes.Split(ctx, input)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 1 || res.Unchanged != 2 || res.Empty != 0 {
		t.Errorf("written/unchanged/empty = %d/%d/%d, want 1/2/0", res.Written, res.Unchanged, res.Empty)
	}
	got := readOutput(t, "ballot_ids", "ME1", readAll(t, st, dstPrefix)["ME1.parquet"])
	want := []outcodes.OutRow{
		{UPRN: "777", Address: "7 Rochester Rd", Postcode: "ME1 1AB", AddressbaseSource: src, List: []string{}, Outcode: "ME1"},
		{UPRN: "888", Address: "8 Rochester Rd", Postcode: "ME1 1AB", AddressbaseSource: src, List: []string{"local.medway.2026-05-07"}, Outcode: "ME1"},
		{UPRN: "ONSPD-ME11AB", Address: "", Postcode: "ME1 1AB", AddressbaseSource: src, List: []string{}, Outcode: "ME1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ME1 (-want +got):\n%s", diff)
	}
}

// TestSplitRejects covers input that must fail the letter before anything
// is written, with an error naming the problem.
func TestSplitRejects(t *testing.T) {
	good := in{UPRN: "1", Address: "a", Postcode: "M1 1AA", Source: src, List: []string{mayor}}
	with := func(f func(*in)) in { r := good; f(&r); return r }
	brHive, _, _, _ := inputSchemas("boundary_reviews")
	review := func(id string) []string { return []string{reviewJSON(id)} }
	tests := []struct {
		name    string
		schema  *parquet.Schema
		rows    []in
		wantErr []string
		// column is the list column Split is asked for; "" is ballot_ids.
		column string
	}{
		{"conflicting duplicate", hiveSchema, []in{good, with(func(r *in) { r.Address = "b" }), {UPRN: "2", Postcode: "M2 2BB", Source: src},
			{UPRN: "2", Postcode: "M2 2BB", Source: src, List: []string{mayor}},
			{UPRN: "3", Postcode: "M3 3CC", Source: src}, {UPRN: "3", Postcode: "M33 3CC", Source: src}, // moved postcode
			{UPRN: "4", Postcode: "M4 4DD", Source: src}, {UPRN: "4", Postcode: "M4 4DD", Source: src}}, // identical: not a conflict
			[]string{"letter M", "3 uprns have conflicting duplicate rows", "e.g. 1, 2, 3;", "nothing was written"}, ""},
		{"two sources", hiveSchema, []in{good, with(func(r *in) { r.UPRN = "2"; r.Source = "s3://other/" })},
			[]string{"letter M", "want exactly one source, found 2", `"s3://other/" (1 rows)`}, ""},
		{"postcode without space", hiveSchema, []in{good, with(func(r *in) { r.UPRN = "2"; r.Postcode = "M11AA" })},
			[]string{"bad.parquet row 2 field postcode", `"M11AA"`, "uprn 2"}, ""},
		{"postcode of another letter", hiveSchema, []in{with(func(r *in) { r.Postcode = "N1 1AA" })},
			[]string{"bad.parquet row 1 field postcode", `does not start with partition letter "M"`}, ""},
		{"empty uprn", hiveSchema, []in{good, with(func(r *in) { r.UPRN = "" })},
			[]string{"bad.parquet row 2 field uprn: empty"}, ""},
		{"null ballot id", hiveSchema, []in{with(func(r *in) { r.List = []string{mayor, "<null>"} })},
			[]string{"bad.parquet row 1 field ballot_ids: null element in list"}, ""},
		{"null boundary review", brHive, []in{with(func(r *in) { r.List = append(review(mayor), "<null>") })},
			[]string{"bad.parquet row 1 field boundary_reviews: null element in list"}, "boundary_reviews"},
		// Conflicts compare the whole list, here one JSON element that
		// differs in one change, and an empty list against one empty string.
		{"conflicting boundary reviews", brHive, []in{
			with(func(r *in) { r.List = review(parl) }),
			with(func(r *in) { r.List = []string{strings.Replace(reviewJSON(parl), "BOTH_CHANGED", "NAME_CHANGED", 1)} }),
			{UPRN: "2", Postcode: "M2 2BB", Source: src, List: []string{}}, {UPRN: "2", Postcode: "M2 2BB", Source: src, List: []string{""}},
			{UPRN: "4", Postcode: "M4 4DD", Source: src, List: review(local)}, {UPRN: "4", Postcode: "M4 4DD", Source: src, List: review(local)}}, // identical: not a conflict
			[]string{"letter M", "2 uprns have conflicting duplicate rows", "e.g. 1, 2;"}, "boundary_reviews"},
		// A table whose list column is not the one asked for is refused:
		// it must not be published as a file of empty lists.
		{"ballots table read as boundary reviews", hiveSchema, []in{good},
			[]string{"bad.parquet", `column "boundary_reviews": want one list<string> leaf, found 0 leaves`}, "boundary_reviews"},
		{"boundary reviews table read as ballots", brHive, []in{good},
			[]string{"bad.parquet", `column "ballot_ids": want one list<string> leaf, found 0 leaves`}, ""},
		{"list column not an identifier", hiveSchema, []in{good},
			[]string{"letter M", `list column "ballot-ids": want a plain lower-case identifier`}, "ballot-ids"},
		{"list column named like another column", hiveSchema, []in{good},
			[]string{"letter M", `list column "postcode": clashes with another column`}, "postcode"},
		{"missing column", parquet.SchemaOf(struct {
			UPRN     string `parquet:"uprn"`
			Postcode string `parquet:"postcode"`
		}{}), nil, []string{"bad.parquet", `missing column "address"`}, ""},
		{"not parquet", nil, nil, []string{"open parquet", "bad.parquet"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st := blob.NewDir(t.TempDir())
			var data []byte
			switch {
			case tt.schema == nil:
				data = []byte("uprn,address\n1,a\n")
			case tt.rows == nil:
				var buf bytes.Buffer
				w := parquet.NewWriter(&buf, tt.schema)
				w.Close()
				data = buf.Bytes()
			default:
				data = encodeInput(t, tt.schema, tt.rows)
			}
			putInput(t, st, srcPrefix, map[string][]byte{"bad.parquet": data})
			column := tt.column
			if column == "" {
				column = "ballot_ids"
			}
			_, err := outcodes.Split(ctx, outcodes.SplitInput{Src: st, SrcPrefix: srcPrefix, Dst: st, DstPrefix: dstPrefix, Letter: "M", ListColumn: column, Logger: quietLogger()})
			if err == nil {
				t.Fatal("Split succeeded, want an error")
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if out := readAll(t, st, dstPrefix); len(out) != 0 {
				t.Errorf("wrote %d files after a failed check, want none", len(out))
			}
		})
	}
}

func TestSplitEmptyLetter(t *testing.T) {
	st := blob.NewDir(t.TempDir())
	res, err := outcodes.Split(context.Background(), outcodes.SplitInput{Src: st, SrcPrefix: srcPrefix, Dst: st, DstPrefix: dstPrefix, Letter: "M", ListColumn: "ballot_ids", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(outcodes.Result{Letter: "M", Outcodes: []string{}}, res, cmpopts.IgnoreUnexported(gates.UPRNStats{})); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestEncodeRowsDeterministic(t *testing.T) {
	for _, lc := range listCases {
		t.Run(lc.column, func(t *testing.T) {
			rows := wantFor(lc)["ME14"]
			a := mustEncode(t, lc.column, rows)
			b := mustEncode(t, lc.column, append([]outcodes.OutRow(nil), rows...))
			if !bytes.Equal(a, b) {
				t.Error("same rows gave different bytes")
			}
			// DecodeRows reads the rows back under the same column.
			got, err := outcodes.DecodeRows(lc.column, a)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rows, got); diff != "" {
				t.Errorf("DecodeRows (-want +got):\n%s", diff)
			}
			// A nil list is written as [], never null.
			got = readOutput(t, lc.column, "nil-list", mustEncode(t, lc.column, []outcodes.OutRow{{UPRN: "1", Postcode: "M1 1AA", Outcode: "M1"}}))
			if diff := cmp.Diff([]outcodes.OutRow{{UPRN: "1", Postcode: "M1 1AA", Outcode: "M1", List: []string{}}}, got); diff != "" {
				t.Errorf("nil list (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeDecodeRejectListColumn(t *testing.T) {
	data := mustEncode(t, "ballot_ids", wantM["ME14"])
	if _, err := outcodes.DecodeRows("boundary_reviews", data); err == nil || !strings.Contains(err.Error(), `no list column "boundary_reviews"`) {
		t.Errorf("DecodeRows with another column: error %v, want it named", err)
	}
	for _, bad := range []string{"", "Ballot_IDs", "ballot ids", "1st", "outcode", `x"y`} {
		if _, err := outcodes.EncodeRows(bad, nil); err == nil || !strings.Contains(err.Error(), "list column") {
			t.Errorf("EncodeRows(%q): error %v, want a list column error", bad, err)
		}
	}
}

func mustEncode(t testing.TB, col string, rows []outcodes.OutRow) []byte {
	t.Helper()
	data, err := outcodes.EncodeRows(col, rows)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
