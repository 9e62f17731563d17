// Package synth generates realistic synthetic inputs for the bake: an
// AddressBase cleaned CSV and an EE current-ballots CSV whose geometries
// tile the UK box, so addresses fall inside organisation and division
// ballots. Output is deterministic for a seed and streamed in constant
// memory with respect to the address count.
package synth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Options controls Generate. Zero vertex bounds select the defaults.
type Options struct {
	Seed      int64
	Addresses int // distinct UPRNs (filler rows included); ~0.5% more rows are identical duplicates
	Ballots   int // approximate number of ballots with geometry (organisation, division and parl); 0 writes only the header

	// MinVertices and MaxVertices bound a division polygon's outer ring;
	// organisation rings are about three times longer.
	MinVertices, MaxVertices int

	// Reviews is the number of boundary reviews GenerateWithReviews writes,
	// each over its own organisation (so at most the organisation count).
	Reviews int
}

// Version changes whenever the same Options would generate other bytes,
// so files cached by an older generator are not taken for current ones.
// 2: UPRNs zero-padded to 12 digits.
const Version = 2

// CacheDir is the folder where benchmarks cache the files of opts, made
// once because generating 10M addresses takes longer than baking them:
// $DATABAKER_BENCH_DIR, or $TMPDIR/databaker-bench, then a name made of
// opts and Version.
func CacheDir(opts Options) string {
	root := os.Getenv("DATABAKER_BENCH_DIR")
	if root == "" {
		root = filepath.Join(os.TempDir(), "databaker-bench")
	}
	return filepath.Join(root, fmt.Sprintf("g%d-a%d-b%d-v%d-%d-s%d", Version, opts.Addresses, opts.Ballots, opts.MinVertices, opts.MaxVertices, opts.Seed))
}

// Default vertex bounds used when Options leaves both at zero.
const (
	DefaultMinVertices = 64
	DefaultMaxVertices = 512
)

// Stats counts what Generate wrote.
type Stats struct {
	AddressRows    int `json:"address_rows"`    // rows in the AddressBase CSV
	UPRNs          int `json:"uprns"`           // distinct UPRNs, = Options.Addresses
	DuplicateRows  int `json:"duplicate_rows"`  // identical repeats of an earlier row
	FillerRows     int `json:"filler_rows"`     // ONSPD-<postcode> rows with an empty address
	EmptyAddresses int `json:"empty_addresses"` // non-filler rows with an empty address
	BoundaryPoints int `json:"boundary_points"` // addresses placed exactly on a ballot boundary vertex
	Outcodes       int `json:"outcodes"`

	BallotRows       int `json:"ballot_rows"`        // data rows in the ballots CSV (header excluded)
	Ballots          int `json:"ballots"`            // distinct election ids with geometry
	NoneRows         int `json:"none_rows"`          // source_table None rows with empty geometry
	SplitBallots     int `json:"split_ballots"`      // ballots written as more than one row
	MultiPolygonRows int `json:"multipolygon_rows"`  // rows with MULTIPOLYGON geometry
	HoleRows         int `json:"hole_rows"`          // rows with a polygon that has a hole
	MaxRingVertices  int `json:"max_ring_vertices"`  // longest ring written
	Organisations    int `json:"organisations"`      // organisation areas in the tiling
	OrgsWithoutVotes int `json:"orgs_without_votes"` // organisations with no ballots at all

	ReviewRows              int `json:"review_rows"`               // data rows in the reviews CSV (header excluded)
	Reviews                 int `json:"reviews"`                   // boundary reviews
	OrganisationOnlyReviews int `json:"organisation_only_reviews"` // reviews with no new division set yet
	MaxPieceVertices        int `json:"max_piece_vertices"`        // most vertices of a review geometry piece
}

// Generate writes an AddressBase cleaned CSV (no header; Python csv
// defaults: CRLF, quoting only when needed; columns uprn, address, postcode,
// location, address_type) to addressbase and an EE current-ballots CSV
// (header election_id,geography_id,geography_text,source_table) to ballots.
// The same Options always produce the same bytes. Options.Reviews must be
// 0: GenerateWithReviews writes reviews.
func Generate(opts Options, addressbase, ballots io.Writer) (Stats, error) {
	return GenerateWithReviews(opts, addressbase, ballots, nil)
}

