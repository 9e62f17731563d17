package flows

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// CurrentElectionsParams are the deploy-time values of
// MakeCurrentElectionsParquet.
type CurrentElectionsParams struct {
	Lambdas         Lambdas
	FailureTopicArn string
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
	// PollSeconds is the wait between Athena status calls (default 5).
	PollSeconds int
	// TimeoutSeconds bounds the whole execution (default 3600).
	TimeoutSeconds int
}

// Step names of MakeCurrentElectionsParquet, in order.
const (
	StateCESetLetters    = "Set letters"
	StateCEEmptyJoined   = "Empty joined prefix"
	StateCEExport        = "Export ballots"
	StateCEJoinLetters   = "Join letters"
	StateCEJoinLetter    = "Join one letter"
	StateCERepair        = "Repair joined partitions"
	StateCEGates         = "Joined quality gates"
	StateCEGateOneSource = "Gate one addressbase_source"
	StateCEGateUPRNs     = "Gate UPRN checksum"
	StateCEGateRawUPRNs  = "Gate UPRN checksum against the raw source"
	StateCEGateConflicts = "Gate no conflicting duplicates"
	StateCEOutcodes      = "Write outcode files"
	StateCEOutcodeLetter = "Write one letter's outcodes"
	StateCEDeleteStale   = "Delete stale outcodes"
)

// CurrentElections builds MakeCurrentElectionsParquet: guard; empty the
// joined prefix; export current ballots; join each letter in a bounded Map;
// MSCK REPAIR the joined table; quality gates in parallel; write each
// letter's outcode files in a bounded Map; delete outcode files that no
// letter produced, passing the Map's results.
func CurrentElections(p CurrentElectionsParams) asl.StateMachine {
	joined := orStr(p.JoinedTable, "current_ballots_joined_to_address_base")
	letters := p.Letters
	if len(letters) == 0 {
		letters = DefaultLetters()
	}
	poll := p.PollSeconds
	l := p.Lambdas
	query := func(name string, req map[string]any, resultPath, next string) AthenaQuery {
		return AthenaQuery{Name: name, Lambda: l.Query, Request: req, ResultPath: resultPath, PollSeconds: poll, Next: next}
	}

	joinLetter := query(StateCEJoinLetter, map[string]any{
		"QueryName": tables.QueryJoinLetter,
		"context":   map[string]any{"first_letter.$": "$.first_letter"},
	}, "$.query", "")
	repair := query(StateCERepair, map[string]any{
		"QueryString": "MSCK REPAIR TABLE " + qualified(p.Database, joined),
	}, "$.repair", StateCEGates)
	gateOne := query(StateCEGateOneSource, map[string]any{"QueryName": tables.QueryCEGateOneSource}, "$.gate", "")
	gateUPRNs := query(StateCEGateUPRNs, map[string]any{"QueryName": tables.QueryCEGateUPRNs}, "$.gate", "")
	// addressbase_partitioned can itself be wrong (an AddressBase run that
	// failed half-way, or one against another release): compare with the
	// raw source too, so such a run never reaches the nightly publish.
	gateRaw := query(StateCEGateRawUPRNs, map[string]any{"QueryName": tables.QueryCEGateRawUPRNs}, "$.gate", "")
	// A UPRN under two first letters is invisible to each letter's split, so
	// conflicts are checked across the whole table before publishing.
	gateConflicts := query(StateCEGateConflicts, map[string]any{"QueryName": tables.QueryCEGateConflicts}, "$.gate", "")

	outcodes := asl.LambdaTask(l.OutcodeSplit, map[string]any{
		"bucket":         p.Bucket,
		"source_prefix":  p.JoinedPrefix,
		"dest_prefix":    p.OutcodePrefix,
		"first_letter.$": "$.first_letter",
	})
	// Each iteration's output is the Lambda's response, so the Map's result
	// is the list delete_stale_outcodes expects.
	outcodes.OutputPath = "$.Payload"
	outcodes.End = true

	letterItem := map[string]any{"first_letter.$": "$$.Map.Item.Value"}
	body := asl.Branch{
		StartAt: StateCESetLetters,
		States: merge(map[string]asl.State{
			StateCESetLetters: asl.Pass{
				Result:     map[string]any{"letters": letters},
				ResultPath: "$.config",
				Next:       StateCEEmptyJoined,
			},
			StateCEEmptyJoined: lambdaStep(l.EmptyPrefix, map[string]any{
				"bucket": p.Bucket,
				"prefix": p.JoinedPrefix,
			}, "$.emptied", StateCEExport),
			StateCEExport: lambdaStep(l.ExportBallots, map[string]any{}, "$.ballots", StateCEJoinLetters),
			StateCEJoinLetters: asl.Map{
				Comment:        "One Athena join per letter, bounded to respect the concurrent-query quota.",
				ItemsPath:      "$.config.letters",
				ItemSelector:   letterItem,
				MaxConcurrency: orInt(p.MaxConcurrency, DefaultMaxConcurrency),
				ItemProcessor:  asl.ItemProcessor{StartAt: joinLetter.Name, States: joinLetter.States()},
				ResultPath:     asl.DiscardResult,
				Next:           StateCERepair,
			},
			StateCEGates: asl.Parallel{
				Comment:    "A failed gate query fails the run before anything is published.",
				Branches:   []asl.Branch{gateOne.Branch(), gateUPRNs.Branch(), gateRaw.Branch(), gateConflicts.Branch()},
				ResultPath: asl.DiscardResult,
				Next:       StateCEOutcodes,
			},
			StateCEOutcodes: asl.Map{
				ItemsPath:      "$.config.letters",
				ItemSelector:   letterItem,
				MaxConcurrency: orInt(p.OutcodeMaxConcurrency, DefaultMaxConcurrency),
				ItemProcessor: asl.ItemProcessor{
					StartAt: StateCEOutcodeLetter,
					States:  map[string]asl.State{StateCEOutcodeLetter: outcodes},
				},
				ResultPath: "$.letters",
				Next:       StateCEDeleteStale,
			},
			StateCEDeleteStale: lambdaStep(l.DeleteStale, map[string]any{
				"bucket":      p.Bucket,
				"dest_prefix": p.OutcodePrefix,
				"letters.$":   "$.letters",
			}, "$.stale", ""),
		}, repair.States()),
	}
	return guarded("MakeCurrentElectionsParquet: current ballots joined to AddressBase, published as one parquet file per outcode.",
		l, p.FailureTopicArn, orInt(p.TimeoutSeconds, DefaultTimeoutSeconds), body)
}
