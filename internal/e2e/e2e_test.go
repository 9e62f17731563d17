package e2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"context"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/sfnguard"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// wantOutcodes is what the fixture (testdata/addressbase_cleaned.csv)
// joined with the EE seed (internal/ballotexport/eetest/seed.sql) gives:
// Buckingham's ward and Cokeham's (a polygon with a hole) lie in Adur,
// whose organisation geography also holds the referendum; N1 is in
// London's second part; NR1 is in no ballot's area, so its file is empty.
var wantOutcodes = map[string][]outcodes.OutRow{
	"BN15": {
		{UPRN: "ONSPD-BN159ZY", Address: "", Postcode: "BN15 9ZY", List: []string{"ref.uk.2026-01-15"}},
		{UPRN: "000100003", Address: "3 HOLE LANE", Postcode: "BN15 9ZZ", List: []string{"ref.uk.2026-01-15"}},
	},
	"BN43": {
		{UPRN: "100001", Address: "1 BUCKINGHAM ROAD, SHOREHAM-BY-SEA", Postcode: "BN43 5AA", List: []string{"local.adur.buckingham.2026-05-07", "ref.uk.2026-01-15"}},
		{UPRN: "100002", Address: "2 COKEHAM ROAD, SOMPTING", Postcode: "BN43 5AB", List: []string{"local.adur.cokeham.2026-05-07", "ref.uk.2026-01-15"}},
	},
	"N1": {
		{UPRN: "100004", Address: "4 UPPER STREET, LONDON", Postcode: "N1 9GU", List: []string{"mayor.london.2026-05-07"}},
		{UPRN: "100005", Address: "5 UPPER STREET, LONDON", Postcode: "N1 9GU", List: []string{"mayor.london.2026-05-07"}},
	},
	"NR1": {},
}

