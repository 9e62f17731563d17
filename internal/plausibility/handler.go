// Package plausibility is the state machine's plausibility gate: the Lambda
// that, between the outcode split (which writes to a staging prefix) and
// publish_outcodes, builds the staged files' manifest from the stats each
// letter's split wrote beside them (reading back only the files whose
// content changed, to count UPRNs that gained or lost an item), and compares it with
// the last published manifest (manifest.Prepare, as the local bake does).
// It fails the run when the change is implausible, unless the execution's
// input asks for it with {"accept_change": true}; otherwise it writes the
// manifest beside the staged files, and publish_outcodes copies it live
// after the files, so the live manifest is never ahead of them.
package plausibility

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/ballots"
	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

// Event is the Lambda's input.
type Event struct {
	Bucket string `json:"bucket"`
	// StagingPrefix holds the split's files, DestPrefix the published
	// ones; the previous manifest is manifest.Key(DestPrefix), and the new
	// one is written to manifest.Key(StagingPrefix).
	StagingPrefix string `json:"staging_prefix"`
	DestPrefix    string `json:"dest_prefix"`
	ListColumn    string `json:"list_column"`
	// StatsPrefix holds each letter's <letter>.json: the stats of the
	// files its split wrote (outcodes.LetterStats), which the gate reads
	// instead of every staged file.
	StatsPrefix string `json:"stats_prefix"`
	// Letters are the split's results, one per letter (the Map's output):
	// the outcodes it wrote, its rows and AddressBase source.
	Letters []outcodes.Result `json:"letters"`
	// Areas is the export's CSV of the areas (the ballots), read for the
	// count of areas and pieces and hashed as an input.
	Areas *Object `json:"areas"`
	// Trigger is the execution's input: {"accept_change": true} publishes
	// an implausible change on purpose. Anything else (a Pipe's array of
	// queue messages) does not.
	Trigger json.RawMessage `json:"trigger,omitempty"`
	// Thresholds are the gate's; zero fields take the defaults.
	Thresholds manifest.Thresholds `json:"thresholds"`
}

// Object is an S3 object, as the export Lambda reports it.
type Object struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// Out is the Lambda's result.
type Out struct {
	Manifest string           `json:"manifest"` // the key it wrote (staged)
	Changes  manifest.Changes `json:"changes"`
	Accepted []string         `json:"accepted_findings,omitempty"`
}

// Handler runs the gate.
type Handler struct {
	S3     blob.S3API
	Logger *slog.Logger // nil uses slog.Default()
}

// Handle checks the letters' staged files and writes their manifest beside
// them, or fails with a *manifest.Refused.
func (h Handler) Handle(ctx context.Context, ev Event) (Out, error) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := ev.validate(); err != nil {
		return Out{}, fmt.Errorf("plausibility gate: %w", err)
	}
	store := blob.NewS3(h.S3, ev.Bucket)
	src := manifest.Source{Files: map[string]outcodes.FileStats{}}
	sources := map[string]bool{}
	for _, l := range ev.Letters {
		src.UPRNs += int64(l.Rows)
		if l.AddressbaseSource != "" {
			sources[l.AddressbaseSource] = true
		}
		if err := h.letterStats(ctx, store, ev.StatsPrefix, l, src.Files); err != nil {
			return Out{}, fmt.Errorf("plausibility gate: %w", err)
		}
	}
	var inputs []manifest.Input
	if ev.Areas != nil {
		in, st, err := h.readAreas(ctx, *ev.Areas)
		if err != nil {
			return Out{}, fmt.Errorf("plausibility gate: %w", err)
		}
		inputs = append(inputs, in)
		src.Areas, src.Pieces, src.InvalidPieces = st.Elections, st.Pieces, len(st.Invalid)
	}
	for s := range sources {
		in, err := h.prefixInput(ctx, s)
		if err != nil {
			return Out{}, fmt.Errorf("plausibility gate: %w", err)
		}
		inputs = append(inputs, in)
	}

	m, err := manifest.Prepare(ctx, manifest.Run{
		Published:  manifest.Side{Store: store, Prefix: ev.DestPrefix},
		New:        manifest.Side{Store: store, Prefix: ev.StagingPrefix},
		ListColumn: ev.ListColumn, Source: src, Inputs: inputs,
		Thresholds: ev.Thresholds, Accept: ev.acceptChange(),
	})
	if err != nil {
		return Out{}, err
	}
	data, err := m.Marshal()
	if err != nil {
		return Out{}, err
	}
	key := manifest.Key(ev.StagingPrefix)
	if _, err := store.Put(ctx, key, data); err != nil {
		return Out{}, fmt.Errorf("plausibility gate: write %s: %w", key, err)
	}
	log.Info("plausibility gate passed", "summary", m.Changes.Summary(&m), "accepted", m.Accepted)
	return Out{Manifest: key, Changes: m.Changes, Accepted: m.Accepted}, nil
}

