// Package bake runs layers on one machine, from local files into a local
// folder with the same layout and schema as the S3 output, and publishes
// the result atomically. Each layer's package supplies its local engine as
// a Layer; internal/layers lists them in the order they run.
package bake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/gates"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/validate"
)

// Layer is one layer's local engine.
type Layer struct {
	// Name labels its progress lines, e.g. "current elections layer".
	Name string
	// Inputs are the files it reads, given on the command line.
	Inputs []Input
	// Folders are what it writes under Out, as on S3: a table's folder or
	// the output prefix.
	Folders []string
	// Bake reads its inputs and what earlier layers left in the staging
	// folder, and writes its folders there. It must check its own quality
	// gates: nothing is published unless every layer succeeds.
	Bake func(ctx context.Context, j *Job) error
	// Product is the layer's per-outcode files, if it publishes any.
	Product *OutcodeFiles
}

// OutcodeFiles are a layer's product: one parquet file per outcode with the
// contract's uprn, address and postcode columns and one list<string>
// column. databaker lookup shows each layer's as a column.
type OutcodeFiles struct {
	Dir     string // folder beside the other layers, locally and on S3
	Column  string // the list column
	Heading string // lookup's column heading
	None    string // what a 0-row file means, e.g. "no elections"
	Output  string // the stack output that names its S3 location
	// Required products have a file for every outcode (WDIV treats a
	// missing one as an error); optional ones are shown when present.
	Required bool
	// Cell shows one address's list in lookup's table; nil joins with ", ".
	Cell func([]string) string
	// Source tells the manifest what the files cannot: the addresses split
	// and the input's areas (manifest.Source). nil leaves them 0, which
	// switches off the gate's checks that need them.
	Source func(Summary) manifest.Source
}

// Input is a file a layer reads: its command-line flag, what it is, and
// whether the layer can run without it (a layer whose optional inputs are
// all missing is skipped).
type Input struct {
	Flag     string
	Usage    string
	Required bool
}

// Options says what to bake and where.
type Options struct {
	// Inputs are file paths by Input.Flag.
	Inputs map[string]string
	// Out is the output folder. It is replaced atomically on success and
	// left untouched on failure; a symlink is followed and kept. Runs into
	// one Out take turns: a second one fails at once.
	Out string
	// Progress receives periodic progress lines and the final summary; nil
	// discards them.
	Progress io.Writer
	// ProgressEvery is the progress interval; 0 means 2s.
	ProgressEvery time.Duration
	// Workers is the parallelism of CSV parsing and of per-letter work;
	// 0 means GOMAXPROCS.
	Workers int
	// MaxRowsInMemory bounds the AddressBase rows of the letters joined
	// at once, and so the bake's memory, whatever Workers is; 0 means
	// DefaultMaxRowsInMemory.
	MaxRowsInMemory int64
	// Logger receives structured logs from the shared layer code (such as
	// the duplicate report); nil logs warnings as JSON to Progress.
	Logger *slog.Logger
	// Gate bounds how far a product may move from its last manifest before
	// the plausibility gate refuses to publish; zero fields take
	// manifest.DefaultThresholds.
	Gate manifest.Thresholds
	// AcceptChange publishes what the plausibility gate would refuse,
	// recording its findings in the manifest.
	AcceptChange bool
	// KeepIntermediate also writes the layers' intermediate tables (such
	// as addressbase_partitioned) under Out, as parquet in their S3
	// layout. Without it only the products and their manifests are
	// written: the tables are what the cloud path needs between Athena
	// queries, and the bake passes rows between layers without them.
	KeepIntermediate bool
}

// Summary reports what a run did.
type Summary struct {
	AddressRows    int64 `json:"address_rows"` // CSV rows read, duplicates included
	Letters        int   `json:"letters"`      // first_letter partitions
	BallotRows     int   `json:"ballot_rows"`  // ballots CSV rows after the header
	BallotPieces   int   `json:"ballot_pieces"`
	BallotsSkipped int   `json:"ballot_rows_skipped_none"` // source_table None
	Elections      int   `json:"elections"`                // distinct election ids with a geometry
	// InvalidPieces are the ballot pieces that are not OGC-valid (e.g. a
	// self-intersection): used as given, not fatal, and reported here with
	// line, election and reason for the manifest and the plausibility gate
	// (their share of BallotPieces).
	InvalidPieces []validate.InvalidPiece `json:"invalid_pieces"`

	JoinedRows      int64 `json:"joined_rows"`       // rows of the joined table
	RowsWithBallots int64 `json:"rows_with_ballots"` // joined rows with at least one ballot

	// Split is the current elections layer's outcode split (embedded, so
	// its JSON keys stay where they were before there were other layers).
	Split

	// BoundaryReviews is the boundary reviews layer's counts; nil when it
	// did not run (no --boundary-reviews).
	BoundaryReviews *BoundaryReviewsSummary `json:"boundary_reviews,omitempty"`

	Elapsed time.Duration `json:"elapsed_ns"`
}