// seedOutputs places what an earlier run published: a stale outcode (no
// longer in AddressBase) and an out-of-date N1 file. It returns their ETags.
func seedOutputs(e *env) map[string]string {
	old, err := outcodes.EncodeRows(currentelections.ListColumn, []outcodes.OutRow{{UPRN: "1", Address: "OLD", Postcode: "N1 1AA", AddressbaseSource: "s3://old/", List: []string{}, Outcode: "N1"}})
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
	r := e.run(currentelections.Flow(currentElectionsParams()))
	if r.Status != "SUCCEEDED" || len(r.SNS) != 0 {
		t.Fatalf("execution %s %s: %s, SNS %+v\ncalls:\n%s", r.Status, r.Error, r.Cause, r.SNS, fmtCalls(r))
	}

	// The export ran for real and the join read its CSV.
	if csv := e.get(eeBucket, ballotsKey); !bytes.HasPrefix(csv, []byte("election_id,geography_id,geography_text,source_table")) {
		t.Errorf("ballots CSV does not start with its header: %.80q", csv)
	}
	wantQueries := []string{
		"uprn-to-ballots",
		"current-elections-gate-conflicting-duplicates", "current-elections-gate-one-source", "current-elections-gate-raw-uprns", "current-elections-gate-uprns",
	}
	if diff := cmp.Diff(wantQueries, sortedTail(e.athena.started(), 0, 4)); diff != "" {
		t.Errorf("Athena queries (-want +got):\n%s", diff)
	}
	// The split read this run's prefix only (the leftover under the
	// table's home would have added an OLD row), and the joined table now
	// points there; the home it pointed at before is kept.
	if loc, _ := e.glue.Location(currentelections.JoinedName); loc != tables.RunPrefix("s3://"+abBucket+"/"+joinedPrefix, "run-1") {
		t.Errorf("the joined table points at %s after the run", loc)
	}
	if _, ok := e.keys(abBucket, joinedPrefix)[joinedPrefix+"first_letter=B/leftover-from-last-run.parquet"]; !ok {
		t.Error("the clean-up deleted the previous location's objects")
	}

	got := map[string][]outcodes.OutRow{}
	for key := range e.keys(abBucket, outcodePrefix) {
		oc := strings.TrimSuffix(strings.TrimPrefix(key, outcodePrefix), ".parquet")
		b := e.get(abBucket, key)
		rows, err := outcodes.DecodeRows(currentelections.ListColumn, b)
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
	// Each live file is the staged one, copied.
	staged := e.keys(abBucket, stagingPrefix)
	for key, etag := range e.keys(abBucket, outcodePrefix) {
		if s := staged[stagingPrefix+strings.TrimPrefix(key, outcodePrefix)]; s != etag {
			t.Errorf("%s ETag %s, staged %q", key, etag, s)
		}
	}
	if len(staged) != len(wantOutcodes) {
		t.Errorf("%d staged files, want %d", len(staged), len(wantOutcodes))
	}

	// The manifest the plausibility gate staged and the publish copied
	// live names exactly the live files, by their hashes.
	var m manifest.Manifest
	if err := json.Unmarshal(e.get(abBucket, manifest.Key(outcodePrefix)), &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	hashes := map[string]string{}
	for key := range e.keys(abBucket, outcodePrefix) {
		sum := sha256.Sum256(e.get(abBucket, key))
		hashes[strings.TrimSuffix(strings.TrimPrefix(key, outcodePrefix), ".parquet")] = hex.EncodeToString(sum[:])
	}
	inManifest := map[string]string{}
	for oc, entry := range m.Outcodes {
		inManifest[oc] = entry.SHA256
	}
	if diff := cmp.Diff(hashes, inManifest); diff != "" {
		t.Errorf("manifest hashes vs published files (-published +manifest):\n%s", diff)
	}
}

// putSource places the AddressBase fixture where the partition query reads.
func (e *env) putSource() {
	e.t.Helper()
	e.put(abBucket, cleanedPrefix+"part-0.csv", addressBaseCSV(e.t))
}

// sortedTail sorts the parallel runs inside s: the first n and the last m
// (the gates), leaving the middle in order.
func sortedTail(s []string, n, m int) []string {
	out := append([]string(nil), s...)
	if len(out) >= n+m {
		slices.Sort(out[:n])
		slices.Sort(out[len(out)-m:])
	}
	return out
}

// partitionedHome is addressbase_partitioned's declared location, below
// which every run has its prefix.
var partitionedHome = "s3://" + abBucket + "/" + partitionedPrefix

// A run writes under its own prefix, gates it through the staging twin,
// then switches the table and deletes older runs, keeping the previous
// one for a rollback.
func TestAddressBasePartitions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{})
	e.putSource()
	// A previous run the table points at, an older one, and the layout of
	// the days before run prefixes.
	e.seedAddressBase(addressBaseCSV(t))
	e.put(abBucket, partitionedPrefix+"runs/older/first_letter=B/part.parquet", []byte("an older run"))
	e.put(abBucket, partitionedPrefix+"first_letter=Q/legacy.parquet", []byte("before run prefixes"))
	previous := e.keys(abBucket, partitionedPrefix+"runs/seed/")

	r := e.run(addressbase.Flow(addressBaseParams()))
	if r.Status != "SUCCEEDED" || len(r.SNS) != 0 {
		t.Fatalf("execution %s %s: %s, SNS %+v\ncalls:\n%s", r.Status, r.Error, r.Cause, r.SNS, fmtCalls(r))
	}
	want := []string{"partition-addressbase-cleaned", "addressbase-gate-one-source", "addressbase-gate-uprns"}
	if diff := cmp.Diff(want, sortedTail(e.athena.started(), 0, 2)); diff != "" {
		t.Errorf("Athena queries (-want +got):\n%s", diff)
	}
	run := tables.RunPrefix(partitionedHome, "run-1")
	wantUpdates := []awsfake.GlueUpdate{
		{Table: addressbase.PartitionedName, Location: tables.RunPrefix(partitionedHome, "seed")},
		{Table: addressbase.PartitionedName + "_staging", Location: run},
		{Table: addressbase.PartitionedName, Location: run},
	}
	if diff := cmp.Diff(wantUpdates, e.glue.Updates()); diff != "" {
		t.Errorf("Glue location updates (-want +got):\n%s", diff)
	}
	def, _ := e.glue.Table(addressbase.PartitionedName)
	if !strings.Contains(string(def), `"projection.first_letter.type":"enum"`) {
		t.Errorf("the switch lost the table's partition projection: %s", def)
	}
	var left []string
	for k := range e.keys(abBucket, partitionedPrefix) {
		left = append(left, strings.Join(strings.Split(strings.TrimPrefix(k, partitionedPrefix), "/")[:3], "/"))
	}
	slices.Sort(left)
	left = slices.Compact(left)
	if diff := cmp.Diff([]string{"runs/run-1/first_letter=B", "runs/run-1/first_letter=N", "runs/seed/first_letter=B", "runs/seed/first_letter=N"}, left); diff != "" {
		t.Errorf("objects left under the table's home (-want +got):\n%s", diff)
	}
	for k, etag := range previous {
		if e.keys(abBucket, k)[k] != etag {
			t.Errorf("the previous run's %s changed", k)
		}
	}
	// Readers now see the new run: the same addresses, from the new prefix.
	res, err := e.athena.w.Exec(context.Background(), `SELECT count(*) FROM "`+database+`"."addressbase_partitioned"`)
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0] != int64(7) {
		t.Errorf("addressbase_partitioned rows %v, %v; want 7", res.Rows, err)
	}
}

