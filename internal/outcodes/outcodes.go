// Package outcodes splits one first-letter partition of
// current_ballots_joined_to_address_base into one parquet file per outcode
// (<OUTCODE>.parquet), the layout API projects read, and deletes files of
// outcodes that no longer exist. The Lambdas and the local engine share it.
package outcodes

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/gates"
)

// Row is one address of current_ballots_joined_to_address_base (the
// contract's column names). Split reads columns by name, so it also accepts
// files whose columns are optional or whose LIST uses other inner names.
type Row struct {
	UPRN              string   `parquet:"uprn"`
	Address           string   `parquet:"address"`
	Postcode          string   `parquet:"postcode"`
	AddressbaseSource string   `parquet:"addressbase_source"`
	BallotIDs         []string `parquet:"ballot_ids,list"`
}

// OutRow is one row of <OUTCODE>.parquet: the contract's output schema,
// columns in this order.
type OutRow struct {
	UPRN              string   `parquet:"uprn"`
	Address           string   `parquet:"address"`
	Postcode          string   `parquet:"postcode,dict"`
	AddressbaseSource string   `parquet:"addressbase_source,dict"`
	BallotIDs         []string `parquet:"ballot_ids,list"`
	Outcode           string   `parquet:"outcode,dict"`
}

// SplitInput says where one letter's rows are and where its files go.
type SplitInput struct {
	Src       blob.Store
	SrcPrefix string // e.g. ".../current_ballots_joined_to_address_base/first_letter=A/"
	Dst       blob.Store
	DstPrefix string // e.g. ".../current_elections_parquet/"; files are DstPrefix+OUTCODE+".parquet"
	Letter    string // the first letter of every postcode in the partition
	// Logger receives progress and the duplicate report; nil uses slog.Default().
	Logger *slog.Logger
	// Concurrency bounds parallel uploads; 0 means 8.
	Concurrency int
}

// Result reports one letter's split. It is also the per-letter Lambda's
// JSON output, which delete_stale_outcodes receives.
type Result struct {
	Letter            string   `json:"first_letter"`
	Rows              int      `json:"rows"` // distinct rows kept (those of empty-file outcodes included)
	DuplicatesDropped int      `json:"duplicates_dropped"`
	Outcodes          []string `json:"outcodes"`  // every outcode of the letter, sorted
	Written           int      `json:"written"`   // files uploaded because they changed
	Unchanged         int      `json:"unchanged"` // files already holding identical bytes
	Empty             int      `json:"empty"`     // 0-row files (no ballot anywhere in the outcode)
	// AddressbaseSource is the partition's single addressbase_source.
	AddressbaseSource string `json:"addressbase_source"`
	// Input summarises the UPRNs read, duplicates included, for comparison
	// with the source table's gates.UPRNStats.
	Input gates.UPRNStats `json:"input_uprns"`
}

// FileKey returns the key of an outcode's file.
func FileKey(dstPrefix, outcode string) string { return dstPrefix + outcode + ".parquet" }

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
		name := strings.TrimPrefix(o.Key, dstPrefix)
		outcode, ok := strings.CutSuffix(name, ".parquet")
		if !ok || outcode == "" || strings.Contains(name, "/") {
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