// Split counts what a layer's outcode split did.
type Split struct {
	// OutputRows counts rows after de-duplication (rows of an empty outcode
	// included, though its file holds none).
	OutputRows        int64 `json:"output_rows"`
	Outcodes          int   `json:"outcodes"`
	Written           int   `json:"outcodes_written"`   // files whose bytes changed
	Unchanged         int   `json:"outcodes_unchanged"` // files left as they were
	Empty             int   `json:"outcodes_empty"`     // 0-row files
	Deleted           int   `json:"outcodes_deleted"`   // stale files removed
	DuplicatesDropped int   `json:"duplicates_dropped"` // identical duplicate rows
}

// add adds one letter's outcodes.Split result.
func (s *Split) add(r outcodes.Result) {
	s.Written += r.Written
	s.Unchanged += r.Unchanged
	s.Empty += r.Empty
	s.DuplicatesDropped += r.DuplicatesDropped
	s.OutputRows += int64(r.Rows)
}

// BoundaryReviewsSummary reports the boundary reviews layer.
type BoundaryReviewsSummary struct {
	Rows      int `json:"rows"`      // reviews CSV rows after the header
	Pieces    int `json:"pieces"`    // geometry pieces (one per row)
	Reviews   int `json:"reviews"`   // distinct boundary_review_id
	Divisions int `json:"divisions"` // distinct old and new divisions, and organisation areas

	JoinedRows      int64 `json:"joined_rows"`       // rows of the joined table
	RowsWithReviews int64 `json:"rows_with_reviews"` // joined rows with at least one review
	RowsWithChanges int64 `json:"rows_with_changes"` // joined rows with at least one change
	ChangeRows      int64 `json:"change_rows"`       // rows of boundary_review_address_changes

	Split
}

// Job is one bake in progress, shared by its layers.
type Job struct {
	Options
	// Staging is the folder the layers write; it becomes Out on success.
	Staging string
	// Summary collects the layers' counts.
	Summary Summary
	// Letters are the postcode first letters of the AddressBase
	// partitions, sorted: the unit of work of every later layer.
	Letters []string
	// LetterUPRNs are the UPRN rows and checksum of each letter's
	// AddressBase rows as read from the CSV (Distinct is not counted):
	// for scheduling, and for the gates to check what later layers read.
	LetterUPRNs map[string]gates.UPRNStats

	prog       *progress
	inputs     []manifest.Input // the input files, hashed while the layers run
	inputsErr  error
	inputsDone chan struct{}
	changes    []string // each product's change summary
	// files are each product's files' stats, by folder, as its split
	// wrote them: the manifest is built from them.
	files map[string]map[string]outcodes.FileStats
}

// scratchDir is the folder in staging for what a run needs only while it
// runs (the layers' spill files); it is removed before publishing.
const scratchDir = ".scratch"

// Scratch is a folder for files the layers share only during the run.
func (j *Job) Scratch() string { return filepath.Join(j.Staging, scratchDir) }

// TableDir is where a layer writes an intermediate table: its folder
// under Out with KeepIntermediate, else "" (not written).
func (j *Job) TableDir(name string) string {
	if !j.KeepIntermediate {
		return ""
	}
	return filepath.Join(j.Staging, name)
}

// Input returns the path given for flag, or "".
func (j *Job) Input(flag string) string { return j.Inputs[flag] }

// Store is the staging folder as a blob store, as the cloud path's S3.
func (j *Job) Store() blob.Store { return blob.NewDir(j.Staging) }

// Add counts n rows towards the running step's progress.
func (j *Job) Add(n int64) { j.prog.add(n) }

// Seed fills the staging folder's folder from the previous output's, so
// that unchanged files keep their bytes and stale ones can be found, as on
// S3 where the previous files are still there.
func (j *Job) Seed(folder string) error {
	if err := seed(filepath.Join(j.Out, folder), filepath.Join(j.Staging, folder)); err != nil {
		return err
	}
	pause("seeded " + folder)
	return nil
}

// partFile is the one file written per partition, like UNLOAD's output.
const partFile = "part-00000.parquet"

// PartitionFile is the file of one first-letter partition of a folder.
func PartitionFile(dir, letter string) string {
	return filepath.Join(dir, "first_letter="+letter, partFile)
}

// rowGroupRows bounds the rows a parquet writer buffers in memory.
const rowGroupRows = 64 * 1024