// A gate that fails leaves addressbase_partitioned on the run it pointed
// at, which the next CurrentElections run reads and publishes from; the
// failed run's prefix is only what its staging twin shows. The partition
// query refuses a malformed address itself (internal/validate), so the
// gate's failure is Athena's: the fake fails the real gate query.
func TestAddressBaseGateFailureLeavesTheTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{withExport: true, fail: addressbase.QueryGateUPRNs})
	e.seedAddressBase(addressBaseCSV(t))
	good := e.keys(abBucket, partitionedPrefix)
	// The failed run's release has one more address, so what readers see
	// tells the two runs apart.
	e.put(abBucket, cleanedPrefix+"part-1.csv", []byte("100007,7 UPPER STREET,N1 9GU,SRID=4326;POINT(-.1 51.54),D\r\n"))
	before := seedOutputs(e)

	r := e.run(addressbase.Flow(addressBaseParams()))
	if r.Status != "FAILED" || !strings.Contains(r.Cause, failMessage(addressbase.QueryGateUPRNs)) {
		t.Fatalf("execution %s %s: %s; want FAILED by the UPRN gate\ncalls:\n%s", r.Status, r.Error, r.Cause, fmtCalls(r))
	}
	if failed := e.keys(abBucket, partitionedPrefix+"runs/run-1/"); len(failed) == 0 {
		t.Error("the failed run wrote nothing under its prefix")
	}
	if len(r.SNS) != 1 {
		t.Errorf("SNS messages %+v, want one", r.SNS)
	}
	if loc, _ := e.glue.Location(addressbase.PartitionedName); loc != tables.RunPrefix(partitionedHome, "seed") {
		t.Errorf("addressbase_partitioned points at %s after a failed gate, want the seeded run", loc)
	}
	if loc, _ := e.glue.Location(addressbase.PartitionedName + "_staging"); loc != tables.RunPrefix(partitionedHome, "run-1") {
		t.Errorf("the staging twin points at %s, want the failed run's prefix", loc)
	}
	for k, etag := range good {
		if e.keys(abBucket, k)[k] != etag {
			t.Errorf("%s changed or went after a failed gate", k)
		}
	}
	if calls := e.handlerCalls(); calls["emptyPrefix"] != 0 {
		t.Errorf("handler calls %v: a failed run deleted runs", calls)
	}

	// CurrentElections reads the table's run, not the failed one.
	e.put(abBucket, cleanedPrefix+"part-1.csv", nil)
	r = e.start(currentelections.Flow(currentElectionsParams()), machineID, execID+"-ce", started)()
	if r.Status != "SUCCEEDED" {
		t.Fatalf("CurrentElections %s %s: %s\ncalls:\n%s", r.Status, r.Error, r.Cause, fmtCalls(r))
	}
	if diff := cmp.Diff(before, e.keys(abBucket, outcodePrefix)); diff == "" {
		t.Error("CurrentElections published nothing")
	}
	if _, ok := e.keys(abBucket, outcodePrefix)[outcodePrefix+"N1.parquet"]; !ok {
		t.Error("no N1 file published")
	}
	rows, err := outcodes.DecodeRows(currentelections.ListColumn, e.get(abBucket, outcodePrefix+"N1.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if row.UPRN == "100007" {
			t.Errorf("N1 holds the failed run's address 100007")
		}
	}
	if len(rows) != len(wantOutcodes["N1"]) {
		t.Errorf("N1 has %d rows, want the seeded run's %d", len(rows), len(wantOutcodes["N1"]))
	}
}

