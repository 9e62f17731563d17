// Package manifest describes one run of a layer's per-outcode product (the
// folder of <OUTCODE>.parquet files): each outcode's content hash and
// counts, the run's inputs and totals, and what changed since the previous
// run. The bake writes it beside the product folder, the cloud path under
// the same name beside the S3 prefix; the plausibility gate (Check) compares
// a new manifest with the last published one before anything is published.
// It is generic over the product's list column (ballot_ids,
// boundary_reviews): its "items" are that column's elements.
package manifest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/validate"
)

// Version is the manifest format's version.
const Version = 1

// FileName is the manifest's name inside its folder.
const FileName = "manifest.json"

// Manifest is one run of a product. Marshalled with JSON it is
// deterministic: struct fields in a fixed order, map keys sorted, lists
// sorted, and no clock time, so the same output gives the same bytes.
type Manifest struct {
	Version int `json:"version"`
	// Product is the folder of the outcode files, e.g.
	// current_elections_parquet, and ListColumn its list column.
	Product    string `json:"product"`
	ListColumn string `json:"list_column"`
	// Inputs are the files the run read, sorted by name.
	Inputs []Input `json:"inputs"`
	Totals Totals  `json:"totals"`
	// Outcodes are the files, by outcode.
	Outcodes map[string]Outcode `json:"outcodes"`
	// Items counts, for each distinct list element (a ballot ID), the rows
	// that hold it. An element longer than maxItemKey (a boundary review's
	// JSON) is keyed by its hash instead (ItemKey).
	Items map[string]int64 `json:"items"`
	// Changes compares this run with the previous manifest.
	Changes Changes `json:"changes"`
	// Accepted lists the plausibility findings an operator accepted on
	// purpose (--accept-change, or accept_change in the state machine's
	// input) for this run; empty when the gate found nothing.
	Accepted []string `json:"accepted_findings,omitempty"`
	// InvalidPieces are the input's pieces that are not OGC-valid, used as
	// given: where each is (file and line), its item and why.
	InvalidPieces []validate.InvalidPiece `json:"invalid_pieces,omitempty"`
}

// Input is one file a run read.
type Input struct {
	Name string `json:"name"` // the bake's flag, or the table it feeds
	URI  string `json:"uri"`  // a local path or an s3:// URI
	Size int64  `json:"size"`
	// Hash is "sha256:<hex>" of the bytes, or "etag:<etag>" for an S3
	// object the run did not download.
	Hash string `json:"hash"`
}

// Outcode is one <OUTCODE>.parquet file.
type Outcode struct {
	SHA256        string `json:"sha256"`          // of the file's bytes
	Rows          int64  `json:"rows"`            // 0 for an empty (0-row) file
	RowsWithItems int64  `json:"rows_with_items"` // rows whose list is not empty
	DistinctItems int    `json:"distinct_items"`  // distinct list elements
}

// Totals are the run's totals.
type Totals struct {
	Outcodes int `json:"outcodes"`
	// UPRNs are the addresses the split wrote, those of 0-row files
	// included; FileRows are the rows in the files.
	UPRNs         int64 `json:"uprns"`
	FileRows      int64 `json:"file_rows"`
	RowsWithItems int64 `json:"rows_with_items"`
	DistinctItems int   `json:"distinct_items"`
	// Areas are the input's distinct items that have a geometry (ballots
	// with a boundary), Pieces their geometry rows, and InvalidPieces the
	// pieces that are not OGC-valid (used as given, counted here).
	Areas         int `json:"input_areas"`
	Pieces        int `json:"input_pieces"`
	InvalidPieces int `json:"input_invalid_pieces"`
}

// Source is what the layer knows that the files cannot tell: how many
// addresses it split (0-row files hold none) and its input's areas.
type Source struct {
	UPRNs         int64
	Areas         int
	Pieces        int
	InvalidPieces int
	// Invalid lists those pieces, when the layer knows them.
	Invalid []validate.InvalidPiece
	// Files, when not nil, are the stats of the files the run wrote, by
	// outcode, as the split computed them while writing
	// (outcodes.LetterStats): Build takes them instead of reading every
	// file back, and other files under the prefix (a failed run's, left in
	// a staging folder) are not the run's.
	Files map[string]outcodes.FileStats
}

// Share returns the share of UPRNs whose list is not empty (0 when there
// are none).
func (t Totals) Share() float64 {
	if t.UPRNs == 0 {
		return 0
	}
	return float64(t.RowsWithItems) / float64(t.UPRNs)
}

// Key returns the manifest's key for a product prefix: a sibling folder
// named after it, so consumers that sync the product never see it.
// "addressbase/production/current_elections_parquet/" gives
// "addressbase/production/current_elections_manifest/manifest.json".
func Key(productPrefix string) string {
	dir, base := path.Split(strings.TrimSuffix(productPrefix, "/"))
	return dir + strings.TrimSuffix(base, "_parquet") + "_manifest/" + FileName
}

