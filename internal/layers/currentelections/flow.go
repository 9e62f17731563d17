package currentelections

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
)

// FlowParams are the deploy-time values of MakeCurrentElectionsParquet.
type FlowParams struct {
	flows.Frame
	// Database is the Glue database holding JoinedTable.
	Database string
	// JoinedTable is the join's table
	// (default current_ballots_joined_to_address_base).
	JoinedTable string
	// Bucket holds both the joined parquet and the outcode files.
	Bucket string
	// JoinedPrefix is JoinedTable's home: each run writes under
	// JoinedPrefix runs/<execution name>/.
	JoinedPrefix string
	// StagingPrefix is where the split writes <OUTCODE>.parquet files, and
	// OutcodePrefix where the publish copies the changed ones.
	StagingPrefix string
	OutcodePrefix string
	// Letters are the postcode first letters to process (default A–Z).
	Letters []string
	// OutcodeMaxConcurrency bounds the parallel outcode Lambdas (default:
	// every letter at once, which the 120 s budget needs).
	OutcodeMaxConcurrency int
	// Plausibility are the plausibility gate's thresholds (zero fields:
	// manifest.DefaultThresholds).
	Plausibility manifest.Thresholds
}

// Step names of MakeCurrentElectionsParquet, in order.
const (
	StateSetLetters    = "Set letters"
	StatePointStaging  = "Point joined staging table at this run"
	StateExport        = "Export ballots"
	StateJoin          = "Join ballots to addresses"
	StateGates         = "Joined quality gates"
	StateGateOneSource = "Gate one addressbase_source"
	StateGateUPRNs     = "Gate UPRN checksum"
	StateGateRawUPRNs  = "Gate UPRN checksum against the raw source"
	StateGateConflicts = "Gate no conflicting duplicates"
	StatePlausibility  = "Plausibility gate"
	StateOutcodes      = "Write outcode files"
	StateOutcodeLetter = "Write one letter's outcodes"
	StatePublish       = "Publish outcode files"
	StateSwitch        = "Switch joined table to this run"
	StateCleanUp       = "Delete older joined runs"
)

// Flow builds MakeCurrentElectionsParquet: guard; point the joined table's
// staging twin at this run's prefix; export current ballots; one join query
// written partitioned by first letter under that prefix; quality gates in
// parallel against the twin; write every letter's outcode files to the
// staging prefix at once in a Map, from the run's prefix; the plausibility
// gate against the last manifest; publish the changed files, delete the
// stale ones and copy the manifest live; then point the joined table at the
// run (so it holds what was published) and delete older runs but the
// previous one. One query and one round of outcode Lambdas keep the run
// inside its 120 s budget (Budget).
func Flow(p FlowParams) asl.StateMachine {
	joined := flows.Or(p.JoinedTable, JoinedName)
	letters := p.Letters
	if len(letters) == 0 {
		letters = flows.DefaultLetters()
	}
	l, query := p.Lambdas, p.Query

	rs := flows.RunScoped{Database: p.Database, Table: joined, Bucket: p.Bucket, Prefix: p.JoinedPrefix}
	join := query(StateJoin, map[string]any{
		"QueryName": QueryJoin,
		"context":   map[string]any{flows.RunPlaceholder + ".$": flows.RunName},
	}, "$.query", StateGates)
	body := asl.Branch{
		StartAt: StateSetLetters,
		States: flows.Merge(map[string]asl.State{
			StateSetLetters: asl.Pass{
				Result:     map[string]any{"letters": letters},
				ResultPath: "$.config",
				Next:       StatePointStaging,
			},
			StatePointStaging: p.PointStaging(rs, StateExport),
			StateExport:       flows.LambdaStep(l[layer.ExportBallots], map[string]any{}, "$.ballots", StateJoin),
			// addressbase_partitioned can itself be wrong (an AddressBase run
			// that failed half-way, or one against another release): the raw
			// gate compares with the raw source too, so such a run never
			// reaches the nightly publish. A UPRN under two first letters is
			// invisible to each letter's split, so conflicts are checked
			// across the whole table before publishing.
			StateGates: p.Gates(StateOutcodes,
				flows.Gate{State: StateGateOneSource, Query: QueryGateOneSource},
				flows.Gate{State: StateGateUPRNs, Query: QueryGateUPRNs},
				flows.Gate{State: StateGateRawUPRNs, Query: QueryGateRawUPRNs},
				flows.Gate{State: StateGateConflicts, Query: QueryGateConflicts}),
		}, join.States(), p.OutcodeStates(flows.Outcodes{
			Map: StateOutcodes, Letter: StateOutcodeLetter, Publish: StatePublish, Next: StateSwitch,
			Bucket: p.Bucket, JoinedPrefix: p.JoinedPrefix, RunJoined: &rs, StagingPrefix: p.StagingPrefix, OutcodePrefix: p.OutcodePrefix,
			ListColumn: ListColumn, MaxConcurrency: flows.Or(p.OutcodeMaxConcurrency, len(letters)),
			// The gate reads the staged files and the export's ballots CSV.
			Plausibility: &flows.Plausibility{State: StatePlausibility, AreasPath: "$.ballots.Payload", Thresholds: p.Plausibility},
		}), p.SwitchStates(rs, StateSwitch, StateCleanUp, "")),
	}
	return p.Machine("MakeCurrentElectionsParquet: current ballots joined to AddressBase, published as one parquet file per outcode.", body)
}
