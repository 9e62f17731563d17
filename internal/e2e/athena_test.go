package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/ballots"
	"github.com/DemocracyClub/dc-data-baker/internal/gates"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
	dcsql "github.com/DemocracyClub/dc-data-baker/sql"
)

// namedQuery is an Athena named query as the stack deploys it: the real
// template rendered with the layer's values (see components/layers).
type namedQuery struct {
	NamedQueryID string `json:"NamedQueryId"`
	Name         string `json:"Name"`
	Database     string `json:"Database"`
	QueryString  string `json:"QueryString"`
	WorkGroup    string `json:"WorkGroup"`
}

// execution is one started query and what it came to.
type execution struct {
	query  string // as submitted, with any trailing comment
	sql    string // without it
	name   string // named query, or "msck"
	letter string // first_letter, for the join
	state  string
	reason string
}

// label is "name" or "name/letter".
func (e *execution) label() string {
	if e.letter != "" {
		return e.name + "/" + e.letter
	}
	return e.name
}

// fakeAthena speaks Athena's JSON 1.1 protocol. When a query starts it
// performs it in Go against the fake S3, so the Lambdas downstream read
// real parquet: the partition and the per-letter join write their tables,
// the gates compute their checks from what is in S3, MSCK succeeds.
type fakeAthena struct {
	*awsfake.Server
	s3 *s3.Client
	sc scenario
	ab []addressbase.Record

	mu      sync.Mutex
	queries []namedQuery
	execs   map[string]*execution
	order   []string // execution ids in start order
	refused int      // StartQueryExecution calls throttled so far
}

func newFakeAthena(t *testing.T, client *s3.Client, sc scenario) *fakeAthena {
	t.Helper()
	f := &fakeAthena{s3: client, sc: sc, ab: readFixture(t), execs: map[string]*execution{}}
	for _, r := range f.ab {
		if r.UPRN == sc.moveCopy.uprn {
			r.Postcode = sc.moveCopy.postcode
			r.Outcode, _, _ = strings.Cut(r.Postcode, " ")
			r.FirstLetter = r.Postcode[:1]
			f.ab = append(f.ab, r)
			break
		}
	}
	raw := addressbase.Raw(buckets)
	partitioned := addressbase.Partitioned(buckets)
	ballotsTable := currentelections.Ballots(buckets)
	joined := currentelections.Joined(buckets)
	for tb, want := range map[*tables.Table]string{&raw: cleanedPrefix, &partitioned: partitionedPrefix, &joined: joinedPrefix, &ballotsTable: "ballots-with-wkt/"} {
		if got := prefix(t, *tb); got != want {
			t.Fatalf("table %s prefix %q, the test uses %q", tb.Name, got, want)
		}
	}
	// The named queries exactly as the layers declare them.
	settings := layer.Settings{Names: layer.NamesFor("production"), Vars: vars, Buckets: buckets, Schedule: "rate(1 day)"}
	specs, err := layers.Specs(settings)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range specs {
		for _, d := range spec.Queries {
			q, err := dcsql.Render(d.Template, d.Values)
			if err != nil {
				t.Fatal(err)
			}
			f.queries = append(f.queries, namedQuery{NamedQueryID: fmt.Sprintf("nq-%d", len(f.queries)+1), Name: d.Name, Database: database, QueryString: q, WorkGroup: workgroup})
		}
	}
	if sc.foreignQuery != "" {
		q := "SELECT 1\n-- dc-data-baker execution " + sc.foreignQuery
		f.execs["exec-foreign"] = &execution{query: q, sql: "SELECT 1", name: "foreign", state: "RUNNING"}
		f.order = append(f.order, "exec-foreign")
	}
	f.Server = awsfake.New(awsfake.JSON11, awsfake.Routes{
		"AmazonAthena.ListNamedQueries":    f.listNamedQueries,
		"AmazonAthena.BatchGetNamedQuery":  f.batchGetNamedQuery,
		"AmazonAthena.StartQueryExecution": f.startQueryExecution,
		"AmazonAthena.GetQueryExecution": f.onExecution(func(id string, e *execution) any {
			return map[string]any{"QueryExecution": f.describe(id, e)}
		}),
		"AmazonAthena.ListQueryExecutions":    f.listQueryExecutions,
		"AmazonAthena.BatchGetQueryExecution": awsfake.BatchGet(&f.mu, f.execs, "QueryExecution", "QueryExecutions", f.describe),
		"AmazonAthena.StopQueryExecution": f.onExecution(func(_ string, e *execution) any {
			if e.state == "RUNNING" || e.state == "QUEUED" { // stopping an ended query changes nothing
				e.state, e.reason = "CANCELLED", "Query cancelled by user"
			}
			return map[string]any{}
		}),
	})
	t.Cleanup(f.Close)
	return f
}

