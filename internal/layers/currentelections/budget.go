package currentelections

import (
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// Budget is the time a full run must finish in after a deploy, as upstream's
// post-deploy check requires.
const Budget = 120 * time.Second

// The layer's own stated latencies (docs/design.md, "The 120 s budget").
const (
	// LatencyExport is the ballots export: EE's query and a CSV of about
	// 12,000 geometry pieces to S3.
	LatencyExport = 10 * time.Second
	// LatencyJoin is the one join query over every address (about 32M)
	// and every ballot piece, written partitioned by letter.
	LatencyJoin = 40 * time.Second
	// LatencyRawGate is the UPRN gate against the raw AddressBase CSV
	// (about 3 GB), the slowest gate.
	LatencyRawGate = 12 * time.Second
	// LatencyGate is a gate over the joined parquet.
	LatencyGate = 6 * time.Second
	// LatencyOutcodeLetter is the outcode Lambda on the largest letter
	// (3.5M rows): 11.4 s measured locally on 2 cores (README,
	// Performance), doubled for a 1,024 MB Lambda's CPU share.
	LatencyOutcodeLetter = 25 * time.Second
	// LatencyPublish lists the staged and the live folder (about 3,000
	// files each) and copies the changed files 32 at a time: all of them
	// after a new AddressBase release, about 5 s.
	LatencyPublish = 5 * time.Second
	// LatencyPlausibility is the plausibility gate: it reads the 26
	// letters' stats and the last manifest, and reads back only the
	// outcode files whose content changed (a handful on an ordinary run;
	// every file after a new AddressBase release, which takes far longer).
	LatencyPlausibility = 3 * time.Second
)

// DesignLatencies are the stated latencies of a run over letters letters,
// with the functions in l.
func DesignLatencies(l layer.Lambdas, letters int) flows.Latencies {
	lat := flows.BaseLatencies(l)
	lat.Lambda[layer.ExportBallots] = LatencyExport
	lat.Lambda[layer.OutcodeSplit] = LatencyOutcodeLetter
	lat.Lambda[layer.Publish] = LatencyPublish
	lat.Lambda[layer.Plausibility] = LatencyPlausibility
	lat.Query[QueryJoin] = LatencyJoin
	lat.Query[QueryGateRawUPRNs] = LatencyRawGate
	for _, q := range []string{QueryGateOneSource, QueryGateUPRNs, QueryGateConflicts} {
		lat.Query[q] = LatencyGate
	}
	lat.Items["$.config.letters"] = letters
	return lat
}
