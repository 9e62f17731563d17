// Package outcodes splits one first-letter partition of a layer's joined
// table (uprn, address, postcode, addressbase_source and one list<string>
// column: ballot_ids for CurrentElections, boundary_reviews for
// BoundaryReviews) into one parquet file per outcode (<OUTCODE>.parquet),
// the layout API projects read, and deletes files of outcodes that no
// longer exist. The Lambdas and the local engine share it; the list
// column's name is the only thing that differs between layers.
package outcodes

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/gates"
	"github.com/parquet-go/parquet-go"
)

// Row is one address of current_ballots_joined_to_address_base (the
// contract's column names). Split reads columns by name, so it also accepts
// files whose columns are optional or whose LIST uses other inner names,
// and, with SplitInput.ListColumn, other layers' list columns.
type Row struct {
	UPRN              string   `parquet:"uprn"`
	Address           string   `parquet:"address"`
	Postcode          string   `parquet:"postcode"`
	AddressbaseSource string   `parquet:"addressbase_source"`
	BallotIDs         []string `parquet:"ballot_ids,list"`
}

// OutRow is one row of <OUTCODE>.parquet: the contract's output schema,
// columns in this order. List is written (EncodeRows) and read
// (DecodeRows) under the layer's list column name, e.g. ballot_ids; its
// tag's "list" is only a placeholder that ListColumnOption replaces.
type OutRow struct {
	UPRN              string   `parquet:"uprn"`
	Address           string   `parquet:"address"`
	Postcode          string   `parquet:"postcode,dict"`
	AddressbaseSource string   `parquet:"addressbase_source,dict"`
	List              []string `parquet:"list,list"`
	Outcode           string   `parquet:"outcode,dict"`
}

// listColumnRE is a plain lower-case identifier: the same name in Glue
// (which lower-cases column names), in parquet and in polars.
var listColumnRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// CheckListColumn reports whether name can be a layer's list column: a
// plain lower-case identifier that is not one of the other output columns.
func CheckListColumn(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("list column: empty")
	case !listColumnRE.MatchString(name):
		return fmt.Errorf("list column %q: want a plain lower-case identifier ([a-z_][a-z0-9_]*)", name)
	case slices.Contains([]string{"uprn", "address", "postcode", "addressbase_source", "outcode"}, name):
		return fmt.Errorf("list column %q: clashes with another column of the same name", name)
	}
	return nil
}

// ListColumnOption names OutRow's List column for parquet-go's generic
// readers and writers (the option's path is the Go field's name). name
// must pass CheckListColumn.
func ListColumnOption(name string) *parquet.StructTagOption {
	return &parquet.StructTagOption{ColumnPath: []string{"List"}, StructTag: reflect.StructTag(`parquet:"` + name + `,list"`)}
}

// SplitInput says where one letter's rows are and where its files go.
type SplitInput struct {
	Src       blob.Store
	SrcPrefix string // e.g. ".../current_ballots_joined_to_address_base/first_letter=A/"
	Dst       blob.Store
	DstPrefix string // e.g. ".../current_elections_parquet/"; files are DstPrefix+OUTCODE+".parquet"
	Letter    string // the first letter of every postcode in the partition
	// ListColumn is the joined table's list<string> column, written under
	// the same name: "ballot_ids" or "boundary_reviews". Required.
	ListColumn string
	// Logger receives progress and the duplicate report; nil uses slog.Default().
	Logger *slog.Logger
	// Concurrency bounds parallel uploads; 0 means 8.
	Concurrency int
	// StatsKey, when set, is where the split writes the LetterStats of the
	// files it wrote, after them (outside DstPrefix).
	StatsKey string
	// Stats fills Result.Stats (StatsKey implies it).
	Stats bool
}

// Result reports one letter's split. It is also the per-letter Lambda's
// JSON output, which publish_outcodes receives.
type Result struct {
	Letter            string   `json:"first_letter"`
	Rows              int      `json:"rows"` // distinct rows kept (those of empty-file outcodes included)
	DuplicatesDropped int      `json:"duplicates_dropped"`
	Outcodes          []string `json:"outcodes"`  // every outcode of the letter, sorted
	Written           int      `json:"written"`   // files uploaded because they changed
	Unchanged         int      `json:"unchanged"` // files already holding identical bytes
	Empty             int      `json:"empty"`     // 0-row files (every list in the outcode empty)
	// AddressbaseSource is the partition's single addressbase_source.
	AddressbaseSource string `json:"addressbase_source"`
	// Input summarises the UPRNs read, duplicates included, for comparison
	// with the source table's gates.UPRNStats.
	Input gates.UPRNStats `json:"input_uprns"`
	// Stats are the written files' stats (what StatsKey receives), when
	// SplitInput asks for them; not in the JSON, which the state machine
	// carries.
	Stats LetterStats `json:"-"`
}

// FileKey returns the key of an outcode's file.
func FileKey(dstPrefix, outcode string) string { return dstPrefix + outcode + ".parquet" }

// OutcodeOfKey returns the outcode of an <OUTCODE>.parquet file directly
// under prefix, and false for any other key (a sub-"directory", another
// kind of object), the inverse of FileKey.
func OutcodeOfKey(prefix, key string) (string, bool) {
	name, ok := strings.CutPrefix(key, prefix)
	if !ok || strings.Contains(name, "/") {
		return "", false
	}
	outcode, ok := strings.CutSuffix(name, ".parquet")
	return outcode, ok && outcode != ""
}

// DeleteStale deletes the <OUTCODE>.parquet files directly under dstPrefix
// whose outcode is not in keep, and returns their keys sorted. Other
// objects, and objects in sub-"directories", are never touched.
func DeleteStale(ctx context.Context, dst blob.Store, dstPrefix string, keep []string) ([]string, error) {
	stale, _, err := Stale(ctx, dst, dstPrefix, keep)
	if err != nil || len(stale) == 0 {
		return nil, err
	}
	if err := dst.Delete(ctx, stale...); err != nil {
		return nil, fmt.Errorf("delete %d stale outcodes under %q: %w", len(stale), dstPrefix, err)
	}
	return stale, nil
}

// Stale returns the sorted keys of outcode files directly under dstPrefix
// whose outcode is not in keep, and how many outcode files there are.
func Stale(ctx context.Context, dst blob.Store, dstPrefix string, keep []string) (stale []string, files int, err error) {
	if dstPrefix == "" {
		return nil, 0, fmt.Errorf("delete stale outcodes: refusing an empty destination prefix")
	}
	objs, err := dst.List(ctx, dstPrefix)
	if err != nil {
		return nil, 0, fmt.Errorf("delete stale outcodes under %q: %w", dstPrefix, err)
	}
	kept := make(map[string]bool, len(keep))
	for _, k := range keep {
		kept[k] = true
	}
	for _, o := range objs {
		outcode, ok := OutcodeOfKey(dstPrefix, o.Key)
		if !ok {
			continue
		}
		files++
		if !kept[outcode] {
			stale = append(stale, o.Key)
		}
	}
	slices.Sort(stale)
	return stale, files, nil
}