// GenerateWithReviews is Generate that also writes Options.Reviews
// boundary reviews over the same lattice to reviews, in the contract's
// reviews CSV (header boundaryexport.Header). The addressbase and ballots
// bytes are Generate's for the same Options.
func GenerateWithReviews(opts Options, addressbase, ballots, reviews io.Writer) (Stats, error) {
	if err := opts.Check(); err != nil {
		return Stats{}, err
	}
	if err := opts.normalise(); err != nil { // as Check did on its copy
		return Stats{}, err
	}
	if opts.Reviews > 0 && reviews == nil {
		return Stats{}, errors.New("synth: Options.Reviews is set but there is no reviews writer")
	}
	var st Stats
	lat := newLattice(opts)
	bw := bufio.NewWriterSize(ballots, 1<<20)
	if err := writeBallots(bw, lat, &st); err != nil {
		return st, fmt.Errorf("write ballots: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("write ballots: %w", err)
	}
	aw := bufio.NewWriterSize(addressbase, 1<<20)
	centres, err := writeAddresses(aw, opts, lat, &st)
	if err != nil {
		return st, fmt.Errorf("write addressbase: %w", err)
	}
	if err := aw.Flush(); err != nil {
		return st, fmt.Errorf("write addressbase: %w", err)
	}
	if reviews == nil {
		return st, nil
	}
	plans := planReviews(opts, lat, centres)
	rw := bufio.NewWriterSize(reviews, 1<<20)
	if err := writeReviews(rw, lat, plans, &st); err != nil {
		return st, fmt.Errorf("write reviews: %w", err)
	}
	if err := rw.Flush(); err != nil {
		return st, fmt.Errorf("write reviews: %w", err)
	}
	return st, nil
}

// Check reports options Generate would refuse, before anything is written.
func (o Options) Check() error {
	if err := o.normalise(); err != nil {
		return err
	}
	lat := newLattice(o)
	if orgs := lat.gx * lat.gy; o.Reviews > orgs {
		return fmt.Errorf("synth options: %d reviews need as many organisations, but %d ballots give %d; raise Ballots",
			o.Reviews, o.Ballots, orgs)
	}
	return nil
}

func (o *Options) normalise() error {
	if o.Addresses < 0 || o.Ballots < 0 {
		return fmt.Errorf("synth options: Addresses (%d) and Ballots (%d) must not be negative", o.Addresses, o.Ballots)
	}
	if o.MinVertices == 0 && o.MaxVertices == 0 {
		o.MinVertices, o.MaxVertices = DefaultMinVertices, DefaultMaxVertices
	}
	if o.MinVertices < 4 {
		return fmt.Errorf("synth options: MinVertices %d must be at least 4", o.MinVertices)
	}
	if o.MaxVertices < o.MinVertices {
		return fmt.Errorf("synth options: MaxVertices %d is less than MinVertices %d", o.MaxVertices, o.MinVertices)
	}
	if o.MaxVertices > 100000 {
		return errors.New("synth options: MaxVertices must be at most 100000")
	}
	return checkReviewOptions(*o)
}

// appendField appends s as a Python-csv (QUOTE_MINIMAL) field.
func appendField(dst []byte, s []byte) []byte {
	needs := false
	for _, c := range s {
		if c == ',' || c == '"' || c == '\r' || c == '\n' {
			needs = true
			break
		}
	}
	if !needs {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for _, c := range s {
		if c == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// appendFixed appends v/10^dec in shortest decimal form (trailing zeros
// trimmed). With leadingZero false, |v| < 1 is written as ".5" or "-.5",
// the way AddressBase's cleaned CSV does.
func appendFixed(dst []byte, v int64, dec int, leadingZero bool) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	pow := int64(1)
	for range dec {
		pow *= 10
	}
	ip, fp := v/pow, v%pow
	if ip != 0 || leadingZero || fp == 0 {
		dst = appendInt(dst, ip)
	}
	if fp == 0 {
		return dst
	}
	dst = append(dst, '.')
	var b [20]byte
	for i := dec - 1; i >= 0; i-- {
		b[i] = byte('0' + fp%10)
		fp /= 10
	}
	n := dec
	for n > 0 && b[n-1] == '0' {
		n--
	}
	return append(dst, b[:n]...)
}

// mix is the splitmix64 finaliser, used to derive stable per-object values
// (lattice jitter, edge wiggles, names) from the seed without storing them.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func hash3(seed, a, b, c uint64) uint64 { return mix(mix(mix(seed^a)^b) ^ c) }

// unit maps a hash to [0,1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }
