// Package asl models Amazon States Language (JSONPath query language) as
// typed Go values and renders them to deterministic JSON.
//
// Every state is a Go struct; Render turns a StateMachine into JSON with
// sorted keys, so the same value always gives the same bytes and a changed
// definition shows up as a small diff.
package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// StateMachine is a whole definition.
type StateMachine struct {
	Comment        string
	StartAt        string
	States         map[string]State
	TimeoutSeconds int
}

// Branch is a nested set of states: a Parallel branch or a Map's processor.
type Branch struct {
	StartAt string
	States  map[string]State
}

// State is one of Task, Choice, Map, Parallel, Pass, Wait, Succeed or Fail.
type State interface {
	// Type is the ASL "Type" value.
	Type() string
	// fields returns the state's JSON object, without "Type".
	fields() map[string]any
	// transitions returns the states this one can move to in its scope.
	transitions() []string
	// terminal reports whether the state may end its scope.
	terminal() bool
	// branches returns nested scopes (Parallel branches, Map processor).
	branches() []Branch
}

// Retrier is one entry of a state's Retry list. Zero numeric fields are
// omitted, so AWS defaults apply.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds int
	MaxAttempts     int
	BackoffRate     float64
	MaxDelaySeconds int
	// JitterStrategy is "FULL" or "NONE"; empty means the default (NONE).
	JitterStrategy string
}

func (r Retrier) value() map[string]any {
	m := map[string]any{"ErrorEquals": r.ErrorEquals}
	putInt(m, "IntervalSeconds", r.IntervalSeconds)
	putInt(m, "MaxAttempts", r.MaxAttempts)
	if r.BackoffRate != 0 {
		m["BackoffRate"] = r.BackoffRate
	}
	putInt(m, "MaxDelaySeconds", r.MaxDelaySeconds)
	putStr(m, "JitterStrategy", r.JitterStrategy)
	return m
}

// Catcher is one entry of a state's Catch list.
type Catcher struct {
	ErrorEquals []string
	Next        string
	// ResultPath is where the error output ({Error, Cause}) goes; empty
	// means "$" (replace the state's input).
	ResultPath string
}

func (c Catcher) value() map[string]any {
	m := map[string]any{"ErrorEquals": c.ErrorEquals, "Next": c.Next}
	putStr(m, "ResultPath", c.ResultPath)
	return m
}

// DiscardResult is a ResultPath value that renders as JSON null: the state's
// result is dropped and its input passes through unchanged.
const DiscardResult = "\x00null"

// common renders the fields shared by most states.
func common(m map[string]any, comment, inputPath, outputPath, next string, end bool) {
	putStr(m, "Comment", comment)
	putStr(m, "InputPath", inputPath)
	putStr(m, "OutputPath", outputPath)
	putStr(m, "Next", next)
	if end {
		m["End"] = true
	}
}

func nextOf(next string, more ...string) []string {
	var out []string
	if next != "" {
		out = append(out, next)
	}
	return append(out, more...)
}

func putStr(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func putInt(m map[string]any, k string, v int) {
	if v != 0 {
		m[k] = v
	}
}

func putPath(m map[string]any, k, v string) {
	switch v {
	case "":
	case DiscardResult:
		m[k] = nil
	default:
		m[k] = v
	}
}

func putObj(m map[string]any, k string, v map[string]any) {
	if v != nil {
		m[k] = v
	}
}

func putRetryCatch(m map[string]any, retry []Retrier, catch []Catcher) {
	if len(retry) > 0 {
		rs := make([]any, len(retry))
		for i, r := range retry {
			rs[i] = r.value()
		}
		m["Retry"] = rs
	}
	if len(catch) > 0 {
		cs := make([]any, len(catch))
		for i, c := range catch {
			cs[i] = c.value()
		}
		m["Catch"] = cs
	}
}

func catchTargets(catch []Catcher) []string {
	var out []string
	for _, c := range catch {
		out = append(out, c.Next)
	}
	return out
}

func branchValue(b Branch) map[string]any {
	states := make(map[string]any, len(b.States))
	for name, s := range b.States {
		states[name] = stateValue(s)
	}
	return map[string]any{"StartAt": b.StartAt, "States": states}
}

func stateValue(s State) map[string]any {
	m := s.fields()
	m["Type"] = s.Type()
	return m
}

// Value returns the definition as plain JSON values (maps, slices, strings,
// numbers), ready for encoding/json.
func (sm StateMachine) Value() map[string]any {
	m := branchValue(Branch{StartAt: sm.StartAt, States: sm.States})
	putStr(m, "Comment", sm.Comment)
	putInt(m, "TimeoutSeconds", sm.TimeoutSeconds)
	return m
}

// Render checks the definition's structure and returns it as indented JSON
// with sorted keys.
func (sm StateMachine) Render() ([]byte, error) {
	if err := sm.Check(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sm.Value()); err != nil {
		return nil, fmt.Errorf("encode state machine: %w", err)
	}
	return buf.Bytes(), nil
}

// Check reports structural mistakes that would make the definition invalid:
// a missing StartAt, a Next or Catch target that is not in the same scope, a
// state that neither moves on nor ends, and a state name used twice anywhere
// in the machine (AWS requires names to be unique across nested scopes).
func (sm StateMachine) Check() error {
	seen := map[string]string{}
	return checkBranch("top level", Branch{StartAt: sm.StartAt, States: sm.States}, seen)
}

func checkBranch(scope string, b Branch, seen map[string]string) error {
	if b.StartAt == "" {
		return fmt.Errorf("%s: StartAt is empty", scope)
	}
	if _, ok := b.States[b.StartAt]; !ok {
		return fmt.Errorf("%s: StartAt %q is not a state in this scope", scope, b.StartAt)
	}
	names := make([]string, 0, len(b.States))
	for name := range b.States {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := b.States[name]
		if s == nil {
			return fmt.Errorf("%s: state %q is nil", scope, name)
		}
		if prev, dup := seen[name]; dup {
			return fmt.Errorf("state name %q is used in %s and in %s", name, prev, scope)
		}
		seen[name] = scope
		next := s.transitions()
		if len(next) == 0 && !s.terminal() {
			return fmt.Errorf("%s: state %q has no Next and does not end", scope, name)
		}
		for _, n := range next {
			if _, ok := b.States[n]; !ok {
				return fmt.Errorf("%s: state %q goes to %q, which is not in this scope", scope, name, n)
			}
		}
		for i, nb := range s.branches() {
			if err := checkBranch(fmt.Sprintf("%s/%s[%d]", scope, name, i), nb, seen); err != nil {
				return err
			}
		}
	}
	return nil
}
