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
	// TargetBucket and TargetPrefix locate TargetTable's objects; the prefix
	// is emptied before the partition query writes it again.
	TargetBucket string
	TargetPrefix string
}

// Step names of MakeAddressBasePartitioned, in order.
const (
	StateSetSource     = "Get source location"
	StateEmptyTarget   = "Empty target prefix"
	StatePartition     = "Partition AddressBase"
	StateRepair        = "Repair partitions"
	StateGates         = "Quality gates"
	StateGateOneSource = "Gate one source"
	StateGateUPRNs     = "Gate UPRN set"
)

// Flow builds MakeAddressBasePartitioned: guard; read the source
// table's location from Glue; empty the target prefix; run the partition
// query (its {<source>_location} placeholder comes from the Glue step); MSCK
// REPAIR the target; then the quality gates in parallel (exactly one
// addressbase_source; the same UPRN set in source and target).
func Flow(p FlowParams) asl.StateMachine {
	source := flows.Or(p.SourceTable, "addressbase_cleaned_raw")
	target := flows.Or(p.TargetTable, "addressbase_partitioned")
	locationKey := source + "_location"
	l, query := p.Lambdas, p.Query
	partition := query(StatePartition, map[string]any{
		"QueryName": QueryPartition,
		"context":   map[string]any{locationKey + ".$": "$.source.Payload." + locationKey},
	}, "$.partition", StateRepair)
	repair := query(StateRepair, map[string]any{
		"QueryString": "MSCK REPAIR TABLE " + flows.Qualified(p.Database, target),
	}, "$.repair", StateGates)
	gateOne := query(StateGateOneSource, map[string]any{"QueryName": QueryGateOneSource}, "$.gate", "")
	gateUPRNs := query(StateGateUPRNs, map[string]any{"QueryName": QueryGateUPRNs}, "$.gate", "")

	body := asl.Branch{
		StartAt: StateSetSource,
		States: flows.Merge(map[string]asl.State{
			StateSetSource: flows.LambdaStep(l[layer.TableLocation], map[string]any{
				"database": p.Database,
				"table":    source,
			}, "$.source", StateEmptyTarget),
			StateEmptyTarget: flows.LambdaStep(l[layer.EmptyPrefix], map[string]any{
				"bucket": p.TargetBucket,
				"prefix": p.TargetPrefix,
			}, "$.emptied", StatePartition),
			StateGates: asl.Parallel{
				Comment:    "A failed gate query fails the run.",
				Branches:   []asl.Branch{gateOne.Branch(), gateUPRNs.Branch()},
				ResultPath: asl.DiscardResult,
				End:        true,
			},
		}, partition.States(), repair.States()),
	}
	return p.Machine("MakeAddressBasePartitioned: AddressBase cleaned CSV to parquet partitioned by first letter of postcode.", body)
}