// Run bakes opts with layers, in order, into opts.Out. It returns nil if
// and only if the new output was published.
func Run(ctx context.Context, opts Options, layers []Layer) (Summary, error) {
	start := time.Now()
	pauseRun.Store(&ctx)
	if opts.Out == "" {
		return Summary{}, errors.New("bake: Out is required")
	}
	var run []Layer
	for _, l := range layers {
		var given, missing []string
		for _, in := range l.Inputs {
			if opts.Inputs[in.Flag] != "" {
				given = append(given, in.Flag)
			} else if in.Required {
				missing = append(missing, "--"+in.Flag)
			}
		}
		if len(missing) > 0 {
			return Summary{}, fmt.Errorf("bake: the %s needs %s", l.Name, strings.Join(missing, ", "))
		}
		if len(given) > 0 || len(l.Inputs) == 0 {
			run = append(run, l)
		}
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 2 * time.Second
	}
	j := &Job{Options: opts, prog: newProgress(opts.Progress, opts.ProgressEvery)}
	defer j.prog.stop()
	if j.Logger == nil {
		j.Logger = slog.New(slog.NewJSONHandler(j.prog.w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	j.Inputs = make(map[string]string, len(opts.Inputs))
	for flag, path := range opts.Inputs {
		if path == "" {
			continue
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return j.Summary, fmt.Errorf("--%s: %w", flag, err)
		}
		j.Inputs[flag] = abs
	}
	// The inputs are hashed for the manifest while the layers run.
	defer j.hashInputs(ctx)()
	abs, err := filepath.Abs(opts.Out)
	if err != nil {
		return j.Summary, fmt.Errorf("out path: %w", err)
	}
	out, err := resolveOut(abs)
	if err != nil {
		return j.Summary, err
	}
	j.Out = out
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return j.Summary, fmt.Errorf("create %s: %w", parent, err)
	}
	lock, err := lockOut(out)
	if err != nil {
		return j.Summary, err
	}
	defer lock.Close()
	pause("locked")
	if err := cleanLitter(out); err != nil {
		return j.Summary, err
	}
	pause("cleaned")
	if err := checkOut(out, layers); err != nil {
		return j.Summary, err
	}
	var prev *fs.FileMode
	if fi, err := os.Stat(out); err == nil {
		m := fi.Mode()
		prev = &m
	}
	// Stage beside Out, in its folder, so publishing is one swap of names.
	if j.Staging, err = mkStaging(out); err != nil {
		return j.Summary, err
	}
	published := false
	defer func() {
		if !published {
			removeTree(j.Staging, "failed run: staging")
		}
	}()
	pause("staged")

	for _, l := range run {
		j.Begin(l.Name)
		if err := l.Bake(ctx, j); err != nil {
			return j.Summary, err
		}
		if err := ctx.Err(); err != nil {
			return j.Summary, err
		}
	}
	if err := os.RemoveAll(j.Scratch()); err != nil {
		return j.Summary, fmt.Errorf("remove scratch files: %w", err)
	}
	pause("scratch removed")
	// Every product's manifest, compared with the published one and gated,
	// goes into the staging folder: it is published with the files or not
	// at all.
	for _, l := range run {
		if l.Product == nil {
			continue
		}
		j.Begin("manifest and plausibility gate (" + l.Product.Dir + ")")
		rows, err := j.gate(ctx, *l.Product)
		if err != nil {
			return j.Summary, err
		}
		j.Done(rows)
	}
	if err := ctx.Err(); err != nil {
		return j.Summary, err
	}
	// From here the run's outcome is the swap's: once it is done the new
	// output is published, and nothing after it can make the run fail.
	if err := publish(ctx, j.Staging, out, prev); err != nil {
		return j.Summary, err
	}
	published = true
	if prev != nil {
		// The staging folder now holds the old tree. Should removing it
		// fail, the next run removes it.
		if err := removeTree(j.Staging, "publish: old tree"); err != nil {
			j.Logger.Warn("previous output not removed; the next bake removes it", "err", err)
		}
		pause("publish: old tree removed")
	}
	j.Summary.Elapsed = time.Since(start)
	j.prog.stop()
	j.prog.summary(j.Summary)
	for _, c := range j.changes {
		fmt.Fprintf(j.prog.w, "databaker: changes: %s\n", c)
	}
	return j.Summary, nil
}

// Done ends the running step's progress, reporting n rows.
func (j *Job) Done(n int64) { j.prog.done(n) }

// Begin starts a new progress step within a layer.
func (j *Job) Begin(step string) {
	j.prog.begin(step)
	pause("begin " + step)
}

// checkOut refuses to replace something that is not a previous bake output,
// so a typo such as --out ~ cannot delete a home folder.
func checkOut(out string, layers []Layer) error {
	fi, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("out %s: %w", out, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("out %s exists and is not a folder", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("out %s: %w", out, err)
	}
	if len(ents) == 0 {
		return nil
	}
	for _, e := range ents {
		for _, l := range layers {
			if slices.Contains(l.Folders, e.Name()) || l.Product != nil && e.Name() == l.Product.ManifestDir() {
				return nil
			}
		}
	}
	return fmt.Errorf("out %s is not empty and holds no earlier bake output; refusing to replace it", out)
}
