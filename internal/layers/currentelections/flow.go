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
	// JoinedTable is the per-letter join's table
	// (default current_ballots_joined_to_address_base).
	JoinedTable string
	// Bucket holds both the joined parquet and the outcode files.
	Bucket string
	// JoinedPrefix is JoinedTable's prefix, emptied at the start.
	JoinedPrefix string
	// OutcodePrefix is where <OUTCODE>.parquet files are published.
	OutcodePrefix string
	// Letters are the postcode first letters to process (default A–Z).
	Letters []string
	// MaxConcurrency bounds the parallel join queries, so the Athena
	// concurrent-query quota is respected (default 4).
	MaxConcurrency int
	// OutcodeMaxConcurrency bounds the parallel outcode Lambdas (default 4).
	OutcodeMaxConcurrency int
	// Plausibility are the plausibility gate's thresholds (zero fields:
	// manifest.DefaultThresholds).
	Plausibility manifest.Thresholds
}

// Step names of MakeCurrentElectionsParquet, in order.
const (
	StateSetLetters    = "Set letters"
	StateEmptyJoined   = "Empty joined prefix"
	StateExport        = "Export ballots"
	StateJoinLetters   = "Join letters"
	StateJoinLetter    = "Join one letter"
	StateRepair        = "Repair joined partitions"
	StateGates         = "Joined quality gates"
	StateGateOneSource = "Gate one addressbase_source"
	StateGateUPRNs     = "Gate UPRN checksum"
	StateGateRawUPRNs  = "Gate UPRN checksum against the raw source"
	StateGateConflicts = "Gate no conflicting duplicates"
	StatePlausibility  = "Plausibility gate"
	StateOutcodes      = "Write outcode files"
	StateOutcodeLetter = "Write one letter's outcodes"
	StateDeleteStale   = "Delete stale outcodes"
)

// Flow builds MakeCurrentElectionsParquet: guard; empty the
// joined prefix; export current ballots; join each letter in a bounded Map;
// MSCK REPAIR the joined table; quality gates in parallel; the
// plausibility gate against the last manifest; write each
// letter's outcode files in a bounded Map; delete outcode files that no
// letter produced, passing the Map's results.
func Flow(p FlowParams) asl.StateMachine {
	joined := flows.Or(p.JoinedTable, JoinedName)
	letters := p.Letters
	if len(letters) == 0 {
		letters = flows.DefaultLetters()
	}
	l, query := p.Lambdas, p.Query

	joinLetter := query(StateJoinLetter, map[string]any{
		"QueryName": QueryJoinLetter,
		"context":   map[string]any{"first_letter.$": "$.first_letter"},
	}, "$.query", "")
	repair := query(StateRepair, map[string]any{
		"QueryString": "MSCK REPAIR TABLE " + flows.Qualified(p.Database, joined),
	}, "$.repair", StateGates)
	publish := flows.Outcodes{
		Map: StateOutcodes, Letter: StateOutcodeLetter, Delete: StateDeleteStale,
		Bucket: p.Bucket, JoinedPrefix: p.JoinedPrefix, OutcodePrefix: p.OutcodePrefix,
		ListColumn: ListColumn, MaxConcurrency: p.OutcodeMaxConcurrency,
	}
	body := asl.Branch{
		StartAt: StateSetLetters,
		States: flows.Merge(map[string]asl.State{
			StateSetLetters: asl.Pass{
				Result:     map[string]any{"letters": letters},
				ResultPath: "$.config",
				Next:       StateEmptyJoined,
			},
			StateEmptyJoined: flows.LambdaStep(l[layer.EmptyPrefix], map[string]any{
				"bucket": p.Bucket,
				"prefix": p.JoinedPrefix,
			}, "$.emptied", StateExport),
			StateExport: flows.LambdaStep(l[layer.ExportBallots], map[string]any{}, "$.ballots", StateJoinLetters),
			StateJoinLetters: asl.Map{
				Comment:        "One Athena join per letter, bounded to respect the concurrent-query quota.",
				ItemsPath:      "$.config.letters",
				ItemSelector:   flows.LetterItem,
				MaxConcurrency: flows.Or(p.MaxConcurrency, flows.DefaultMaxConcurrency),
				ItemProcessor:  asl.ItemProcessor{StartAt: joinLetter.Name, States: joinLetter.States()},
				ResultPath:     asl.DiscardResult,
				Next:           StateRepair,
			},
			// addressbase_partitioned can itself be wrong (an AddressBase run
			// that failed half-way, or one against another release): the raw
			// gate compares with the raw source too, so such a run never
			// reaches the nightly publish. A UPRN under two first letters is
			// invisible to each letter's split, so conflicts are checked
			// across the whole table before publishing.
			StateGates: p.Gates(StatePlausibility,
				flows.Gate{State: StateGateOneSource, Query: QueryGateOneSource},
				flows.Gate{State: StateGateUPRNs, Query: QueryGateUPRNs},
				flows.Gate{State: StateGateRawUPRNs, Query: QueryGateRawUPRNs},
				flows.Gate{State: StateGateConflicts, Query: QueryGateConflicts}),
			StatePlausibility: p.PlausibilityGate(publish, "$.ballots.Payload", p.Plausibility, StateOutcodes),
		}, repair.States(), p.OutcodeStates(publish)),
	}
	return p.Machine("MakeCurrentElectionsParquet: current ballots joined to AddressBase, published as one parquet file per outcode.", body)
}