// readFixture reads testdata/addressbase_cleaned.csv, the source AddressBase.
func readFixture(t testing.TB) []addressbase.Record {
	t.Helper()
	b, err := os.ReadFile("testdata/addressbase_cleaned.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := parseAddressBase(b, "testdata/addressbase_cleaned.csv")
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func parseAddressBase(b []byte, name string) ([]addressbase.Record, error) {
	r := addressbase.NewReader(bytes.NewReader(b), name)
	var out []addressbase.Record
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
}

func (f *fakeAthena) listNamedQueries(body []byte) (any, error) {
	in, err := awsfake.Decode[struct{ WorkGroup string }](body)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, q := range f.queries {
		if q.WorkGroup == in.WorkGroup {
			ids = append(ids, q.NamedQueryID)
		}
	}
	return map[string]any{"NamedQueryIds": ids}, nil
}

func (f *fakeAthena) batchGetNamedQuery(body []byte) (any, error) {
	in, err := awsfake.Decode[struct{ NamedQueryIds []string }](body)
	if err != nil {
		return nil, err
	}
	found := []namedQuery{}
	for _, id := range in.NamedQueryIds {
		for _, q := range f.queries {
			if q.NamedQueryID == id {
				found = append(found, q)
			}
		}
	}
	return map[string]any{"NamedQueries": found, "UnprocessedNamedQueryIds": []any{}}, nil
}

// identify finds which named query sql is, and the letter it was filled with.
func (f *fakeAthena) identify(sql string) (name, letter string, ok bool) {
	if strings.HasPrefix(sql, "MSCK REPAIR TABLE ") {
		return "msck", "", true
	}
	for _, q := range f.queries {
		if len(dcsql.RuntimePlaceholders(q.QueryString)) == 0 {
			if q.QueryString == sql {
				return q.Name, "", true
			}
			continue
		}
		for c := 'A'; c <= 'Z'; c++ {
			filled, err := dcsql.Fill(q.QueryString, map[string]string{"first_letter": string(c)})
			if err == nil && filled == sql {
				return q.Name, string(c), true
			}
		}
	}
	// The partition query's {..._location} comes from the Glue step.
	for _, q := range f.queries {
		filled, err := dcsql.Fill(q.QueryString, map[string]string{"addressbase_cleaned_raw_location": abSource})
		if err == nil && filled == sql {
			return q.Name, "", true
		}
	}
	return "", "", false
}

func (f *fakeAthena) startQueryExecution(body []byte) (any, error) {
	in, err := awsfake.Decode[struct {
		QueryString           string
		WorkGroup             string
		QueryExecutionContext struct{ Database string }
	}](body)
	if err != nil {
		return nil, err
	}
	if in.WorkGroup != workgroup || in.QueryExecutionContext.Database != database {
		return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: fmt.Sprintf("workgroup %q database %q, want %q %q", in.WorkGroup, in.QueryExecutionContext.Database, workgroup, database)}
	}
	f.mu.Lock()
	throttle := f.refused < f.sc.throttleStarts
	if throttle {
		f.refused++
	}
	f.mu.Unlock()
	if throttle {
		return nil, &awsfake.APIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	}
	// Athena ignores a trailing comment, such as the execution tag.
	sql := in.QueryString
	if i := strings.LastIndex(sql, "\n-- "); i >= 0 {
		sql = sql[:i]
	}
	name, letter, ok := f.identify(sql)
	if !ok {
		return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: "fake does not know this SQL: " + in.QueryString}
	}
	e := &execution{query: in.QueryString, sql: sql, name: name, letter: letter, state: "SUCCEEDED"}
	if slices.Contains(f.sc.hold, e.label()) {
		e.state = "RUNNING" // performed when released
	} else if reason := f.perform(context.Background(), name, letter); reason != "" {
		e.state, e.reason = "FAILED", reason
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("exec-%d", len(f.order)+1)
	f.execs[id] = e
	f.order = append(f.order, id)
	return map[string]string{"QueryExecutionId": id}, nil
}

// onExecution answers an operation on one query execution
// (GetQueryExecution, StopQueryExecution), calling fn with f.mu held.
func (f *fakeAthena) onExecution(fn func(id string, e *execution) any) awsfake.HandlerFunc {
	return awsfake.OnItem(&f.mu, f.execs, "QueryExecutionId", "QueryExecution", fn)
}

// describe is a QueryExecution as the API returns it. Call with f.mu held.
func (f *fakeAthena) describe(id string, e *execution) map[string]any {
	state := e.state
	if state == "FAILED" && !f.heldStarted() {
		state = "RUNNING"
	}
	status := map[string]any{"State": state, "SubmissionDateTime": 1.7645e9}
	if e.reason != "" && state != "RUNNING" {
		status["StateChangeReason"] = e.reason
	}
	return map[string]any{
		"QueryExecutionId": id, "Query": e.query, "StatementType": "DML",
		"Status": status, "Statistics": map[string]any{"DataScannedInBytes": 1024},
	}
}

// heldStarted reports whether every held query has started. Call with f.mu
// held.
func (f *fakeAthena) heldStarted() bool {
	for _, h := range f.sc.hold {
		if !slices.ContainsFunc(f.order, func(id string) bool { return f.execs[id].label() == h }) {
			return false
		}
	}
	return true
}

// release performs a held query and lets it succeed.
func (f *fakeAthena) release(label string) {
	f.mu.Lock()
	var held []*execution
	for _, id := range f.order {
		if e := f.execs[id]; e.label() == label && e.state == "RUNNING" {
			held = append(held, e)
		}
	}
	f.mu.Unlock()
	for _, e := range held {
		state, reason := "SUCCEEDED", f.perform(context.Background(), e.name, e.letter)
		if reason != "" {
			state = "FAILED"
		}
		f.mu.Lock()
		e.state, e.reason = state, reason
		f.mu.Unlock()
	}
}

// states returns each started query's state by label, in start order.
func (f *fakeAthena) states() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.order))
	for i, id := range f.order {
		out[i] = f.execs[id].label() + " " + f.execs[id].state
	}
	return out
}

