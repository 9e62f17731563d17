package e2e_test

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

// wantOutcodes is what the fixture (testdata/addressbase_cleaned.csv)
// joined with the EE seed (internal/ballotexport/eetest/seed.sql) gives:
// Buckingham's ward and Cokeham's (a polygon with a hole) lie in Adur,
// whose organisation geography also holds the referendum; N1 is in
// London's second part; NR1 is in no ballot's area, so its file is empty.
var wantOutcodes = map[string][]outcodes.OutRow{
	"BN15": {
		{UPRN: "ONSPD-BN159ZY", Address: "", Postcode: "BN15 9ZY", BallotIDs: []string{"ref.uk.2026-01-15"}},
		{UPRN: "000100003", Address: "3 HOLE LANE", Postcode: "BN15 9ZZ", BallotIDs: []string{"ref.uk.2026-01-15"}},
	},
	"BN43": {
		{UPRN: "100001", Address: "1 BUCKINGHAM ROAD, SHOREHAM-BY-SEA", Postcode: "BN43 5AA", BallotIDs: []string{"local.adur.buckingham.2026-05-07", "ref.uk.2026-01-15"}},
		{UPRN: "100002", Address: "2 COKEHAM ROAD, SOMPTING", Postcode: "BN43 5AB", BallotIDs: []string{"local.adur.cokeham.2026-05-07", "ref.uk.2026-01-15"}},
	},
	"N1": {
		{UPRN: "100004", Address: "4 UPPER STREET, LONDON", Postcode: "N1 9GU", BallotIDs: []string{"mayor.london.2026-05-07"}},
		{UPRN: "100005", Address: "5 UPPER STREET, LONDON", Postcode: "N1 9GU", BallotIDs: []string{"mayor.london.2026-05-07"}},
	},
	"NR1": {},
}

