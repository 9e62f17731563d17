package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
)

func init() {
	commands["bake"] = command{summary: "run the AddressBase and CurrentElections layers from local CSVs", run: runBake}
}

const bakeUsage = `Usage: databaker bake --addressbase <csv> --ballots <csv> [--boundary-reviews <csv>] --out <dir>

Bake runs the AddressBase layer and the CurrentElections layer locally, and
the BoundaryReviews layer when --boundary-reviews is given, and writes each
layer's product under --out, in the same layout and schema as on S3:

	current_elections_parquet/<OUTCODE>.parquet
	current_boundary_reviews_parquet/<OUTCODE>.parquet

With --keep-intermediate it also writes the tables the cloud path keeps
between its queries, as on S3 (the bake itself passes rows between layers
without them):

	addressbase_partitioned/first_letter=X/part-00000.parquet
	current_ballots_joined_to_address_base/first_letter=X/part-00000.parquet
	boundary_review_address_changes/first_letter=X/part-00000.parquet
	current_boundary_reviews_joined_to_address_base/first_letter=X/part-00000.parquet

--out is replaced in one atomic step: bad input, Ctrl-C or a kill leaves it
as it was, and unchanged outcode files keep their bytes. A symlinked --out
is followed and kept, and --out keeps its mode. A second bake into the same
--out fails at once while one runs (lock: .<name>.lock beside it); a later
bake removes the .<name>.staging-* folders a killed one left. The exit
status is 0 if and only if the new output was published (130 after Ctrl-C).

Beside each outcode folder the bake writes a run manifest (such as
current_elections_manifest/manifest.json) and prints what changed since the
previous one. Before publishing, a plausibility gate compares the run with
the previous manifest. It refuses, keeping the previous output, when the
input has ballots with geometry but no address falls inside any, when the
share of UPRNs with ballots moves by more than --max-share-move, when more
than --max-changed-outcodes of the outcodes change, or when more than
--max-invalid-pieces of the ballot pieces are not OGC-valid. The message
says what it saw; --accept-change publishes such a run on purpose and
records it in the manifest.

Progress, warnings and a summary go to stderr as readable lines;
--log-format json makes the log records JSON.

Examples:

	databaker bake --addressbase testdata/sample/addressbase_cleaned.csv \
		--ballots testdata/sample/current_elections.csv --out ./out

	databaker synth --addresses 1000000 --ballots 500 --out /tmp/synth
	databaker bake --addressbase /tmp/synth/addressbase_cleaned.csv \
		--ballots /tmp/synth/current_elections.csv --out /tmp/baked
`

func runBake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bake", bakeUsage, stderr)
	opts := bake.Options{Inputs: map[string]string{}}
	// Each layer's input files are its flags.
	inputs := map[string]*string{}
	var needed []string
	for _, l := range layers.Bake() {
		for _, in := range l.Inputs {
			inputs[in.Flag] = fs.String(in.Flag, "", in.Usage)
			if in.Required {
				needed = append(needed, in.Flag)
			}
		}
	}
	fs.StringVar(&opts.Out, "out", "", "output `dir`, replaced atomically on success")
	fs.IntVar(&opts.Workers, "workers", 0, "CSV parsers, and first letters joined at once (0 = number of CPUs)")
	fs.Int64Var(&opts.MaxRowsInMemory, "max-rows-in-memory", bake.DefaultMaxRowsInMemory, "AddressBase `rows` of the first letters joined at once, whatever --workers is: bounds memory (about 230 bytes a row)")
	fs.DurationVar(&opts.ProgressEvery, "progress", 0, "progress line interval (0 = 2s)")
	fs.BoolVar(&opts.KeepIntermediate, "keep-intermediate", false, "also write the intermediate tables (addressbase_partitioned, the joined tables) as on S3")
	fs.BoolVar(&opts.AcceptChange, "accept-change", false, "publish even if the plausibility gate finds the run implausible (a change made on purpose)")
	fs.Float64Var(&opts.Gate.ShareMove, "max-share-move", manifest.DefaultThresholds.ShareMove, "plausibility gate: largest move of the share of UPRNs with ballots, as a `fraction` (negative: off)")
	fs.Float64Var(&opts.Gate.ChangedOutcodes, "max-changed-outcodes", manifest.DefaultThresholds.ChangedOutcodes, "plausibility gate: largest share of outcodes whose content changes, as a `fraction` (negative: off)")
	fs.Float64Var(&opts.Gate.InvalidPieces, "max-invalid-pieces", manifest.DefaultThresholds.InvalidPieces, "plausibility gate: largest share of ballot pieces that are not OGC-valid, as a `fraction` (negative: off)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `file` (for go tool pprof)")
	logFormat := logFormatFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, append(needed, "out")...); err != nil {
		return err
	}
	for flag, v := range map[string]float64{"max-share-move": opts.Gate.ShareMove, "max-changed-outcodes": opts.Gate.ChangedOutcodes, "max-invalid-pieces": opts.Gate.InvalidPieces} {
		if v == 0 || v >= 1 {
			return usagef("--%s must be a fraction between 0 and 1 (or negative to switch the check off), got %v", flag, v)
		}
	}
	if opts.MaxRowsInMemory <= 0 {
		return usagef("--max-rows-in-memory must be positive, got %d", opts.MaxRowsInMemory)
	}
	for flag, v := range inputs {
		opts.Inputs[flag] = *v
	}
	// Progress lines and log records come from several goroutines.
	stderr = &lockedWriter{w: stderr}
	log, err := newLogger(*logFormat, stderr)
	if err != nil {
		return err
	}
	opts.Progress, opts.Logger = stderr, log
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	// bake.Run returns nil if and only if it published; an error after a
	// signal means the run stopped before the swap.
	if _, err = bake.Run(ctx, opts, layers.Bake()); err != nil && ctx.Err() != nil {
		return errInterrupted{"previous output kept"}
	}
	return err
}