// listQueryExecutions returns the workgroup's execution IDs, newest first,
// in one page.
func (f *fakeAthena) listQueryExecutions(body []byte) (any, error) {
	in, err := awsfake.Decode[struct{ WorkGroup string }](body)
	if err != nil {
		return nil, err
	}
	if in.WorkGroup != workgroup {
		return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: "no workgroup " + in.WorkGroup}
	}
	if f.sc.refuseStops {
		return nil, &awsfake.APIError{Code: "AccessDeniedException", Message: "not authorized to perform athena:ListQueryExecutions"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := slices.Clone(f.order)
	slices.Reverse(ids)
	return map[string]any{"QueryExecutionIds": ids}, nil
}

// started lists the executions in start order as "name" or "name/letter".
func (f *fakeAthena) started() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.order))
	for _, id := range f.order {
		if id != "exec-foreign" {
			out = append(out, f.execs[id].label())
		}
	}
	return out
}

// perform runs a query's effect and returns the FAILED reason, or "".
func (f *fakeAthena) perform(ctx context.Context, name, letter string) string {
	var err error
	switch name {
	case "msck":
	case addressbase.QueryPartition:
		err = f.partition(ctx)
	case currentelections.QueryJoinLetter:
		if letter == f.sc.failJoinLetter {
			return fmt.Sprintf("GENERIC_INTERNAL_ERROR: fake failure joining first_letter=%s", letter)
		}
		err = f.join(ctx, letter)
	case "addressbase-gate-one-source":
		err = f.gateOneSource(ctx, partitionedPrefix)
	case "current-elections-gate-one-source":
		err = f.gateOneSource(ctx, joinedPrefix)
	case "addressbase-gate-uprns":
		err = f.gateUPRNs(ctx, partitionedPrefix)
	case "current-elections-gate-uprns":
		err = f.gateUPRNs(ctx, joinedPrefix)
	case "current-elections-gate-conflicting-duplicates":
		err = f.gateConflicts(ctx)
	default:
		err = fmt.Errorf("fake cannot perform %s", name)
	}
	if err != nil {
		// As Athena reports a fail() or a runtime error.
		return "INVALID_FUNCTION_ARGUMENT: " + err.Error()
	}
	return ""
}

// partitionedRow is a row of addressbase_partitioned.
type partitionedRow struct {
	Outcode           string  `parquet:"outcode"`
	UPRN              string  `parquet:"uprn"`
	Address           string  `parquet:"address"`
	Postcode          string  `parquet:"postcode"`
	Longitude         float64 `parquet:"longitude"`
	Latitude          float64 `parquet:"latitude"`
	AddressbaseSource string  `parquet:"addressbase_source"`
}

// partition reads every cleaned CSV object and UNLOADs it partitioned by
// first letter.
func (f *fakeAthena) partition(ctx context.Context) error {
	objs, err := f.list(ctx, cleanedPrefix)
	if err != nil {
		return err
	}
	byLetter := map[string][]partitionedRow{}
	for _, key := range objs {
		b, err := getObject(ctx, f.s3, abBucket, key)
		if err != nil {
			return err
		}
		recs, err := parseAddressBase(b, key)
		if err != nil {
			return err
		}
		for _, r := range recs {
			byLetter[r.FirstLetter] = append(byLetter[r.FirstLetter], partitionedRow{r.Outcode, r.UPRN, r.Address, r.Postcode, r.Lon, r.Lat, abSource})
		}
	}
	for letter, rows := range byLetter {
		if err := writeParquet(ctx, f.s3, partitionedPrefix+"first_letter="+letter+"/", rows); err != nil {
			return err
		}
	}
	return nil
}

