package addressbase

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// FlowParams are the deploy-time values of MakeAddressBasePartitioned.
type FlowParams struct {
	flows.Frame
	// Database is the Glue database holding both tables.
	Database string
	// SourceTable is the AddressBase cleaned CSV table
	// (default addressbase_cleaned_raw).
	SourceTable string
	// TargetTable is the partitioned parquet table
	// (default addressbase_partitioned).
	TargetTable string
	// TargetBucket and TargetPrefix are TargetTable's home: each run writes
	// under TargetPrefix runs/<execution name>/.
	TargetBucket string
	TargetPrefix string
}

// Step names of MakeAddressBasePartitioned, in order.
const (
	StateSetSource     = "Get source location"
	StatePointStaging  = "Point staging table at this run"
	StatePartition     = "Partition AddressBase"
	StateGates         = "Quality gates"
	StateGateOneSource = "Gate one source"
	StateGateUPRNs     = "Gate UPRN set"
	StateSwitch        = "Switch table to this run"
	StateCleanUp       = "Delete older runs"
)

// Flow builds MakeAddressBasePartitioned: guard; read the source table's
// location from Glue; point the target's staging twin at this run's prefix;
// run the partition query into that prefix (its {<source>_location}
// placeholder comes from the Glue step, {run} is the execution's name);
// the quality gates in parallel against the twin (exactly one
// addressbase_source; the same UPRN set in source and target); only then
// point the target table at the run's prefix, and delete older runs but
// the previous one. A failed gate leaves the table where it was.
func Flow(p FlowParams) asl.StateMachine {
	source := flows.Or(p.SourceTable, "addressbase_cleaned_raw")
	target := flows.Or(p.TargetTable, PartitionedName)
	locationKey := source + "_location"
	l, query := p.Lambdas, p.Query
	rs := flows.RunScoped{Database: p.Database, Table: target, Bucket: p.TargetBucket, Prefix: p.TargetPrefix}
	partition := query(StatePartition, map[string]any{
		"QueryName": QueryPartition,
		"context": map[string]any{
			locationKey + ".$":          "$.source.Payload." + locationKey,
			flows.RunPlaceholder + ".$": flows.RunName,
		},
	}, "$.partition", StateGates)

	body := asl.Branch{
		StartAt: StateSetSource,
		States: flows.Merge(map[string]asl.State{
			StateSetSource: flows.LambdaStep(l[layer.TableLocation], map[string]any{
				"database": p.Database,
				"table":    source,
			}, "$.source", StatePointStaging),
			StatePointStaging: p.PointStaging(rs, StatePartition),
			StateGates: p.Gates(StateSwitch,
				flows.Gate{State: StateGateOneSource, Query: QueryGateOneSource},
				flows.Gate{State: StateGateUPRNs, Query: QueryGateUPRNs}),
		}, partition.States(), p.SwitchStates(rs, StateSwitch, StateCleanUp, "")),
	}
	return p.Machine("MakeAddressBasePartitioned: AddressBase cleaned CSV to parquet partitioned by first letter of postcode.", body)
}
