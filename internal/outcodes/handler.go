package outcodes

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/gates"
)

// SplitEvent is the first_letter_to_outcode_parquet Lambda's input.
type SplitEvent struct {
	Bucket string `json:"bucket"`
	// SourcePrefix is the joined table's prefix, e.g.
	// "addressbase/development/current_ballots_joined_to_address_base/";
	// "first_letter=X/" is appended.
	SourcePrefix string `json:"source_prefix"`
	// DestPrefix is where <OUTCODE>.parquet files go, e.g.
	// "addressbase/development/current_elections_parquet/".
	DestPrefix  string `json:"dest_prefix"`
	FirstLetter string `json:"first_letter"`
	// ListColumn is the joined table's list<string> column, kept under the
	// same name in the files: "ballot_ids" (CurrentElections) or
	// "boundary_reviews" (BoundaryReviews). Required: the layer's flow
	// names it, so a flow for the wrong table fails rather than reading or
	// writing another layer's column.
	ListColumn string `json:"list_column"`
}

// SplitHandler runs Split for one letter in one bucket.
type SplitHandler struct {
	S3     blob.S3API
	Logger *slog.Logger // nil uses slog.Default()
}

// Handle validates the event and splits the letter. Its output is the
// Result, which delete_stale_outcodes later receives.
func (h SplitHandler) Handle(ctx context.Context, ev SplitEvent) (Result, error) {
	if err := ev.validate(); err != nil {
		return Result{}, fmt.Errorf("first_letter_to_outcode_parquet: %w", err)
	}
	store := blob.NewS3(h.S3, ev.Bucket)
	return Split(ctx, SplitInput{
		Src:        store,
		SrcPrefix:  dirPrefix(ev.SourcePrefix) + "first_letter=" + ev.FirstLetter + "/",
		Dst:        store,
		DstPrefix:  dirPrefix(ev.DestPrefix),
		Letter:     ev.FirstLetter,
		ListColumn: ev.ListColumn,
		Logger:     h.Logger,
	})
}

func (ev SplitEvent) validate() error {
	switch {
	case ev.Bucket == "":
		return fmt.Errorf("field bucket: empty")
	case ev.SourcePrefix == "":
		return fmt.Errorf("field source_prefix: empty")
	case ev.DestPrefix == "":
		return fmt.Errorf("field dest_prefix: empty")
	case len(ev.FirstLetter) != 1 || ev.FirstLetter[0] < 'A' || ev.FirstLetter[0] > 'Z':
		return fmt.Errorf("field first_letter: %q is not one upper-case letter A-Z", ev.FirstLetter)
	case dirPrefix(ev.SourcePrefix) == dirPrefix(ev.DestPrefix):
		return fmt.Errorf("fields source_prefix and dest_prefix: both are %q", ev.SourcePrefix)
	}
	if err := CheckListColumn(ev.ListColumn); err != nil {
		return fmt.Errorf("field list_column: %w", err)
	}
	return nil
}

// dirPrefix ends p with "/" so it names a "directory", not a key prefix.
func dirPrefix(p string) string {
	if p == "" || strings.HasSuffix(p, "/") {
		return p
	}
	return p + "/"
}

// DeleteStaleEvent is the delete_stale_outcodes Lambda's input: the
// outputs of every letter's split.
type DeleteStaleEvent struct {
	Bucket     string   `json:"bucket"`
	DestPrefix string   `json:"dest_prefix"`
	Letters    []Result `json:"letters"`
}

// DeleteStaleOutput lists the deleted keys, sorted.
type DeleteStaleOutput struct {
	Deleted []string `json:"deleted"`
}

// DeleteStaleHandler deletes the files of outcodes no letter produced.
type DeleteStaleHandler struct {
	S3     blob.S3API
	Logger *slog.Logger // nil uses slog.Default()
}

// Handle keeps the union of the letters' outcodes and deletes the rest. It
// refuses input that looks like an upstream bug, since deleting files that
// WDIV expects is worse than keeping stale ones: no letters, no outcodes at
// all, or letters built from different AddressBase sources.
// The stale-deletion safety limit: the Lambda refuses to delete more than
// MaxStalePercent of the outcode files, or MaxStaleFloor, whichever is more.
const (
	MaxStalePercent = 10
	MaxStaleFloor   = 25
)

func (h DeleteStaleHandler) Handle(ctx context.Context, ev DeleteStaleEvent) (DeleteStaleOutput, error) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	keep, err := ev.keep()
	if err != nil {
		return DeleteStaleOutput{}, fmt.Errorf("delete_stale_outcodes: %w", err)
	}
	prefix := dirPrefix(ev.DestPrefix)
	store := blob.NewS3(h.S3, ev.Bucket)
	deleted, files, err := Stale(ctx, store, prefix, keep)
	if err != nil {
		return DeleteStaleOutput{}, fmt.Errorf("delete_stale_outcodes s3://%s/%s: %w", ev.Bucket, prefix, err)
	}
	// An AddressBase release drops a handful of outcodes. Many more means
	// the joined table was incomplete (say, AddressBase being rebuilt while
	// this ran), and deleting would take live outcodes away from the APIs.
	if limit := max(MaxStaleFloor, files*MaxStalePercent/100); len(deleted) > limit {
		return DeleteStaleOutput{}, fmt.Errorf("delete_stale_outcodes s3://%s/%s: refusing to delete %d of %d outcode files (more than %d); check AddressBase, then delete them by hand if intended",
			ev.Bucket, prefix, len(deleted), files, limit)
	}
	if len(deleted) > 0 {
		if err := store.Delete(ctx, deleted...); err != nil {
			return DeleteStaleOutput{}, fmt.Errorf("delete_stale_outcodes s3://%s/%s: %w", ev.Bucket, prefix, err)
		}
	}
	if deleted == nil {
		deleted = []string{}
	}
	log.Info("deleted stale outcodes", "bucket", ev.Bucket, "prefix", prefix, "kept", len(keep), "deleted", len(deleted), "keys", deleted)
	return DeleteStaleOutput{Deleted: deleted}, nil
}

// keep validates the event and returns the sorted union of outcodes.
func (ev DeleteStaleEvent) keep() ([]string, error) {
	switch {
	case ev.Bucket == "":
		return nil, fmt.Errorf("field bucket: empty")
	case ev.DestPrefix == "":
		return nil, fmt.Errorf("field dest_prefix: empty")
	case len(ev.Letters) == 0:
		return nil, fmt.Errorf("field letters: empty; refusing to delete every outcode")
	}
	union := map[string]bool{}
	sources := map[string]int64{}
	for i, l := range ev.Letters {
		for _, oc := range l.Outcodes {
			if oc == "" || strings.ContainsAny(oc, "/ ") {
				return nil, fmt.Errorf("field letters[%d].outcodes: invalid outcode %q", i, oc)
			}
			union[oc] = true
		}
		if l.AddressbaseSource != "" {
			sources[l.AddressbaseSource] += int64(l.Rows)
		}
	}
	if len(union) == 0 {
		return nil, fmt.Errorf("field letters: %d letters but no outcodes; refusing to delete every outcode", len(ev.Letters))
	}
	if len(sources) > 1 {
		if err := gates.OneSource(sources); err != nil {
			return nil, fmt.Errorf("field letters: %w", err)
		}
	}
	return slices.Sorted(maps.Keys(union)), nil
}
