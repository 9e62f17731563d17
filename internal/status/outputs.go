package status

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// Runner runs an external command and returns its standard output.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// ExecRunner runs commands with os/exec in Dir ("" = the current directory).
type ExecRunner struct{ Dir string }

// Run runs name with args; a failure's error includes the command's stderr.
func (r ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	return stdout.Bytes(), nil
}

// Output-name suffixes that status understands. Every layer exports its
// state machine as <layer>StateMachineArn and its data as <name>Location.
const (
	stateMachineSuffix = layer.StateMachineArnSuffix
	locationSuffix     = layer.LocationSuffix
)

// StateMachine is a layer's state machine, from a *StateMachineArn output.
type StateMachine struct {
	Layer  string // the output name without the suffix, e.g. "currentElections"
	Output string
	ARN    string
	Region string // from the ARN
}

// Location is an S3 output location, from a *Location output.
type Location struct {
	Output string
	URI    string // s3://bucket/prefix/
	Bucket string
	Prefix string // without a leading slash, ending in "/"
}

// Outputs are the stack outputs that status reports on, sorted by name.
type Outputs struct {
	Stack         string
	StateMachines []StateMachine
	Locations     []Location
}

// ReadOutputs runs `pulumi stack output --json --stack <stack>` and picks
// out the state machines and S3 locations. Errors name the stack and, for a
// bad value, the output.
func ReadOutputs(ctx context.Context, r Runner, stack string) (Outputs, error) {
	if stack == "" {
		return Outputs{}, fmt.Errorf("no stack given")
	}
	out, err := r.Run(ctx, "pulumi", "stack", "output", "--json", "--stack", stack)
	if err != nil {
		return Outputs{}, fmt.Errorf("read outputs of stack %s (pulumi stack output --json --stack %s): %w", stack, stack, err)
	}
	return ParseOutputs(stack, out)
}

// ParseOutputs parses the JSON object printed by `pulumi stack output --json`.
func ParseOutputs(stack string, data []byte) (Outputs, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Outputs{}, fmt.Errorf("stack %s: outputs are not a JSON object: %w", stack, err)
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	o := Outputs{Stack: stack}
	for _, name := range names {
		isSM, isLoc := strings.HasSuffix(name, stateMachineSuffix), strings.HasSuffix(name, locationSuffix)
		if !isSM && !isLoc {
			continue
		}
		var s string
		if err := json.Unmarshal(raw[name], &s); err != nil {
			return Outputs{}, fmt.Errorf("stack %s: output %s: want a string, got %s", stack, name, raw[name])
		}
		if isSM {
			sm, err := parseStateMachine(name, s)
			if err != nil {
				return Outputs{}, fmt.Errorf("stack %s: output %s: %w", stack, name, err)
			}
			o.StateMachines = append(o.StateMachines, sm)
			continue
		}
		loc, err := parseLocation(name, s)
		if err != nil {
			return Outputs{}, fmt.Errorf("stack %s: output %s: %w", stack, name, err)
		}
		o.Locations = append(o.Locations, loc)
	}
	if len(o.StateMachines) == 0 && len(o.Locations) == 0 {
		return Outputs{}, fmt.Errorf("stack %s: no *%s or *%s outputs (has it been deployed?)", stack, stateMachineSuffix, locationSuffix)
	}
	return o, nil
}

// parseStateMachine checks arn:<partition>:states:<region>:<account>:stateMachine:<name>.
func parseStateMachine(output, arn string) (StateMachine, error) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "states" || parts[3] == "" || parts[5] != "stateMachine" || parts[6] == "" {
		return StateMachine{}, fmt.Errorf("%q is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)", arn)
	}
	return StateMachine{Layer: strings.TrimSuffix(output, stateMachineSuffix), Output: output, ARN: arn, Region: parts[3]}, nil
}

// parseLocation checks s3://bucket/prefix/.
func parseLocation(output, uri string) (Location, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	bucket, prefix, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" || (prefix != "" && !strings.HasSuffix(prefix, "/")) {
		return Location{}, fmt.Errorf("%q is not an S3 location (s3://bucket/prefix/)", uri)
	}
	return Location{Output: output, URI: uri, Bucket: bucket, Prefix: prefix}, nil
}
