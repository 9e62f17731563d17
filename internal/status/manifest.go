package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
)

// LastRun is what the manifest beside an output says about the last
// published run: its totals, what changed since the run before, and any
// implausible change an operator accepted.
type LastRun struct {
	Key      string           `json:"key"`
	Summary  string           `json:"summary"`
	Totals   manifest.Totals  `json:"totals"`
	Changes  manifest.Changes `json:"changes"`
	Accepted []string         `json:"acceptedFindings,omitempty"`
}

// lastRun reads the manifest beside loc's prefix; nil when there is none
// (an output without outcode files, or a stack deployed before manifests).
func lastRun(ctx context.Context, s3c S3API, loc Location) (*LastRun, error) {
	key := manifest.Key(loc.Prefix)
	out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(key)})
	if blob.NotFound(err) {
		return nil, nil
	}
	uri := "s3://" + loc.Bucket + "/" + key
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", uri, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", uri, err)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", uri, err)
	}
	return &LastRun{Key: key, Summary: m.Changes.Summary(&m), Totals: m.Totals, Changes: m.Changes, Accepted: m.Accepted}, nil
}