// With an older run working and its follow-up waiting, a third run has
// nothing to add: it stops at once, touching nothing.
func TestTwoOlderRunningExecutionsStopTheRun(t *testing.T) {
	t.Parallel()
	working := runningExecution{arn: "arn:aws:states:eu-west-2:123456789012:execution:Layer:run-0", started: started.Add(-5 * time.Minute)}
	followUp := runningExecution{arn: "arn:aws:states:eu-west-2:123456789012:execution:Layer:run-00", started: started.Add(-time.Minute)}
	e := newEnv(t, scenario{running: []runningExecution{working, followUp}})
	before := seedOutputs(e)
	e.s3.Count.Reset()
	r := e.run(currentelections.Flow(currentElectionsParams()))
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

// A CurrentElections run started while an AddressBase run rewrites
// addressbase_partitioned waits, touching nothing, until that run has
// ended, then runs in full.
func TestCurrentElectionsWaitsForAddressBase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{withExport: true, hold: []string{addressbase.QueryGateUPRNs}})
	e.putSource()
	abArn := "arn:aws:states:eu-west-2:123456789012:execution:MakeAddressBasePartitioned:release"
	ceArn := "arn:aws:states:eu-west-2:123456789012:execution:MakeCurrentElectionsParquet:nightly"
	// Start times near the real clock: the guard gives up waiting half the
	// machine's timeout after the start.
	now := time.Now()
	abDone := e.start(addressbase.Flow(addressBaseParams()), abMachine, abArn, now.Add(-time.Minute))
	e.eventually("the UPRN gate runs", func() bool { return slices.Contains(e.athena.started(), addressbase.QueryGateUPRNs) })

	ceDone := e.start(currentelections.Flow(currentElectionsParams()), ceMachine, ceArn, now)
	e.eventually("CurrentElections has been told to wait twice", func() bool { return e.count(ceArn, sfnguard.Wait) >= 2 })
	if diff := cmp.Diff([]string{"partition-addressbase-cleaned", addressbase.QueryGateOneSource, addressbase.QueryGateUPRNs}, sortedTail(e.athena.started(), 0, 2)); diff != "" {
		t.Errorf("Athena queries while CurrentElections waits (-want +got):\n%s", diff)
	}

	e.athena.release(addressbase.QueryGateUPRNs)
	ab, ce := abDone(), ceDone()
	for name, r := range map[string]report{"AddressBase": ab, "CurrentElections": ce} {
		if r.Status != "SUCCEEDED" || len(r.SNS) != 0 {
			t.Fatalf("%s %s %s: %s, SNS %+v\ncalls:\n%s", name, r.Status, r.Error, r.Cause, r.SNS, fmtCalls(r))
		}
	}
	// Every CurrentElections step came after AddressBase ended: only the
	// guard ran before, and it said wait each time until then.
	abEnded := slices.IndexFunc(e.events(), func(ev event) bool { return ev.ended == abArn })
	firstStep := slices.IndexFunc(ce.Calls, func(c call) bool { return c.Role != "guard" })
	if firstStep < 0 || ce.Calls[firstStep].State != currentelections.StatePointStaging {
		t.Fatalf("CurrentElections' first step %d, want %q\ncalls:\n%s", firstStep, currentelections.StatePointStaging, fmtCalls(ce))
	}
	e.assertWaitedFor(ceArn, abArn)
	for i, ev := range e.events()[:abEnded] {
		// The roles only CurrentElections calls.
		if slices.Contains([]string{"exportBallots", "outcodeSplit", "publish"}, ev.role) {
			t.Errorf("CurrentElections ran %s (event %d) before AddressBase ended (event %d)", ev.role, i, abEnded)
		}
	}
	want := []string{flows.StateStart, flows.StateGuard, flows.StateGuardChoice, flows.StateGuardWait}
	if !slices.Equal(ce.Entered[:4], want) || ce.Entered[len(ce.Entered)-1] != flows.StateSucceeded {
		t.Errorf("CurrentElections states %q, want to start %q and end %q", ce.Entered, want, flows.StateSucceeded)
	}
	if n := len(e.keys(abBucket, outcodePrefix)); n != len(wantOutcodes) {
		t.Errorf("%d outcode files published, want %d", n, len(wantOutcodes))
	}
}

