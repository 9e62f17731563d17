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
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
	// StatsPrefix, when set, is where the split writes its files' stats as
	// <letter>.json, for the plausibility gate; outside DestPrefix.
	StatsPrefix string `json:"stats_prefix,omitempty"`
}

// SplitHandler runs Split for one letter in one bucket.
type SplitHandler struct {
	S3     blob.S3API
	Logger *slog.Logger // nil uses slog.Default()
}

// Handle validates the event and splits the letter. Its output is the
// Result, which publish_outcodes later receives.
func (h SplitHandler) Handle(ctx context.Context, ev SplitEvent) (Result, error) {
	if err := ev.validate(); err != nil {
		return Result{}, fmt.Errorf("first_letter_to_outcode_parquet: %w", err)
	}
	store := blob.NewS3(h.S3, ev.Bucket)
	var statsKey string
	if ev.StatsPrefix != "" {
		statsKey = StatsKey(dirPrefix(ev.StatsPrefix), ev.FirstLetter)
	}
	return Split(ctx, SplitInput{
		StatsKey:   statsKey,
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
	case ev.StatsPrefix != "" && (strings.HasPrefix(dirPrefix(ev.StatsPrefix), dirPrefix(ev.DestPrefix)) || strings.HasPrefix(dirPrefix(ev.StatsPrefix), dirPrefix(ev.SourcePrefix))):
		return fmt.Errorf("field stats_prefix: %q is inside source_prefix or dest_prefix", ev.StatsPrefix)
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

// PublishEvent is the publish_outcodes Lambda's input: where the letters'
// splits wrote (StagingPrefix), where consumers read (DestPrefix), and the
// outputs of every letter's split.
type PublishEvent struct {
	Bucket        string   `json:"bucket"`
	StagingPrefix string   `json:"staging_prefix"`
	DestPrefix    string   `json:"dest_prefix"`
	Letters       []Result `json:"letters"`
	// Manifest, when set, is the run's manifest, staged by the plausibility
	// gate: it is copied live after the files, so the live manifest never
	// describes files that are not live yet.
	Manifest *ManifestCopy `json:"manifest,omitempty"`
}

// ManifestCopy is the staged manifest's key and its live key, both outside
// the live folder that consumers sync.
type ManifestCopy struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// PublishOutput lists the live keys copied and deleted, sorted, and how
// many files were already the same.
type PublishOutput struct {
	Copied    []string `json:"copied"`
	Unchanged int      `json:"unchanged"`
	Deleted   []string `json:"deleted"`
}

// PublishHandler publishes the staged outcode files: it copies the changed
// ones to the live prefix, then deletes live (and staged) files of
// outcodes no letter produced.
type PublishHandler struct {
	S3     PublishAPI
	Logger *slog.Logger // nil uses slog.Default()
}

// Handle keeps the union of the letters' outcodes, copies those whose
// staged file differs from the live one, and deletes the rest. It refuses
// input that looks like an upstream bug before copying anything, since
// deleting files that WDIV expects is worse than keeping stale ones: no
// letters, no outcodes at all, letters built from different AddressBase
// sources, or too many stale files.
// The stale-deletion safety limit: the Lambda refuses to delete more than
// MaxStalePercent of the outcode files, or MaxStaleFloor, whichever is more.
const (
	MaxStalePercent = 10
	MaxStaleFloor   = 25
)

func (h PublishHandler) Handle(ctx context.Context, ev PublishEvent) (PublishOutput, error) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	keep, err := ev.keep()
	if err != nil {
		return PublishOutput{}, fmt.Errorf("publish_outcodes: %w", err)
	}
	prefix, staging := dirPrefix(ev.DestPrefix), dirPrefix(ev.StagingPrefix)
	store := blob.NewS3(h.S3, ev.Bucket)
	deleted, files, err := Stale(ctx, store, prefix, keep)
	if err != nil {
		return PublishOutput{}, fmt.Errorf("publish_outcodes s3://%s/%s: %w", ev.Bucket, prefix, err)
	}
	// An AddressBase release drops a handful of outcodes. Many more means
	// the joined table was incomplete (say, AddressBase being rebuilt while
	// this ran), and deleting would take live outcodes away from the APIs.
	if limit := max(MaxStaleFloor, files*MaxStalePercent/100); len(deleted) > limit {
		return PublishOutput{}, fmt.Errorf("publish_outcodes s3://%s/%s: refusing to delete %d of %d outcode files (more than %d); check AddressBase, then delete them by hand if intended",
			ev.Bucket, prefix, len(deleted), files, limit)
	}
	copied, unchanged, err := CopyChanged(ctx, h.S3, ev.Bucket, staging, prefix, keep)
	if err != nil {
		return PublishOutput{}, fmt.Errorf("publish_outcodes s3://%s/%s to %s: %w", ev.Bucket, staging, prefix, err)
	}
	if len(deleted) > 0 {
		if err := store.Delete(ctx, deleted...); err != nil {
			return PublishOutput{}, fmt.Errorf("publish_outcodes s3://%s/%s: %w", ev.Bucket, prefix, err)
		}
	}
	if m := ev.Manifest; m != nil {
		if _, err := h.S3.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket: aws.String(ev.Bucket), Key: aws.String(m.To), CopySource: aws.String(copySource(ev.Bucket, m.From)),
		}); err != nil {
			return PublishOutput{}, fmt.Errorf("publish_outcodes: copy manifest s3://%s/%s to %s: %w", ev.Bucket, m.From, m.To, err)
		}
	}
	// Staged files of gone outcodes would otherwise pile up; they are
	// never published, so this is tidying only.
	if _, err := DeleteStale(ctx, store, staging, keep); err != nil {
		return PublishOutput{}, fmt.Errorf("publish_outcodes s3://%s/%s: %w", ev.Bucket, staging, err)
	}
	if deleted == nil {
		deleted = []string{}
	}
	if copied == nil {
		copied = []string{}
	}
	log.Info("published outcodes", "bucket", ev.Bucket, "staging", staging, "prefix", prefix, "kept", len(keep),
		"copied", len(copied), "unchanged", unchanged, "deleted", len(deleted), "deleted_keys", deleted)
	return PublishOutput{Copied: copied, Unchanged: unchanged, Deleted: deleted}, nil
}

// keep validates the event and returns the sorted union of outcodes.
func (ev PublishEvent) keep() ([]string, error) {
	switch {
	case ev.Bucket == "":
		return nil, fmt.Errorf("field bucket: empty")
	case ev.DestPrefix == "":
		return nil, fmt.Errorf("field dest_prefix: empty")
	case ev.StagingPrefix == "":
		return nil, fmt.Errorf("field staging_prefix: empty")
	case dirPrefix(ev.StagingPrefix) == dirPrefix(ev.DestPrefix):
		return nil, fmt.Errorf("fields staging_prefix and dest_prefix: both are %q", ev.StagingPrefix)
	case len(ev.Letters) == 0:
		return nil, fmt.Errorf("field letters: empty; refusing to delete every outcode")
	}
	if m := ev.Manifest; m != nil {
		for _, k := range []string{m.From, m.To} {
			if k == "" || strings.HasSuffix(k, "/") {
				return nil, fmt.Errorf("field manifest: %q is not an object key", k)
			}
			if strings.HasPrefix(k, dirPrefix(ev.DestPrefix)) || strings.HasPrefix(k, dirPrefix(ev.StagingPrefix)) {
				return nil, fmt.Errorf("field manifest: %q is inside the outcode folders", k)
			}
		}
		if m.From == m.To {
			return nil, fmt.Errorf("field manifest: from and to are both %q", m.From)
		}
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
