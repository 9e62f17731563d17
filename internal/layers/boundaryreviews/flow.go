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
	// ChangesPrefix and JoinedPrefix are the tables' homes: each run writes
	// under <prefix>runs/<execution name>/.
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
	StateSetLetters          = "Set letters"
	StatePointChangesStaging = "Point changes staging table at this run"
	StatePointJoinedStaging  = "Point joined staging table at this run"
	StateExport              = "Export boundary reviews"
	StateJoinReviews         = "Join reviews and divisions"
	StateJoinLetters         = "Aggregate letters"
	StateJoinLetter          = "Aggregate one letter"
	StateGates               = "Joined quality gates"
	StateGateOneSource       = "Gate one addressbase_source"
	StateGateUPRNs           = "Gate UPRN checksum"
	StateGateRawUPRNs        = "Gate UPRN checksum against the raw source"
	StateGateConflicts       = "Gate no conflicting duplicates"
	StateOutcodes            = "Write outcode files"
	StateOutcodeLetter       = "Write one letter's outcodes"
	StatePublish             = "Publish outcode files"
	StateSwitchJoined        = "Switch joined table to this run"
	StateCleanUpJoined       = "Delete older joined runs"
	StateSwitchChanges       = "Switch changes table to this run"
	StateCleanUpChanges      = "Delete older changes runs"
)

// Flow builds MakeBoundaryReviewsParquet: guard; point the changes and
// joined tables' staging twins at this run's prefixes; export the reviews;
// join every review with the addresses in one query (a change's scenario
// needs a division's whole UPRN set, whose postcodes span letters), written
// per letter under the run's changes prefix; aggregate each letter per UPRN
// in a bounded Map, reading the changes twin and writing under the run's
// joined prefix; quality gates in parallel against the joined twin; write
// each letter's outcode files to the staging prefix in a bounded Map, from
// the run's joined prefix; publish the changed files; then point both
// tables at the run (so they hold what was published) and delete their
// older runs but the previous one. Partition projection finds the letters,
// so nothing is repaired and no prefix emptied.
func Flow(p FlowParams) asl.StateMachine {
	changes := flows.Or(p.ChangesTable, ChangesName)
	joined := flows.Or(p.JoinedTable, JoinedName)
	letters := p.Letters
	if len(letters) == 0 {
		letters = flows.DefaultLetters()
	}
	l, query := p.Lambdas, p.Query

	rsChanges := flows.RunScoped{Database: p.Database, Table: changes, Bucket: p.Bucket, Prefix: p.ChangesPrefix}
	rsJoined := flows.RunScoped{Database: p.Database, Table: joined, Bucket: p.Bucket, Prefix: p.JoinedPrefix}
	join := query(StateJoinReviews, map[string]any{
		"QueryName": QueryChanges,
		"context":   map[string]any{flows.RunPlaceholder + ".$": flows.RunName},
	}, "$.query", StateJoinLetters)
	joinLetter := query(StateJoinLetter, map[string]any{
		"QueryName": QueryJoinLetter,
		"context":   map[string]any{"first_letter.$": "$.first_letter", flows.RunPlaceholder + ".$": flows.RunName},
	}, "$.query", "")
	body := asl.Branch{
		StartAt: StateSetLetters,
		States: flows.Merge(map[string]asl.State{
			StateSetLetters: asl.Pass{
				Result:     map[string]any{"letters": letters},
				ResultPath: "$.config",
				Next:       StatePointChangesStaging,
			},
			StatePointChangesStaging: p.PointStaging(rsChanges, StatePointJoinedStaging),
			StatePointJoinedStaging:  p.PointStaging(rsJoined, StateExport),
			StateExport:              flows.LambdaStep(l[layer.ExportBoundaryReviews], map[string]any{}, "$.reviews", StateJoinReviews),
			StateJoinLetters: asl.Map{
				Comment:        "One Athena aggregation per letter, bounded to respect the concurrent-query quota.",
				ItemsPath:      "$.config.letters",
				ItemSelector:   flows.LetterItem,
				MaxConcurrency: flows.Or(p.MaxConcurrency, flows.DefaultMaxConcurrency),
				ItemProcessor:  asl.ItemProcessor{StartAt: joinLetter.Name, States: joinLetter.States()},
				ResultPath:     asl.DiscardResult,
				Next:           StateGates,
			},
			// As for CurrentElections: the raw gate keeps a bad AddressBase
			// run from the publish, and conflicts are checked across letters.
			StateGates: p.Gates(StateOutcodes,
				flows.Gate{State: StateGateOneSource, Query: QueryGateOneSource},
				flows.Gate{State: StateGateUPRNs, Query: QueryGateUPRNs},
				flows.Gate{State: StateGateRawUPRNs, Query: QueryGateRawUPRNs},
				flows.Gate{State: StateGateConflicts, Query: QueryGateConflicts}),
		}, join.States(), p.OutcodeStates(flows.Outcodes{
			Map: StateOutcodes, Letter: StateOutcodeLetter, Publish: StatePublish, Next: StateSwitchJoined,
			Bucket: p.Bucket, JoinedPrefix: p.JoinedPrefix, RunJoined: &rsJoined, StagingPrefix: p.StagingPrefix, OutcodePrefix: p.OutcodePrefix,
			ListColumn: ListColumn, MaxConcurrency: p.OutcodeMaxConcurrency,
		}), p.SwitchStates(rsJoined, StateSwitchJoined, StateCleanUpJoined, StateSwitchChanges),
			p.SwitchStates(rsChanges, StateSwitchChanges, StateCleanUpChanges, "")),
	}
	return p.Machine("MakeBoundaryReviewsParquet: boundary reviews joined to AddressBase, published as one parquet file per outcode.", body)
}