// Two executions of one machine started together both see each other:
// the first in (start time, ARN) order runs, the second waits for it to end
// and then runs, never overlapping.
func TestExecutionsStartedTogetherRunOneAfterTheOther(t *testing.T) {
	t.Parallel()
	// The UPRN gate is held until the second ARN has asked the guard, so
	// the first run cannot end before that (a run without MSCK REPAIR is
	// shorter than a Node runner's start-up on a busy machine).
	e := newEnv(t, scenario{hold: []string{addressbase.QueryGateUPRNs}})
	e.putSource()
	prefix := "arn:aws:states:eu-west-2:123456789012:execution:MakeAddressBasePartitioned:"
	second, first := prefix+"b-second-by-arn", prefix+"a-first-by-arn"
	// Near the real clock: the guard gives up waiting half the machine's
	// timeout after the start.
	now := time.Now()
	e.register(abMachine, second, now)
	e.register(abMachine, first, now)
	b := e.start(addressbase.Flow(addressBaseParams()), abMachine, second, now)
	a := e.start(addressbase.Flow(addressBaseParams()), abMachine, first, now)
	gates := func() int {
		return len(slices.DeleteFunc(e.athena.started(), func(q string) bool { return q != addressbase.QueryGateUPRNs }))
	}
	e.eventually("the first run's UPRN gate runs and the second has been told to wait", func() bool {
		return gates() == 1 && e.count(second, sfnguard.Wait) >= 1
	})
	e.athena.release(addressbase.QueryGateUPRNs)
	ran := a()
	e.eventually("the second run's UPRN gate runs", func() bool { return gates() == 2 })
	e.athena.release(addressbase.QueryGateUPRNs)
	followed := b()
	for name, r := range map[string]report{"first": ran, "second": followed} {
		if r.Status != "SUCCEEDED" || r.Entered[len(r.Entered)-1] != flows.StateSucceeded || !slices.Contains(r.Entered, flows.StateRun) {
			t.Fatalf("the %s ARN: %s (%s), states %q, want it to run", name, r.Status, r.Cause, r.Entered)
		}
	}
	if d := e.decisions(first); !slices.Equal(d, []string{sfnguard.Proceed}) {
		t.Errorf("the first ARN's guard decisions %q, want one proceed", d)
	}
	e.assertWaitedFor(second, first)
	want := []string{"partition-addressbase-cleaned", "addressbase-gate-one-source", "addressbase-gate-uprns"}
	if diff := cmp.Diff(append(want, want...), twoRuns(e.athena.started())); diff != "" {
		t.Errorf("Athena queries, want two runs' one after the other (-want +got):\n%s", diff)
	}
}

// twoRuns sorts the parallel gates of each of two AddressBase runs' three
// queries, leaving the runs in order.
func twoRuns(s []string) []string {
	if len(s) != 6 {
		return s
	}
	return append(sortedTail(s[:3], 0, 2), sortedTail(s[3:], 0, 2)...)
}