// letterStats adds the stats of the files letter l's split wrote to files,
// checking they are those of exactly its outcodes.
func (h Handler) letterStats(ctx context.Context, store blob.Store, prefix string, l outcodes.Result, files map[string]outcodes.FileStats) error {
	if len(l.Outcodes) == 0 {
		return nil // a letter without rows writes no files and no stats
	}
	key := outcodes.StatsKey(prefix, l.Letter)
	rc, err := store.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("letter %s's stats: %w", l.Letter, err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	ls, err := outcodes.ParseLetterStats(key, data)
	if err != nil {
		return err
	}
	if ls.Letter != l.Letter || len(ls.Outcodes) != len(l.Outcodes) {
		return fmt.Errorf("%s: letter %q with %d outcodes, but the split of %s reported %d: a stale stats file?", key, ls.Letter, len(ls.Outcodes), l.Letter, len(l.Outcodes))
	}
	for _, oc := range l.Outcodes {
		f, ok := ls.Outcodes[oc]
		if !ok {
			return fmt.Errorf("%s: no stats of outcode %s", key, oc)
		}
		files[oc] = f
	}
	return nil
}

func (ev Event) validate() error {
	switch {
	case ev.Bucket == "":
		return fmt.Errorf("bucket is required")
	case ev.StagingPrefix == "" || !strings.HasSuffix(ev.StagingPrefix, "/"):
		return fmt.Errorf("staging_prefix %q must be a folder ending in /", ev.StagingPrefix)
	case ev.DestPrefix == "" || !strings.HasSuffix(ev.DestPrefix, "/"):
		return fmt.Errorf("dest_prefix %q must be a folder ending in /", ev.DestPrefix)
	case ev.StagingPrefix == ev.DestPrefix:
		return fmt.Errorf("staging_prefix and dest_prefix are the same")
	case ev.StatsPrefix == "" || !strings.HasSuffix(ev.StatsPrefix, "/") || strings.HasPrefix(ev.StatsPrefix, ev.DestPrefix):
		return fmt.Errorf("stats_prefix %q must be a folder ending in /, outside dest_prefix", ev.StatsPrefix)
	case len(ev.Letters) == 0:
		return fmt.Errorf("letters is empty")
	}
	for i, l := range ev.Letters {
		if l.Letter == "" {
			return fmt.Errorf("letters[%d]: no letter", i)
		}
	}
	return outcodes.CheckListColumn(ev.ListColumn)
}

// acceptChange reports whether the execution's input is an object with
// "accept_change": true.
func (ev Event) acceptChange() bool {
	var in struct {
		AcceptChange bool `json:"accept_change"`
	}
	return json.Unmarshal(ev.Trigger, &in) == nil && in.AcceptChange
}

// readAreas streams the areas CSV once: its size, sha256 and counts.
func (h Handler) readAreas(ctx context.Context, o Object) (manifest.Input, ballots.Stats, error) {
	uri := "s3://" + o.Bucket + "/" + o.Key
	rc, err := blob.NewS3(h.S3, o.Bucket).Open(ctx, o.Key)
	if err != nil {
		return manifest.Input{}, ballots.Stats{}, fmt.Errorf("read %s: %w", uri, err)
	}
	defer rc.Close()
	sum := sha256.New()
	n := &countingWriter{}
	st, err := ballots.Read(io.TeeReader(rc, io.MultiWriter(sum, n)), uri, func(ballots.Piece) error { return nil })
	if err != nil {
		return manifest.Input{}, st, err
	}
	return manifest.Input{Name: "areas", URI: uri, Size: n.n, Hash: "sha256:" + hex.EncodeToString(sum.Sum(nil))}, st, nil
}

// prefixInput describes an input folder on S3 (the AddressBase source)
// without reading it: total size, and a hash of its keys and ETags.
func (h Handler) prefixInput(ctx context.Context, uri string) (manifest.Input, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "s3" {
		return manifest.Input{Name: "addressbase_source", URI: uri}, nil
	}
	objs, err := blob.NewS3(h.S3, u.Host).List(ctx, strings.TrimPrefix(u.Path, "/"))
	if err != nil {
		return manifest.Input{}, fmt.Errorf("list %s: %w", uri, err)
	}
	in := manifest.Input{Name: "addressbase_source", URI: uri}
	sum := sha256.New()
	for _, o := range objs {
		in.Size += o.Size
		fmt.Fprintf(sum, "%s %s\n", o.Key, o.ETag)
	}
	in.Hash = "etags-sha256:" + hex.EncodeToString(sum.Sum(nil))
	return in, nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