// Dir is the folder of Key(productPrefix), ending in "/".
func Dir(productPrefix string) string {
	k := Key(productPrefix)
	return k[:len(k)-len(FileName)]
}

// StatsPrefix is where the splits of a staged product write their letters'
// stats (outcodes.LetterStats) for the plausibility gate: in the staged
// manifest's folder, outside the product folder.
func StatsPrefix(stagingPrefix string) string { return Dir(stagingPrefix) + "letters/" }

// maxItemKey bounds the length of an Items key.
const maxItemKey = 200

// ItemKey returns the Items key of a list element: itself, or
// "sha256:<hex>" when it is longer than 200 bytes.
func ItemKey(item string) string {
	if len(item) <= maxItemKey {
		return item
	}
	sum := sha256.Sum256([]byte(item))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Build returns the manifest of the <OUTCODE>.parquet files directly under
// prefix in store, reading each one unless src.Files gives their stats,
// with Totals filled from the files and src. Inputs and Changes are left
// for the caller.
func Build(ctx context.Context, store blob.Store, prefix, listColumn string, src Source) (Manifest, error) {
	m := Manifest{
		Version: Version, Product: path.Base(strings.TrimSuffix(prefix, "/")), ListColumn: listColumn,
		Inputs: []Input{}, Outcodes: map[string]Outcode{}, Items: map[string]int64{},
	}
	files := src.Files
	if files == nil {
		var err error
		if files, err = readStats(ctx, store, prefix, listColumn); err != nil {
			return m, err
		}
	}
	for oc, f := range files {
		m.Outcodes[oc] = Outcode{SHA256: f.SHA256, Rows: f.Rows, RowsWithItems: f.RowsWithItems, DistinctItems: len(f.Items)}
		m.Totals.FileRows += f.Rows
		m.Totals.RowsWithItems += f.RowsWithItems
		for it, n := range f.Items {
			m.Items[ItemKey(it)] += n
		}
	}
	m.Totals.Outcodes = len(m.Outcodes)
	m.Totals.DistinctItems = len(m.Items)
	m.Totals.UPRNs, m.Totals.Areas, m.Totals.Pieces, m.Totals.InvalidPieces = src.UPRNs, src.Areas, src.Pieces, src.InvalidPieces
	m.InvalidPieces = src.Invalid
	return m, nil
}

// readStats reads every <OUTCODE>.parquet file directly under prefix in
// store, in parallel, and returns their stats by outcode.
func readStats(ctx context.Context, store blob.Store, prefix, listColumn string) (map[string]outcodes.FileStats, error) {
	objs, err := store.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("manifest: list %s: %w", prefix, err)
	}
	var ocs []string
	for _, o := range objs {
		if oc, ok := outcodes.OutcodeOfKey(prefix, o.Key); ok {
			ocs = append(ocs, oc)
		}
	}
	// Each file is read into its own slot, so the result does not depend
	// on the scheduling.
	stats := make([]outcodes.FileStats, len(ocs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, oc := range ocs {
		g.Go(func() error {
			key := outcodes.FileKey(prefix, oc)
			data, err := readAll(gctx, store, key)
			if err != nil {
				return fmt.Errorf("manifest: %w", err)
			}
			rows, err := outcodes.DecodeRows(listColumn, data)
			if err != nil {
				return fmt.Errorf("manifest: %s: %w", key, err)
			}
			stats[i] = outcodes.StatsOf(data, rows)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make(map[string]outcodes.FileStats, len(ocs))
	for i, oc := range ocs {
		out[oc] = stats[i]
	}
	return out, nil
}

// Marshal returns the manifest as indented JSON ending in a newline.
func (m Manifest) Marshal() ([]byte, error) {
	slices.SortFunc(m.Inputs, func(a, b Input) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("marshal manifest: %w", err)
	}
	return buf.Bytes(), nil
}

// Load reads the manifest at key; it returns nil, nil when there is none
// (the first run).
func Load(ctx context.Context, store blob.Store, key string) (*Manifest, error) {
	data, err := readAll(ctx, store, key)
	if blob.NotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("previous manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("previous manifest %s: %w", key, err)
	}
	if m.Version != Version {
		return nil, fmt.Errorf("previous manifest %s: version %d, this program reads version %d", key, m.Version, Version)
	}
	return &m, nil
}

func readAll(ctx context.Context, store blob.Store, key string) ([]byte, error) {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return data, nil
}

// FileInput describes a local input file, hashing its bytes; cancelling
// ctx stops it.
func FileInput(ctx context.Context, name, file string) (Input, error) {
	f, err := os.Open(file)
	if err != nil {
		return Input{}, fmt.Errorf("hash input: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return Input{}, fmt.Errorf("hash input %s: %w", file, err)
	}
	return Input{Name: name, URI: file, Size: n, Hash: "sha256:" + hex.EncodeToString(h.Sum(nil))}, nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