// A trigger that arrives mid-run is not lost: of the runs started while one
// works, the first waits and runs right after it, and any later one stops
// (the waiting run covers it). Exactly one follow-up run.
func TestRunsStartedMidRunGiveOneFollowUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{hold: []string{addressbase.QueryGateUPRNs}})
	e.putSource()
	prefix := "arn:aws:states:eu-west-2:123456789012:execution:MakeAddressBasePartitioned:"
	working, followUp, extra := prefix+"release", prefix+"elections-set-changed-1", prefix+"elections-set-changed-2"
	// Each run's partition query names its own prefix, so a gate, whose
	// SQL is the same for every run, is what the fake holds.
	partitions := func() int {
		return len(slices.DeleteFunc(e.athena.started(), func(q string) bool { return q != addressbase.QueryGateUPRNs }))
	}
	now := time.Now()
	workingDone := e.start(addressbase.Flow(addressBaseParams()), abMachine, working, now.Add(-time.Minute))
	e.eventually("the first run's UPRN gate runs", func() bool { return partitions() == 1 })

	followUpDone := e.start(addressbase.Flow(addressBaseParams()), abMachine, followUp, now)
	e.eventually("the second run has been told to wait", func() bool { return e.count(followUp, sfnguard.Wait) >= 1 })
	stopped := e.start(addressbase.Flow(addressBaseParams()), abMachine, extra, now.Add(time.Second))()
	if stopped.Status != "SUCCEEDED" || stopped.Entered[len(stopped.Entered)-1] != flows.StateAlreadyRunning || len(stopped.Calls) != 1 {
		t.Errorf("the third run: %s, states %q, calls:\n%s; want it to stop after the guard", stopped.Status, stopped.Entered, fmtCalls(stopped))
	}
	e.eventually("the second run has waited twice", func() bool { return e.count(followUp, sfnguard.Wait) >= 2 })
	if n := partitions(); n != 1 {
		t.Errorf("%d UPRN gates while the first run works, want 1", n)
	}

	e.athena.release(addressbase.QueryGateUPRNs)
	first := workingDone()
	e.eventually("the follow-up's UPRN gate runs", func() bool { return partitions() == 2 })
	e.athena.release(addressbase.QueryGateUPRNs)
	second := followUpDone()
	for name, r := range map[string]report{"first": first, "follow-up": second} {
		if r.Status != "SUCCEEDED" || r.Entered[len(r.Entered)-1] != flows.StateSucceeded {
			t.Fatalf("the %s run %s %s: %s\ncalls:\n%s", name, r.Status, r.Error, r.Cause, fmtCalls(r))
		}
	}
	e.assertWaitedFor(followUp, working)
	if d := e.decisions(extra); !slices.Equal(d, []string{sfnguard.Stop}) {
		t.Errorf("the third run's guard decisions %q, want one stop", d)
	}
	want := []string{"partition-addressbase-cleaned", "addressbase-gate-one-source", "addressbase-gate-uprns"}
	if diff := cmp.Diff(append(want, want...), twoRuns(e.athena.started())); diff != "" {
		t.Errorf("Athena queries, want two runs' one after the other (-want +got):\n%s", diff)
	}
}

// A failed run stops its own queries that are still running, leaves other
// executions' queries alone, and still notifies. The gates run in
// parallel: one fails while another is still running.
func TestFailedRunStopsItsQueries(t *testing.T) {
	t.Parallel()
	other := "arn:aws:states:eu-west-2:123456789012:execution:Layer:run-10"
	failing, held := currentelections.QueryGateConflicts, currentelections.QueryGateUPRNs
	e := newEnv(t, scenario{withExport: true, fail: failing, hold: []string{held}, foreignQuery: other})
	e.seedAddressBase(addressBaseCSV(t))
	before := seedOutputs(e)
	r := e.run(currentelections.Flow(currentElectionsParams()))
	assertFailedAndNotified(t, e, r, before, failMessage(failing))
	var got []string
	for _, s := range e.athena.states() {
		if strings.HasPrefix(s, "foreign") || strings.HasPrefix(s, failing) || strings.HasPrefix(s, held) {
			got = append(got, s)
		}
	}
	slices.Sort(got)
	want := []string{failing + " FAILED", held + " CANCELLED", "foreign RUNNING"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("query states after the run (-want +got):\n%s", diff)
	}
	var stops []call
	for _, c := range r.Calls {
		if c.State == flows.StateStopQueries {
			stops = append(stops, c)
		}
	}
	if len(stops) != 1 || stops[0].Error != "" {
		t.Fatalf("stop calls %+v, want one that succeeded", stops)
	}
	if i := slices.Index(r.Entered, flows.StateStopQueries); i < 0 || r.Entered[i+1] != flows.StateNotifyFailure {
		t.Errorf("states %q, want %q right before %q", r.Entered, flows.StateStopQueries, flows.StateNotifyFailure)
	}
}

