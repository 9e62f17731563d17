package flows

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
)

// Gate is one quality gate: the state that runs it and its named query.
type Gate struct{ State, Query string }

// Gates runs the gate queries in parallel; a failed gate query fails the
// run before anything is published.
func (f Frame) Gates(next string, gates ...Gate) asl.Parallel {
	branches := make([]asl.Branch, len(gates))
	for i, g := range gates {
		branches[i] = f.Query(g.State, map[string]any{"QueryName": g.Query}, "$.gate", "").Branch()
	}
	return asl.Parallel{
		Comment:    "A failed gate query fails the run before anything is published.",
		Branches:   branches,
		ResultPath: asl.DiscardResult,
		Next:       next,
	}
}

// Outcodes are a layer's per-outcode publish: the joined table's letters
// split into <OUTCODE>.parquet files under StagingPrefix, then, once every
// letter has succeeded, the changed files copied to OutcodePrefix and the
// stale ones deleted in one step. A failed letter publishes nothing.
type Outcodes struct {
	// Map and Letter name the bounded Map and its one step, Publish the
	// publish, and Next the state after it (none: the publish ends the
	// branch).
	Map, Letter, Publish, Next string
	// Bucket holds the joined parquet, the staged and the live outcode
	// files.
	Bucket, JoinedPrefix, StagingPrefix, OutcodePrefix string
	// RunJoined, when set, is the run-scoped joined table the split reads:
	// this run's prefix below JoinedPrefix.
	RunJoined *RunScoped
	// ListColumn is the joined table's list<string> column.
	ListColumn string
	// MaxConcurrency bounds the parallel outcode Lambdas (default 4).
	MaxConcurrency int
	// Plausibility, when set, is the plausibility gate between the Map and
	// the publish (see PlausibilityGate); the publish then copies the
	// manifest it staged live after the files.
	Plausibility *Plausibility
}

// LetterItem is a letters Map's item: {"first_letter": <letter>}.
var LetterItem = map[string]any{"first_letter.$": "$$.Map.Item.Value"}

// OutcodeStates write each of $.config.letters' outcode files to the
// staging prefix in a bounded Map, then publish them, passing the Map's
// results.
func (f Frame) OutcodeStates(o Outcodes) map[string]asl.State {
	splitPayload := map[string]any{
		"bucket":         o.Bucket,
		"source_prefix":  o.JoinedPrefix,
		"dest_prefix":    o.StagingPrefix,
		"first_letter.$": "$.first_letter",
		"list_column":    o.ListColumn,
	}
	if o.Plausibility != nil {
		// Each split also writes its files' stats for the gate.
		splitPayload["stats_prefix"] = manifest.StatsPrefix(o.StagingPrefix)
	}
	if o.RunJoined != nil {
		delete(splitPayload, "source_prefix")
		splitPayload["source_prefix.$"] = o.RunJoined.RunKeyPrefix()
	}
	split := asl.LambdaTask(f.Lambdas[layer.OutcodeSplit], splitPayload)
	// Each iteration's output is the Lambda's response, so the Map's result
	// is the list publish_outcodes expects.
	split.OutputPath = "$.Payload"
	split.End = true
	states := map[string]asl.State{
		o.Map: asl.Map{
			ItemsPath:      "$.config.letters",
			ItemSelector:   LetterItem,
			MaxConcurrency: Or(o.MaxConcurrency, DefaultMaxConcurrency),
			ItemProcessor:  asl.ItemProcessor{StartAt: o.Letter, States: map[string]asl.State{o.Letter: split}},
			ResultPath:     "$.letters",
			Next:           o.Publish,
		},
	}
	publish := map[string]any{
		"bucket":         o.Bucket,
		"staging_prefix": o.StagingPrefix,
		"dest_prefix":    o.OutcodePrefix,
		"letters.$":      "$.letters",
	}
	if g := o.Plausibility; g != nil {
		m := states[o.Map].(asl.Map)
		m.Next = g.State
		states[o.Map] = m
		states[g.State] = f.plausibilityGate(o, *g)
		publish["manifest"] = map[string]any{"from": manifest.Key(o.StagingPrefix), "to": manifest.Key(o.OutcodePrefix)}
	}
	states[o.Publish] = LambdaStep(f.Lambdas[layer.Publish], publish, "$.published", o.Next)
	return states
}
