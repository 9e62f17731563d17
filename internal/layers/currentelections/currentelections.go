// Package currentelections is the CurrentElections layer: every address
// joined with the current ballots whose area contains it, published as one
// parquet file per outcode.
package currentelections

import (
	"strconv"

	"github.com/DemocracyClub/dc-data-baker/internal/validate"

	"fmt"
	"slices"

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// StateMachineName is the layer's state machine, before layer.Names adds
// the environment.
const StateMachineName = "MakeCurrentElectionsParquet"

// The layer's named queries, as its state machine starts them.
const (
	QueryJoin          = "uprn-to-ballots"
	QueryGateOneSource = "current-elections-gate-one-source"
	QueryGateUPRNs     = "current-elections-gate-uprns"
	// QueryGateRawUPRNs compares the joined table with the raw AddressBase
	// source, so a bad AddressBase run cannot reach the nightly publish.
	QueryGateRawUPRNs   = "current-elections-gate-raw-uprns"
	QueryGateConflicts  = "current-elections-gate-conflicting-duplicates"
	ElectionsSetChanged = "elections_set_changed"
)

// ListColumn is the joined table's list<string> column, kept under the
// same name in the per-outcode files.
const ListColumn = "ballot_ids"

// OutputFolder is the folder of the per-outcode files, beside the tables,
// and OutputLocation the stack output that names it.
const (
	OutputFolder   = "current_elections_parquet"
	OutputLocation = "currentElectionsOutputLocation"
)

// Ballots is EE's export of current ballots with their WKT. Its CSV has a
// header row (election_id,geography_id,geography_text,source_table).
func Ballots(b tables.Buckets) tables.Table {
	return tables.Table{
		Name:        "current_ballots",
		Description: "Current ballots and their division or organisation geography as WKT (EPSG:4326), from EveryElection",
		Bucket:      b.EE,
		Prefix:      "{ballots_prefix}/",
		Format:      tables.CSV,
		Columns: []tables.Column{
			tables.String("election_id"), tables.String("division_id"),
			{Name: "geometry", Type: "string", Comment: "WKT, no SRID; empty when source_table is None"},
			{Name: "source_table", Type: "string", Comment: "Organisation, Division or None"},
		},
		SkipHeader: true,
	}
}

// Joined is every address with its current ballot IDs, written by each
// run under its own prefix.
func Joined(b tables.Buckets) tables.Table {
	return layer.JoinedTable(b, JoinedName,
		"Every address with the sorted, distinct IDs of the current ballots containing it",
		ListColumn, "sorted, distinct, [] when none", QueryJoin)
}

// Output is where the per-outcode parquet files go: not a Glue table, but
// located like one.
func Output(b tables.Buckets) tables.Table { return layer.OutcodeFolder(b, OutputFolder) }

// Spec declares the layer for a stack.
func Spec(s layer.Settings) (layer.Spec, error) {
	b := s.Buckets
	ballots, addresses, joined, output, staging := Ballots(b), addressbase.Partitioned(b), Joined(b), Output(b), layer.OutcodeStaging(b, OutputFolder)
	twin := joined.Staging()
	raw := addressbase.Raw(b) // read by the raw UPRN gate
	prefix := map[string]string{}
	for _, t := range []tables.Table{raw, ballots, addresses, joined, output, staging} {
		p, err := t.KeyPrefix(s.Vars)
		if err != nil {
			return layer.Spec{}, err
		}
		prefix[t.Name] = p
	}
	target, err := joined.Location(s.Vars)
	if err != nil {
		return layer.Spec{}, err
	}
	db, ab, ee := s.Names.Database, b.AddressBase, b.EE
	ballotsKey := prefix[ballots.Name] + "current_elections.csv"
	export, exportGrants := layer.EEExport(layer.ExportBallots, "export_current_ballots",
		"Exports EveryElection's current ballots with their WKT to the ballots CSV", ee, ballotsKey, s.EEDatabase)
	export.Env["LOOKBACK_DAYS"] = strconv.Itoa(s.Selection.BallotsLookbackDays)
	if s.Schedule == "" {
		return layer.Spec{}, fmt.Errorf("current elections layer: a nightly schedule is required")
	}
	return layer.Spec{
		Name:         "current-elections",
		Type:         "CurrentElections",
		Output:       "currentElections",
		StateMachine: s.Names.StateMachine(StateMachineName),
		Vars:         s.Vars,
		Tables:       []tables.Table{ballots, joined, twin},
		Queries: []layer.NamedQuery{
			{Name: QueryJoin, Template: "currentelections/uprn-to-ballots", Values: validate.With(map[string]string{"database": db, "ballots_table": ballots.Name, "addressbase_table": addresses.Name, "runs_location": target + tables.RunsFolder})},
			// The gates read the staging twin: what this run wrote.
			{Name: QueryGateOneSource, Template: "gates/gate-one-source", Values: map[string]string{"database": db, "table": twin.Name}},
			{Name: QueryGateUPRNs, Template: "gates/gate-uprns", Values: map[string]string{"database": db, "source_table": addresses.Name, "target_table": twin.Name}},
			{Name: QueryGateRawUPRNs, Template: "gates/gate-uprns", Values: map[string]string{"database": db, "source_table": raw.Name, "target_table": twin.Name}},
			{Name: QueryGateConflicts, Template: "gates/gate-conflicting-duplicates", Values: map[string]string{"database": db, "table": twin.Name, "list_column": ListColumn}},
		},
		Functions: append([]layer.Function{export, layer.PlausibilityFunction()}, layer.OutcodeFunctions()...),
		Calls:     []layer.Role{layer.Guard, layer.TableLocation, layer.EmptyPrefix, layer.Query, layer.ExportBallots, layer.OutcodeSplit, layer.Plausibility, layer.Publish},
		// This layer reads addressbase_partitioned, which AddressBase
		// switches and whose older runs it deletes: their runs must not
		// overlap.
		Conflicts: []string{s.Names.StateMachine(addressbase.StateMachineName)},
		Grants: slices.Concat(exportGrants, []layer.Grant{
			{
				Role: layer.Query, Sid: "ReadLayerTables", Actions: layer.GlueRead,
				Resources: []layer.Resource{layer.Catalog, layer.Database, layer.Table(raw.Name), layer.Table(ballots.Name), layer.Table(addresses.Name), layer.Table(joined.Name), layer.Table(twin.Name)},
			},
			layer.SwitchGrant("SwitchJoined", joined),
			layer.List(layer.Query, "ListAddressBase", ab, prefix[raw.Name], prefix[addresses.Name], prefix[joined.Name]),
			layer.List(layer.Query, "ListBallots", ee, prefix[ballots.Name]),
			layer.BucketLocation(layer.Query, "BucketLocations", ab, ee),
			{
				Role: layer.Query, Sid: "ReadInputs", Actions: []string{"s3:GetObject"},
				Resources:      []layer.Resource{layer.Objects(ee, prefix[ballots.Name]), layer.Objects(ab, prefix[raw.Name]), layer.Objects(ab, prefix[addresses.Name]), layer.Objects(ab, prefix[joined.Name])},
				WildcardReason: layer.ObjectsUnderPrefix,
			},
			{
				Role: layer.Query, Sid: "WriteJoined", Actions: []string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
				Resources: []layer.Resource{layer.Objects(ab, prefix[joined.Name])}, WildcardReason: layer.ObjectsUnderPrefix,
			},
			layer.List(layer.EmptyPrefix, "ListAddressBaseBucket", ab, prefix[joined.Name]),
			{Role: layer.EmptyPrefix, Sid: "DeleteOlderJoinedRuns", Actions: []string{"s3:DeleteObject"}, Resources: []layer.Resource{layer.Objects(ab, prefix[joined.Name])}, WildcardReason: layer.ObjectsUnderPrefix},
		}, layer.OutcodeGrants(ab, prefix[joined.Name], prefix[staging.Name], prefix[output.Name]),
			layer.PlausibilityGrants(ab, prefix[staging.Name], prefix[output.Name], prefix[raw.Name], ee, ballotsKey)),
		Flow: func(rt layer.Runtime) asl.StateMachine {
			return Flow(FlowParams{
				Frame: flows.FrameFor(rt), Database: db, JoinedTable: joined.Name,
				Bucket: ab, JoinedPrefix: prefix[joined.Name], StagingPrefix: prefix[staging.Name], OutcodePrefix: prefix[output.Name],
			})
		},
		Triggers: &layer.Triggers{
			Schedule:     s.Schedule,
			Events:       []string{ElectionsSetChanged},
			DelaySeconds: s.TriggerDelaySeconds,
			Message:      `{"rebuild":"current-elections"}`,
		},
		Locations: []layer.Location{{Name: OutputLocation, Bucket: ab, Prefix: prefix[output.Name]}},
	}, nil
}