// When the queries cannot be stopped, the failure is still notified.
func TestStopFailureStillNotifies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{withExport: true, fail: currentelections.QueryJoin, refuseStops: true})
	before := seedOutputs(e)
	r := e.run(currentelections.Flow(currentElectionsParams()))
	assertFailedAndNotified(t, e, r, before, failMessage(currentelections.QueryJoin))
	if i := slices.IndexFunc(r.Calls, func(c call) bool { return c.State == flows.StateStopQueries }); i < 0 || r.Calls[i].Error == "" {
		t.Errorf("the stop call did not fail:\n%s", fmtCalls(r))
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
	if calls["outcodeSplit"]+calls["publish"] != 0 {
		t.Errorf("publishing handlers ran after the failure: %v", calls)
	}
	if diff := cmp.Diff(before, e.keys(abBucket, outcodePrefix)); diff != "" {
		t.Errorf("outcode files changed (-before +after):\n%s", diff)
	}
	// The joined table was never switched to the failed run, and no run
	// was deleted.
	if loc, _ := e.glue.Location(currentelections.JoinedName); loc != "s3://"+abBucket+"/"+joinedPrefix {
		t.Errorf("the joined table points at %s after a failed run, want its home", loc)
	}
	if calls["emptyPrefix"] != 0 {
		t.Errorf("a failed run deleted runs: %v", calls)
	}
}

func TestFailingJoinIsCaughtAndNotified(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{withExport: true, fail: currentelections.QueryJoin})
	e.seedAddressBase(addressBaseCSV(t))
	before := seedOutputs(e)
	r := e.run(currentelections.Flow(currentElectionsParams()))
	assertFailedAndNotified(t, e, r, before, failMessage(currentelections.QueryJoin))
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
	r := e.run(currentelections.Flow(currentElectionsParams()))
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
	r := e.run(currentelections.Flow(currentElectionsParams()))
	assertFailedAndNotified(t, e, r, before, "1 uprns in current_ballots_joined_to_address_base_staging have conflicting duplicate rows, e.g. 100004")
}

// A letter whose outcode split fails publishes nothing: the other letter's
// files stay in staging, and the live folder keeps every file as it was.
func TestOutcodeFailurePublishesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{withExport: true, corruptLetter: "N"})
	e.seedAddressBase(addressBaseCSV(t))
	before := seedOutputs(e)
	r := e.run(currentelections.Flow(currentElectionsParams()))
	if r.Status != "FAILED" || !strings.Contains(r.Cause, "zz-corrupt.parquet") {
		t.Fatalf("execution %s %s: %s; want FAILED naming the corrupt file\ncalls:\n%s", r.Status, r.Error, r.Cause, fmtCalls(r))
	}
	if len(r.SNS) != 1 || !strings.Contains(r.SNS[0].Message, "zz-corrupt.parquet") {
		t.Errorf("SNS messages %+v, want one naming the corrupt file", r.SNS)
	}
	calls := e.handlerCalls()
	if calls["outcodeSplit"] != 2 || calls["publish"] != 0 {
		t.Errorf("handler calls %v, want both letters split and no publish", calls)
	}
	if diff := cmp.Diff(before, e.keys(abBucket, outcodePrefix)); diff != "" {
		t.Errorf("live outcode files changed (-before +after):\n%s", diff)
	}
	staged := e.keys(abBucket, stagingPrefix)
	if _, ok := staged[stagingPrefix+"BN15.parquet"]; !ok {
		t.Errorf("staged files %v, want letter B's BN15 (its split succeeded)", staged)
	}
}

// Athena's throttling reaches the state machine as the query Lambda's
// ThrottledError, which the start state retries until Athena accepts.
func TestAthenaThrottlingIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario{throttleStarts: 2})
	e.putSource()
	r := e.run(addressbase.Flow(addressBaseParams()))
	if r.Status != "SUCCEEDED" {
		t.Fatalf("execution %s %s: %s\ncalls:\n%s", r.Status, r.Error, r.Cause, fmtCalls(r))
	}
	var got []string
	for _, c := range r.Calls {
		if c.State == addressbase.StatePartition {
			got = append(got, c.Error)
		}
	}
	if diff := cmp.Diff([]string{flows.AthenaThrottled, flows.AthenaThrottled, ""}, got); diff != "" {
		t.Errorf("partition start calls' errors (-want +got):\n%s", diff)
	}
}
