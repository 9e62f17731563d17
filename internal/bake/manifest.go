package bake

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
)

// ManifestKey is the key of a product's manifest under Out (and under the
// product's parent prefix on S3): a sibling of the product's folder, such
// as current_elections_manifest/manifest.json, so consumers that sync the
// product folder never see it.
func (p OutcodeFiles) ManifestKey() string { return manifest.Key(p.Dir + "/") }

// ManifestDir is the folder of ManifestKey under Out.
func (p OutcodeFiles) ManifestDir() string { return filepath.Dir(filepath.FromSlash(p.ManifestKey())) }

// gate writes the product's manifest into the staging folder, after
// comparing it with the published one and applying the plausibility gate;
// it returns a *manifest.Refused when the gate refuses, else the rows of
// the product's files. The change summary is kept for the final report.
func (j *Job) gate(ctx context.Context, p OutcodeFiles) (int64, error) {
	inputs, err := j.inputFiles()
	if err != nil {
		return 0, err
	}
	var src manifest.Source
	if p.Source != nil {
		src = p.Source(j.Summary)
	}
	src.Files = j.files[p.Dir]
	m, err := manifest.Prepare(ctx, manifest.Run{
		Published:  manifest.Side{Store: blob.NewDir(j.Out), Prefix: p.Dir + "/"},
		New:        manifest.Side{Store: j.Store(), Prefix: p.Dir + "/"},
		ListColumn: p.Column, Source: src, Inputs: inputs,
		Thresholds: j.Gate, Accept: j.AcceptChange,
	})
	if err != nil {
		return 0, err
	}
	data, err := m.Marshal()
	if err != nil {
		return 0, err
	}
	if _, err := j.Store().Put(ctx, p.ManifestKey(), data); err != nil {
		return 0, fmt.Errorf("write %s: %w", p.ManifestKey(), err)
	}
	j.changes = append(j.changes, m.Changes.Summary(&m))
	for _, f := range m.Accepted {
		j.changes = append(j.changes, "accepted on purpose (--accept-change): "+f)
	}
	return m.Totals.FileRows, nil
}

// hashInputs starts describing the run's input files (hashing them) in the
// background, while the layers run; inputFiles waits for it.
// Cancelling ctx stops it; the returned func cancels and waits for it.
func (j *Job) hashInputs(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	j.inputsDone = make(chan struct{})
	go func() {
		defer close(j.inputsDone)
		j.inputs, j.inputsErr = describeInputs(ctx, j.Inputs)
	}()
	return func() { cancel(); <-j.inputsDone }
}

// inputFiles returns the run's input files, by flag.
func (j *Job) inputFiles() ([]manifest.Input, error) {
	<-j.inputsDone
	return j.inputs, j.inputsErr
}

// describeInputs describes input files by flag, sorted.
func describeInputs(ctx context.Context, inputs map[string]string) ([]manifest.Input, error) {
	flags := make([]string, 0, len(inputs))
	for f := range inputs {
		flags = append(flags, f)
	}
	slices.Sort(flags)
	out := []manifest.Input{}
	for _, f := range flags {
		in, err := manifest.FileInput(ctx, f, inputs[f])
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", f, err)
		}
		out = append(out, in)
	}
	return out, nil
}