// seedOutputs places what an earlier run published: a stale outcode (no
// longer in AddressBase) and an out-of-date N1 file. It returns their ETags.
func seedOutputs(e *env) map[string]string {
	old, err := outcodes.EncodeRows([]outcodes.OutRow{{UPRN: "1", Address: "OLD", Postcode: "N1 1AA", AddressbaseSource: "s3://old/", BallotIDs: []string{}, Outcode: "N1"}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.put(abBucket, outcodePrefix+"ZZ9.parquet", old)
	e.put(abBucket, outcodePrefix+"N1.parquet", old)
	e.put(abBucket, joinedPrefix+"first_letter=B/leftover-from-last-run.parquet", old)
	return e.keys(abBucket, outcodePrefix)
}

// addressBaseCSV is the AddressBase source of every run.
func addressBaseCSV(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/addressbase_cleaned.csv")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCurrentElectionsPublishesOutcodeFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{withExport: true})
	e.seedAddressBase(addressBaseCSV(t))
	seedOutputs(e)
	r := e.run(flows.CurrentElections(currentElectionsParams()))
	if r.Status != "SUCCEEDED" || len(r.SNS) != 0 {
		t.Fatalf("execution %s %s: %s, SNS %+v\ncalls:\n%s", r.Status, r.Error, r.Cause, r.SNS, fmtCalls(r))
	}

	// The export ran for real and the join read its CSV.
	if csv := e.get(eeBucket, ballotsKey); !bytes.HasPrefix(csv, []byte("election_id,geography_id,geography_text,source_table")) {
		t.Errorf("ballots CSV does not start with its header: %.80q", csv)
	}
	wantQueries := []string{
		"uprn-to-ballots-first-letter/B", "uprn-to-ballots-first-letter/N", "msck",
		"current-elections-gate-conflicting-duplicates", "current-elections-gate-one-source", "current-elections-gate-raw-uprns", "current-elections-gate-uprns",
	}
	if diff := cmp.Diff(wantQueries, sortedTail(e.athena.started(), 2, 4)); diff != "" {
		t.Errorf("Athena queries (-want +got):\n%s", diff)
	}
	if _, ok := e.keys(abBucket, joinedPrefix)[joinedPrefix+"first_letter=B/leftover-from-last-run.parquet"]; ok {
		t.Error("the joined prefix was not emptied before the join")
	}

	got := map[string][]outcodes.OutRow{}
	for key := range e.keys(abBucket, outcodePrefix) {
		oc := strings.TrimSuffix(strings.TrimPrefix(key, outcodePrefix), ".parquet")
		b := e.get(abBucket, key)
		rows, err := parquet.Read[outcodes.OutRow](bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("read %s: %v", key, err)
		}
		for i := range rows {
			if rows[i].Outcode != oc || rows[i].AddressbaseSource != abSource {
				t.Errorf("%s row %d: outcode %q source %q, want %q %q", key, i, rows[i].Outcode, rows[i].AddressbaseSource, oc, abSource)
			}
			rows[i].Outcode, rows[i].AddressbaseSource = "", ""
		}
		got[oc] = rows
	}
	// ZZ9 was stale and is deleted; N1 is rewritten.
	if diff := cmp.Diff(wantOutcodes, got); diff != "" {
		t.Errorf("published outcode files (-want +got):\n%s", diff)
	}
}

// sortedTail sorts the parallel runs inside s: the first n (the Map's
// joins) and the last m (the gates), leaving the middle in order.
func sortedTail(s []string, n, m int) []string {
	out := append([]string(nil), s...)
	if len(out) >= n+m {
		slices.Sort(out[:n])
		slices.Sort(out[len(out)-m:])
	}
	return out
}

func TestAddressBasePartitions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{})
	e.put(abBucket, cleanedPrefix+"part-0.csv", addressBaseCSV(t))
	e.put(abBucket, partitionedPrefix+"first_letter=Q/stale.parquet", []byte("not parquet: the run must empty the prefix first"))

	r := e.run(flows.AddressBase(addressBaseParams()))
	if r.Status != "SUCCEEDED" || len(r.SNS) != 0 {
		t.Fatalf("execution %s %s: %s, SNS %+v\ncalls:\n%s", r.Status, r.Error, r.Cause, r.SNS, fmtCalls(r))
	}
	want := []string{"partition-addressbase-cleaned", "msck", "addressbase-gate-one-source", "addressbase-gate-uprns"}
	if diff := cmp.Diff(want, sortedTail(e.athena.started(), 0, 2)); diff != "" {
		t.Errorf("Athena queries (-want +got):\n%s", diff)
	}
	var letters []string
	for k := range e.keys(abBucket, partitionedPrefix) {
		letters = append(letters, strings.Split(strings.TrimPrefix(k, partitionedPrefix), "/")[0])
	}
	slices.Sort(letters)
	if diff := cmp.Diff([]string{"first_letter=B", "first_letter=N"}, letters); diff != "" {
		t.Errorf("partitions written (-want +got):\n%s", diff)
	}
}

