package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

func init() {
	commands["synth"] = command{summary: "generate synthetic AddressBase, ballots and boundary reviews CSVs", run: runSynth}
}

const synthUsage = `Usage: databaker synth --addresses N --ballots N [--reviews N] [--seed S] --out <dir>

Synth writes <dir>/addressbase_cleaned.csv and <dir>/current_elections.csv
in the contract formats, reproducibly for a given seed. With --reviews N it
also writes <dir>/boundary_reviews.csv: N boundary reviews over the same
organisations and wards, with each change scenario and organisation-only
reviews; the other two files are the same bytes as without it.

Examples:

	databaker synth --addresses 100000 --ballots 200 --seed 1 --out /tmp/synth
	databaker synth --addresses 1000000 --ballots 500 --reviews 20 --out /tmp/synth-reviews
	databaker synth --addresses 1000000 --ballots 500 --min-vertices 1000 --max-vertices 1000 --out /tmp/synth1k
`

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("synth", synthUsage, stderr)
	var opts synth.Options
	var out string
	fs.IntVar(&opts.Addresses, "addresses", 10000, "number of addresses `N`")
	fs.IntVar(&opts.Ballots, "ballots", 100, "number of ballots `N`")
	fs.Int64Var(&opts.Seed, "seed", 1, "random `seed`")
	fs.IntVar(&opts.MinVertices, "min-vertices", 0, "minimum vertices per polygon (0 = synth default)")
	fs.IntVar(&opts.MaxVertices, "max-vertices", 0, "maximum vertices per polygon (0 = synth default)")
	fs.IntVar(&opts.Reviews, "reviews", 0, "number of boundary reviews `N` (at most one per organisation; 0 writes no reviews file)")
	fs.StringVar(&out, "out", "", "output `dir`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	if opts.Addresses <= 0 || opts.Ballots < 0 || opts.Reviews < 0 {
		return usagef("--addresses must be > 0, and --ballots and --reviews >= 0")
	}
	if err := opts.Check(); err != nil {
		return usagef("%v", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	return writeSynth(opts, out, stderr)
}

func writeSynth(opts synth.Options, out string, stderr io.Writer) (err error) {
	abPath := filepath.Join(out, "addressbase_cleaned.csv")
	bPath := filepath.Join(out, "current_elections.csv")
	ab, err := os.Create(abPath)
	if err != nil {
		return fmt.Errorf("create %s: %w", abPath, err)
	}
	defer closeInto(ab, &err)
	b, err := os.Create(bPath)
	if err != nil {
		return fmt.Errorf("create %s: %w", bPath, err)
	}
	defer closeInto(b, &err)
	abw, bw := bufio.NewWriterSize(ab, 1<<20), bufio.NewWriterSize(b, 1<<20)
	var rPath string
	var rw io.Writer // nil: no reviews file
	if opts.Reviews > 0 {
		rPath = filepath.Join(out, "boundary_reviews.csv")
		r, err := os.Create(rPath)
		if err != nil {
			return fmt.Errorf("create %s: %w", rPath, err)
		}
		defer closeInto(r, &err)
		rw = r // GenerateWithReviews buffers it
	}
	st, err := synth.GenerateWithReviews(opts, abw, bw, rw)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := abw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", abPath, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", bPath, err)
	}
	writeSynthSummary(stderr, abPath, bPath, rPath, st)
	return nil
}

// writeSynthSummary says what the two files hold, in the words of the
// data contract, so a reader knows which edge cases the bake will meet.
func writeSynthSummary(w io.Writer, abPath, bPath, rPath string, st synth.Stats) {
	fmt.Fprintf(w, "databaker synth: wrote %s\n", abPath)
	fmt.Fprintf(w, "  %d rows: %d UPRNs in %d outcodes, %d identical duplicate rows, %d ONSPD filler rows, %d empty addresses, %d addresses on a ballot boundary\n",
		st.AddressRows, st.UPRNs, st.Outcodes, st.DuplicateRows, st.FillerRows, st.EmptyAddresses, st.BoundaryPoints)
	fmt.Fprintf(w, "databaker synth: wrote %s\n", bPath)
	fmt.Fprintf(w, "  %d rows: %d ballots in %d organisations (%d without any ballot), %d ballots split over several rows, %d MULTIPOLYGON rows, %d rows with holes, %d None rows; longest ring %d vertices\n",
		st.BallotRows, st.Ballots, st.Organisations, st.OrgsWithoutVotes, st.SplitBallots, st.MultiPolygonRows, st.HoleRows, st.NoneRows, st.MaxRingVertices)
	if rPath == "" {
		return
	}
	fmt.Fprintf(w, "databaker synth: wrote %s\n", rPath)
	fmt.Fprintf(w, "  %d rows: %d boundary reviews (%d organisation-only), one row per division piece; largest piece %d vertices\n",
		st.ReviewRows, st.Reviews, st.OrganisationOnlyReviews, st.MaxPieceVertices)
}

func closeInto(f *os.File, err *error) {
	if cerr := f.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("close %s: %w", f.Name(), cerr)
	}
}
