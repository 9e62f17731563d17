package flows

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// AddressBaseParams are the deploy-time values of MakeAddressBasePartitioned.
type AddressBaseParams struct {
	Lambdas         Lambdas
	FailureTopicArn string
	// Database is the Glue database holding both tables.
	Database string
	// SourceTable is the AddressBase cleaned CSV table
	// (default addressbase_cleaned_raw).
	SourceTable string
	// TargetTable is the partitioned parquet table
	// (default addressbase_partitioned).
	TargetTable string
	// TargetBucket and TargetPrefix locate TargetTable's objects; the prefix
	// is emptied before the partition query writes it again.
	TargetBucket string
	TargetPrefix string
	// PollSeconds is the wait between Athena status calls (default 5).
	PollSeconds int
	// TimeoutSeconds bounds the whole execution (default 3600).
	TimeoutSeconds int
}

// Step names of MakeAddressBasePartitioned, in order.
const (
	StateABSetSource     = "Get source location"
	StateABEmptyTarget   = "Empty target prefix"
	StateABPartition     = "Partition AddressBase"
	StateABRepair        = "Repair partitions"
	StateABGates         = "Quality gates"
	StateABGateOneSource = "Gate one source"
	StateABGateUPRNs     = "Gate UPRN set"
)

// AddressBase builds MakeAddressBasePartitioned: guard; read the source
// table's location from Glue; empty the target prefix; run the partition
// query (its {<source>_location} placeholder comes from the Glue step); MSCK
// REPAIR the target; then the quality gates in parallel (exactly one
// addressbase_source; the same UPRN set in source and target).
func AddressBase(p AddressBaseParams) asl.StateMachine {
	source := orStr(p.SourceTable, "addressbase_cleaned_raw")
	target := orStr(p.TargetTable, "addressbase_partitioned")
	locationKey := source + "_location"
	poll := p.PollSeconds
	l := p.Lambdas

	query := func(name string, req map[string]any, resultPath, next string) AthenaQuery {
		return AthenaQuery{Name: name, Lambda: l.Query, Request: req, ResultPath: resultPath, PollSeconds: poll, Next: next}
	}
	partition := query(StateABPartition, map[string]any{
		"QueryName": tables.QueryPartitionAddressBase,
		"context":   map[string]any{locationKey + ".$": "$.source.Payload." + locationKey},
	}, "$.partition", StateABRepair)
	repair := query(StateABRepair, map[string]any{
		"QueryString": "MSCK REPAIR TABLE " + qualified(p.Database, target),
	}, "$.repair", StateABGates)
	gateOne := query(StateABGateOneSource, map[string]any{"QueryName": tables.QueryABGateOneSource}, "$.gate", "")
	gateUPRNs := query(StateABGateUPRNs, map[string]any{"QueryName": tables.QueryABGateUPRNs}, "$.gate", "")

	body := asl.Branch{
		StartAt: StateABSetSource,
		States: merge(map[string]asl.State{
			StateABSetSource: lambdaStep(l.TableLocation, map[string]any{
				"database": p.Database,
				"table":    source,
			}, "$.source", StateABEmptyTarget),
			StateABEmptyTarget: lambdaStep(l.EmptyPrefix, map[string]any{
				"bucket": p.TargetBucket,
				"prefix": p.TargetPrefix,
			}, "$.emptied", StateABPartition),
			StateABGates: asl.Parallel{
				Comment:    "A failed gate query fails the run.",
				Branches:   []asl.Branch{gateOne.Branch(), gateUPRNs.Branch()},
				ResultPath: asl.DiscardResult,
				End:        true,
			},
		}, partition.States(), repair.States()),
	}
	return guarded("MakeAddressBasePartitioned: AddressBase cleaned CSV to parquet partitioned by first letter of postcode.",
		l, p.FailureTopicArn, orInt(p.TimeoutSeconds, DefaultTimeoutSeconds), body)
}

// qualified returns database.table, or table when database is empty.
func qualified(database, table string) string {
	if database == "" {
		return table
	}
	return database + "." + table
}