func TestNewerRunningExecutionStopsTheRun(t *testing.T) {
	t.Parallel()
	newer := runningExecution{arn: "arn:aws:states:eu-west-2:123456789012:execution:Layer:run-2", started: time.Date(2026, 11, 26, 23, 5, 0, 0, time.UTC)}
	e := newEnv(t, scenario{running: []runningExecution{newer}})
	before := seedOutputs(e)
	e.s3.Count.Reset()
	r := e.run(flows.CurrentElections(currentElectionsParams()))
	if r.Status != "SUCCEEDED" || len(r.SNS) != 0 {
		t.Fatalf("execution %s %s: %s, SNS %+v", r.Status, r.Error, r.Cause, r.SNS)
	}
	for _, op := range []string{"PUT object", "DELETE object", "POST delete", "GET object", "GET bucket"} {
		if n := e.s3.Count.Get(op); n != 0 {
			t.Errorf("%d S3 %s requests, want none", n, op)
		}
	}
	want := []string{flows.StateStart, flows.StateGuard, flows.StateGuardChoice, flows.StateAlreadyRunning}
	if diff := cmp.Diff(want, r.Entered); diff != "" {
		t.Errorf("states entered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"guard": 1}, e.handlerCalls()); diff != "" {
		t.Errorf("handler calls (-want +got):\n%s", diff)
	}
	if n := len(e.athena.Calls("")); n != 0 {
		t.Errorf("%d Athena calls, want none", n)
	}
	if diff := cmp.Diff(before, e.keys(abBucket, outcodePrefix)); diff != "" {
		t.Errorf("outcode files changed (-before +after):\n%s", diff)
	}
}

// assertFailedAndNotified checks the execution failed with the Athena
// reason, published one message naming it, and left the outcode files as
// they were.
func assertFailedAndNotified(t *testing.T, e *env, r report, before map[string]string, reason string) {
	t.Helper()
	if r.Status != "FAILED" || r.Error != "QueryFailedError" || !strings.Contains(r.Cause, reason) {
		t.Errorf("execution %s %s: %s; want FAILED QueryFailedError with %q", r.Status, r.Error, r.Cause, reason)
	}
	if len(r.SNS) != 1 {
		t.Fatalf("SNS messages %+v, want exactly one", r.SNS)
	}
	msg := r.SNS[0]
	if msg.TopicArn != topicArn {
		t.Errorf("published to %q, want %q", msg.TopicArn, topicArn)
	}
	for _, s := range []string{execID, "QueryFailedError", reason} {
		if !strings.Contains(msg.Message, s) {
			t.Errorf("SNS message %q does not name %q", msg.Message, s)
		}
	}
	calls := e.handlerCalls()
	if calls["outcodeSplit"]+calls["deleteStale"] != 0 {
		t.Errorf("publishing handlers ran after the failure: %v", calls)
	}
	if diff := cmp.Diff(before, e.keys(abBucket, outcodePrefix)); diff != "" {
		t.Errorf("outcode files changed (-before +after):\n%s", diff)
	}
}

func TestFailingJoinIsCaughtAndNotified(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{withExport: true, failJoinLetter: "N"})
	e.seedAddressBase(addressBaseCSV(t))
	before := seedOutputs(e)
	r := e.run(flows.CurrentElections(currentElectionsParams()))
	assertFailedAndNotified(t, e, r, before, "GENERIC_INTERNAL_ERROR: fake failure joining first_letter=N")
	for _, q := range e.athena.started() {
		if q == "msck" || strings.Contains(q, "gate") {
			t.Errorf("query %s started after a join failed", q)
		}
	}
}

func TestGateMismatchFailsBeforePublishing(t *testing.T) {
	t.Parallel()
	// AddressBase gained an address after addressbase_partitioned was
	// built: the joined table agrees with the partitioned one, so only the
	// gate against the raw source can stop the run.
	e := newEnv(t, scenario{withExport: true})
	e.seedAddressBase(addressBaseCSV(t))
	e.put(abBucket, cleanedPrefix+"part-1.csv", []byte("100006,6 UPPER STREET,N1 9GU,SRID=4326;POINT(-.1 51.54),D\r\n"))
	before := seedOutputs(e)
	r := e.run(flows.CurrentElections(currentElectionsParams()))
	assertFailedAndNotified(t, e, r, before, "GENERIC_USER_ERROR: UPRN gate: addressbase_cleaned_raw rows=8 distinct=8")
}

// A UPRN under postcodes with two first letters is in two partitions, so no
// letter's split can see it; the conflicts gate must stop the run before
// any outcode file is written.
func TestConflictAcrossLettersFailsBeforePublishing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{withExport: true})
	e.seedAddressBase(append(addressBaseCSV(t), "100004,\"4 UPPER STREET, LONDON\",BN15 9ZZ,SRID=4326;POINT(-0.1 51.45),D\r\n"...))
	before := seedOutputs(e)
	r := e.run(flows.CurrentElections(currentElectionsParams()))
	assertFailedAndNotified(t, e, r, before, "1 uprns in current_ballots_joined_to_address_base have conflicting duplicate rows, e.g. 100004")
}

// Athena's throttling reaches the state machine as the query Lambda's
// ThrottledError, which the start state retries until Athena accepts.
func TestAthenaThrottlingIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{throttleStarts: 2})
	e.put(abBucket, cleanedPrefix+"part-0.csv", addressBaseCSV(t))
	r := e.run(flows.AddressBase(addressBaseParams()))
	if r.Status != "SUCCEEDED" {
		t.Fatalf("execution %s %s: %s\ncalls:\n%s", r.Status, r.Error, r.Cause, fmtCalls(r))
	}
	var got []string
	for _, c := range r.Calls {
		if c.State == flows.StateABPartition {
			got = append(got, c.Error)
		}
	}
	if diff := cmp.Diff([]string{flows.AthenaThrottled, flows.AthenaThrottled, ""}, got); diff != "" {
		t.Errorf("partition start calls' errors (-want +got):\n%s", diff)
	}
}
