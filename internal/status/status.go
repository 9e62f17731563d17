// Package status reports on a deployed stack for operators: the recent
// executions of each layer's state machine, and how fresh each S3 output
// is. It reads the stack's outputs through `pulumi stack output`, and AWS
// through small interfaces that the SDK clients satisfy.
package status

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// SFNAPI is the part of the Step Functions client that status uses.
type SFNAPI interface {
	ListExecutions(ctx context.Context, params *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
}

// S3API is the part of the S3 client that status uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, params *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var (
	_ SFNAPI = (*sfn.Client)(nil)
	_ S3API  = (*s3.Client)(nil)
)

// Options tunes a report.
type Options struct {
	Executions int           // how many recent executions per state machine; 0 means 5
	MaxAge     time.Duration // an output older than this is stale; 0 means 36h
	Now        time.Time     // the report time; zero means time.Now()
}

// Report is the status of one stack. It is the --json output.
type Report struct {
	Stack     string      `json:"stack"`
	CheckedAt time.Time   `json:"checkedAt"`
	MaxAge    string      `json:"maxAge"`
	Layers    []Layer     `json:"layers"`
	Outputs   []Freshness `json:"outputs"`
	Warnings  []string    `json:"warnings"`
}

// Layer is a state machine and its most recent executions, newest first.
type Layer struct {
	Layer           string      `json:"layer"`
	StateMachineArn string      `json:"stateMachineArn"`
	Executions      []Execution `json:"executions"`
}

// Execution is one state machine execution. Running executions have no
// StopDate and their Duration is the time so far.
type Execution struct {
	Name            string     `json:"name"`
	Status          string     `json:"status"`
	StartDate       time.Time  `json:"startDate"`
	StopDate        *time.Time `json:"stopDate,omitempty"`
	DurationSeconds float64    `json:"durationSeconds"`
}

// Running reports whether the execution has not finished.
func (e Execution) Running() bool { return e.StopDate == nil }

// Freshness describes the objects under an output location.
type Freshness struct {
	Output     string     `json:"output"`
	Location   string     `json:"location"`
	Objects    int        `json:"objects"`
	TotalBytes int64      `json:"totalBytes"`
	Newest     *time.Time `json:"newest,omitempty"`
	NewestKey  string     `json:"newestKey,omitempty"`
	AgeSeconds float64    `json:"ageSeconds,omitempty"`
	Stale      bool       `json:"stale"`
	// LastRun is the manifest beside the output, if it has one.
	LastRun *LastRun `json:"lastRun,omitempty"`
}

// Collect builds the report for o from Step Functions and S3.
func Collect(ctx context.Context, sf SFNAPI, s3c S3API, o Outputs, opts Options) (Report, error) {
	if opts.Executions <= 0 {
		opts.Executions = 5
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 36 * time.Hour
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	now := opts.Now.UTC()
	r := Report{Stack: o.Stack, CheckedAt: now, MaxAge: opts.MaxAge.String(), Layers: []Layer{}, Outputs: []Freshness{}, Warnings: []string{}}
	for _, sm := range o.StateMachines {
		execs, err := recentExecutions(ctx, sf, sm, opts.Executions, now)
		if err != nil {
			return Report{}, err
		}
		r.Layers = append(r.Layers, Layer{Layer: sm.Layer, StateMachineArn: sm.ARN, Executions: execs})
		if len(execs) == 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: the state machine has never run", sm.Layer))
			continue
		}
		// The newest finished execution says whether the layer currently works.
		for _, e := range execs {
			if e.Running() {
				continue
			}
			if e.Status != string(sfntypes.ExecutionStatusSucceeded) {
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s: the last finished execution %s %s at %s", sm.Layer, e.Name, e.Status, e.StopDate.Format(time.RFC3339)))
			}
			break
		}
	}
	for _, loc := range o.Locations {
		f, err := freshness(ctx, s3c, loc, now, opts.MaxAge)
		if err != nil {
			return Report{}, err
		}
		if f.LastRun, err = lastRun(ctx, s3c, loc); err != nil {
			return Report{}, err
		}
		r.Outputs = append(r.Outputs, f)
		switch {
		case f.Objects == 0:
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: no objects under %s", f.Output, f.Location))
		case f.Stale:
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: newest object is %s old (%s), older than %s", f.Output, Human(time.Duration(f.AgeSeconds*float64(time.Second))), f.NewestKey, Human(opts.MaxAge)))
		}
	}
	return r, nil
}

// recentExecutions lists the newest n executions, fetching only the pages
// needed (ListExecutions returns newest first).
func recentExecutions(ctx context.Context, sf SFNAPI, sm StateMachine, n int, now time.Time) ([]Execution, error) {
	out := []Execution{}
	in := &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm.ARN)}
	// The ARN names the region, which may differ from the default config's.
	region := func(o *sfn.Options) { o.Region = sm.Region }
	for len(out) < n {
		in.MaxResults = int32(min(n-len(out), 1000)) // the API's maximum page
		page, err := sf.ListExecutions(ctx, in, region)
		if err != nil {
			return nil, fmt.Errorf("list executions of %s: %w", sm.ARN, err)
		}
		for _, e := range page.Executions {
			if len(out) == n {
				break
			}
			out = append(out, execution(e, now))
		}
		if page.NextToken == nil || *page.NextToken == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	return out, nil
}

func execution(e sfntypes.ExecutionListItem, now time.Time) Execution {
	x := Execution{Name: aws.ToString(e.Name), Status: string(e.Status)}
	if e.StartDate != nil {
		x.StartDate = e.StartDate.UTC()
	}
	end := now
	if e.StopDate != nil {
		stop := e.StopDate.UTC()
		x.StopDate, end = &stop, stop
	}
	if !x.StartDate.IsZero() {
		x.DurationSeconds = end.Sub(x.StartDate).Round(time.Second).Seconds()
	}
	return x
}

// freshness lists every object under loc (all pages) for the newest
// LastModified and the count.
func freshness(ctx context.Context, s3c S3API, loc Location, now time.Time, maxAge time.Duration) (Freshness, error) {
	f := Freshness{Output: loc.Output, Location: loc.URI}
	p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(loc.Bucket), Prefix: aws.String(loc.Prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Freshness{}, fmt.Errorf("list %s: %w", loc.URI, err)
		}
		for _, obj := range page.Contents {
			f.Objects++
			f.TotalBytes += aws.ToInt64(obj.Size)
			if obj.LastModified == nil {
				continue
			}
			if t := obj.LastModified.UTC(); f.Newest == nil || t.After(*f.Newest) {
				f.Newest, f.NewestKey = &t, aws.ToString(obj.Key)
			}
		}
	}
	if f.Newest != nil {
		age := now.Sub(*f.Newest).Round(time.Second)
		f.AgeSeconds = age.Seconds()
		f.Stale = age > maxAge
	}
	return f, nil
}