// join is the geo-join for one letter: each address with the sorted,
// distinct ballots whose geography contains it, from the exported CSV.
func (f *fakeAthena) join(ctx context.Context, letter string) error {
	b, err := getObject(ctx, f.s3, eeBucket, ballotsKey)
	if err != nil {
		return err
	}
	ix, _, err := ballots.Index(bytes.NewReader(b), "s3://"+eeBucket+"/"+ballotsKey)
	if err != nil {
		return err
	}
	var rows []outcodes.Row
	for _, r := range f.ab {
		if r.FirstLetter != letter || r.UPRN == f.sc.dropFromJoin {
			continue
		}
		ids := ix.Containing([2]float64{r.Lon, r.Lat}, nil)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if ids == nil {
			ids = []string{}
		}
		rows = append(rows, outcodes.Row{UPRN: r.UPRN, Address: r.Address, Postcode: r.Postcode, AddressbaseSource: abSource, BallotIDs: ids})
	}
	if len(rows) == 0 {
		return nil // UNLOAD of no rows writes no file
	}
	return writeParquet(ctx, f.s3, joinedPrefix+"first_letter="+letter+"/", rows)
}

// sourceRow reads the gate columns of either table.
type sourceRow struct {
	UPRN              string `parquet:"uprn"`
	AddressbaseSource string `parquet:"addressbase_source"`
}

func (f *fakeAthena) readGateColumns(ctx context.Context, pfx string) ([]sourceRow, error) {
	keys, err := f.list(ctx, pfx)
	if err != nil {
		return nil, err
	}
	var out []sourceRow
	for _, k := range keys {
		b, err := getObject(ctx, f.s3, abBucket, k)
		if err != nil {
			return nil, err
		}
		rows, err := parquet.Read[sourceRow](bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return nil, fmt.Errorf("read parquet s3://%s/%s: %w", abBucket, k, err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

func (f *fakeAthena) gateOneSource(ctx context.Context, pfx string) error {
	rows, err := f.readGateColumns(ctx, pfx)
	if err != nil {
		return err
	}
	sources := map[string]int64{}
	for _, r := range rows {
		sources[r.AddressbaseSource]++
	}
	return gates.OneSource(sources)
}

// gateUPRNs compares the AddressBase fixture's UPRNs (the source of both
// layers) with the target table's.
func (f *fakeAthena) gateUPRNs(ctx context.Context, pfx string) error {
	rows, err := f.readGateColumns(ctx, pfx)
	if err != nil {
		return err
	}
	var source, target gates.UPRNStats
	for _, r := range f.ab {
		source.Add(r.UPRN)
	}
	for _, r := range rows {
		target.Add(r.UPRN)
	}
	return gates.CompareUPRNs(source, target)
}

// gateConflicts fails, as sql/gate-conflicting-duplicates.sql does, when a
// UPRN has two different rows anywhere in the joined table.
func (f *fakeAthena) gateConflicts(ctx context.Context) error {
	keys, err := f.list(ctx, joinedPrefix)
	if err != nil {
		return err
	}
	seen := map[string]string{}
	var conflicts []string
	for _, k := range keys {
		b, err := getObject(ctx, f.s3, abBucket, k)
		if err != nil {
			return err
		}
		rows, err := parquet.Read[outcodes.Row](bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return fmt.Errorf("read parquet s3://%s/%s: %w", abBucket, k, err)
		}
		for _, r := range rows {
			row := strings.Join([]string{r.Postcode, r.Address, strings.Join(r.BallotIDs, ","), r.AddressbaseSource}, "\x1f")
			if prev, ok := seen[r.UPRN]; ok && prev != row {
				conflicts = append(conflicts, r.UPRN)
			}
			seen[r.UPRN] = row
		}
	}
	if len(conflicts) > 0 {
		slices.Sort(conflicts)
		return fmt.Errorf("%d uprns in current_ballots_joined_to_address_base have conflicting duplicate rows, e.g. %s", len(conflicts), strings.Join(conflicts, ", "))
	}
	return nil
}

func (f *fakeAthena) list(ctx context.Context, pfx string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(f.s3, &s3.ListObjectsV2Input{Bucket: aws.String(abBucket), Prefix: aws.String(pfx)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", abBucket, pfx, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

// writeParquet writes rows as one randomly named object under dir, as
// UNLOAD does.
func writeParquet[T any](ctx context.Context, client *s3.Client, dir string, rows []T) error {
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows, parquet.Compression(&parquet.Snappy)); err != nil {
		return fmt.Errorf("encode parquet for %s: %w", dir, err)
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	key := dir + hex.EncodeToString(id) + ".parquet"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(abBucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", abBucket, key, err)
	}
	return nil
}
