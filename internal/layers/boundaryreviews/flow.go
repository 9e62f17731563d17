package boundaryreviews

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// FlowParams are the deploy-time values of MakeBoundaryReviewsParquet.
type FlowParams struct {
	flows.Frame
	// Database is the Glue database holding the layer's tables.
	Database string
	// ChangesTable and JoinedTable are the join's and the per-letter
	// aggregation's tables (defaults ChangesName and JoinedName).
	ChangesTable, JoinedTable string
	// Bucket holds the layer's parquet and the outcode files.
	Bucket string
	// ChangesPrefix and JoinedPrefix are emptied at the start.
	ChangesPrefix, JoinedPrefix string
	// StagingPrefix is where the split writes <OUTCODE>.parquet files, and
	// OutcodePrefix where the publish copies the changed ones.
	StagingPrefix string
	OutcodePrefix string
	// Letters are the postcode first letters to process (default A–Z).
	Letters []string
	// MaxConcurrency bounds the parallel aggregation queries (default 4).
	MaxConcurrency int
	// OutcodeMaxConcurrency bounds the parallel outcode Lambdas (default 4).
	OutcodeMaxConcurrency int
}

// Step names of MakeBoundaryReviewsParquet, in order.
const (
	StateSetLetters    = "Set letters"
	StateEmptyChanges  = "Empty changes prefix"
	StateEmptyJoined   = "Empty joined prefix"
	StateExport        = "Export boundary reviews"
	StateJoinReviews   = "Join reviews and divisions"
	StateRepairChanges = "Repair changes partitions"
	StateJoinLetters   = "Aggregate letters"
	StateJoinLetter    = "Aggregate one letter"
	StateRepair        = "Repair joined partitions"
	StateGates         = "Joined quality gates"
	StateGateOneSource = "Gate one addressbase_source"
	StateGateUPRNs     = "Gate UPRN checksum"
	StateGateRawUPRNs  = "Gate UPRN checksum against the raw source"
	StateGateConflicts = "Gate no conflicting duplicates"
	StateOutcodes      = "Write outcode files"
	StateOutcodeLetter = "Write one letter's outcodes"
	StatePublish       = "Publish outcode files"
)

// Flow builds MakeBoundaryReviewsParquet: guard; empty the changes and
// joined prefixes; export the reviews; join every review with the
// addresses in one query (a change's scenario needs a division's whole
// UPRN set, whose postcodes span letters), written per letter; MSCK
// REPAIR it; aggregate each letter per UPRN in a bounded Map; MSCK REPAIR
// the joined table; quality gates in parallel; write each letter's outcode
// files in a bounded Map; delete outcode files that no letter produced.
func Flow(p FlowParams) asl.StateMachine {
	changes := flows.Or(p.ChangesTable, ChangesName)
	joined := flows.Or(p.JoinedTable, JoinedName)
	letters := p.Letters
	if len(letters) == 0 {
		letters = flows.DefaultLetters()
	}
	l, query := p.Lambdas, p.Query

	join := query(StateJoinReviews, map[string]any{"QueryName": QueryChanges}, "$.query", StateRepairChanges)
	repairChanges := query(StateRepairChanges, map[string]any{
		"QueryString": "MSCK REPAIR TABLE " + flows.Qualified(p.Database, changes),
	}, "$.repair", StateJoinLetters)
	joinLetter := query(StateJoinLetter, map[string]any{
		"QueryName": QueryJoinLetter,
		"context":   map[string]any{"first_letter.$": "$.first_letter"},
	}, "$.query", "")
	repair := query(StateRepair, map[string]any{
		"QueryString": "MSCK REPAIR TABLE " + flows.Qualified(p.Database, joined),
	}, "$.repair", StateGates)
	body := asl.Branch{
		StartAt: StateSetLetters,
		States: flows.Merge(map[string]asl.State{
			StateSetLetters: asl.Pass{
				Result:     map[string]any{"letters": letters},
				ResultPath: "$.config",
				Next:       StateEmptyChanges,
			},
			StateEmptyChanges: flows.LambdaStep(l[layer.EmptyPrefix], map[string]any{
				"bucket": p.Bucket,
				"prefix": p.ChangesPrefix,
			}, "$.emptied", StateEmptyJoined),
			StateEmptyJoined: flows.LambdaStep(l[layer.EmptyPrefix], map[string]any{
				"bucket": p.Bucket,
				"prefix": p.JoinedPrefix,
			}, "$.emptied", StateExport),
			StateExport: flows.LambdaStep(l[layer.ExportBoundaryReviews], map[string]any{}, "$.reviews", StateJoinReviews),
			StateJoinLetters: asl.Map{
				Comment:        "One Athena aggregation per letter, bounded to respect the concurrent-query quota.",
				ItemsPath:      "$.config.letters",
				ItemSelector:   flows.LetterItem,
				MaxConcurrency: flows.Or(p.MaxConcurrency, flows.DefaultMaxConcurrency),
				ItemProcessor:  asl.ItemProcessor{StartAt: joinLetter.Name, States: joinLetter.States()},
				ResultPath:     asl.DiscardResult,
				Next:           StateRepair,
			},
			// As for CurrentElections: the raw gate keeps a bad AddressBase
			// run from the publish, and conflicts are checked across letters.
			StateGates: p.Gates(StateOutcodes,
				flows.Gate{State: StateGateOneSource, Query: QueryGateOneSource},
				flows.Gate{State: StateGateUPRNs, Query: QueryGateUPRNs},
				flows.Gate{State: StateGateRawUPRNs, Query: QueryGateRawUPRNs},
				flows.Gate{State: StateGateConflicts, Query: QueryGateConflicts}),
		}, join.States(), repairChanges.States(), repair.States(), p.OutcodeStates(flows.Outcodes{
			Map: StateOutcodes, Letter: StateOutcodeLetter, Publish: StatePublish,
			Bucket: p.Bucket, JoinedPrefix: p.JoinedPrefix, StagingPrefix: p.StagingPrefix, OutcodePrefix: p.OutcodePrefix,
			ListColumn: ListColumn, MaxConcurrency: p.OutcodeMaxConcurrency,
		})),
	}
	return p.Machine("MakeBoundaryReviewsParquet: boundary reviews joined to AddressBase, published as one parquet file per outcode.", body)
}
