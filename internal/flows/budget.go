package flows

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// Latencies are the per-call times a run's critical path is estimated
// from. They are stated design assumptions (docs/design.md, "The 120 s
// budget"), not measurements of a deployed stack.
type Latencies struct {
	// Lambdas maps the machine's function ARNs back to their roles.
	Lambdas layer.Lambdas
	// Lambda is a warm invocation's round trip by role, through the
	// Step Functions integration; LambdaDefault is used for other roles.
	Lambda        map[layer.Role]time.Duration
	LambdaDefault time.Duration
	// ColdStart is added to the first call of each function on a path.
	ColdStart time.Duration
	// Query is an Athena query's start→finish time by QueryName, or by the
	// first word of a QueryString ("MSCK"); QueryDefault otherwise.
	Query        map[string]time.Duration
	QueryDefault time.Duration
	// Service is an SDK service integration's round trip (SNS, Glue).
	Service time.Duration
	// Transition is Step Functions' own time per state entered.
	Transition time.Duration
	// Items is the number of items of a Map, by its ItemsPath.
	Items map[string]int
}

// Step is one state on the critical path and the time charged to it.
type Step struct {
	State string
	Time  time.Duration
}

// Estimate is the time of a run's critical path, and the path.
type Estimate struct {
	Total time.Duration
	Path  []Step
}

// String lists the path, one state a line, then the total.
func (e Estimate) String() string {
	var b strings.Builder
	for _, s := range e.Path {
		fmt.Fprintf(&b, "%8.2fs  %s\n", s.Time.Seconds(), s.State)
	}
	fmt.Fprintf(&b, "%8.2fs  total\n", e.Total.Seconds())
	return b.String()
}

// EstimateRun walks a rendered machine's typed states along the run that
// succeeds without waiting for another run and without retries: sequential
// states add; a Parallel takes its slowest branch; a Map takes
// ceil(items/MaxConcurrency) rounds of its item path; a Choice takes its
// slowest way out that ends (a way back to a state already on the path is a
// poll loop, not an exit); a poll loop's Wait counts as many poll
// intervals as the query it waits for needs, and each extra poll's status
// call; Catch and Fail paths are not walked.
func EstimateRun(sm asl.StateMachine, l Latencies) (Estimate, error) {
	w := walker{l: l, roles: map[string]layer.Role{}}
	for r, arn := range l.Lambdas {
		w.roles[arn] = r
	}
	p, err := w.scope(asl.Branch{StartAt: sm.StartAt, States: sm.States}, "")
	if err != nil {
		return Estimate{}, err
	}
	if p.loops {
		return Estimate{}, fmt.Errorf("estimate: every way through %q loops", sm.StartAt)
	}
	return Estimate{Total: p.total, Path: p.steps}, nil
}

type walker struct {
	l     Latencies
	roles map[string]layer.Role
}

// path is a walked stretch; loops means it ran into a state already on
// the path instead of ending.
type path struct {
	total time.Duration
	steps []Step
	loops bool
}

func (p path) then(s Step, rest path) path {
	return path{total: s.Time + rest.total, steps: append([]Step{s}, rest.steps...), loops: rest.loops}
}

// walkState carries what a state's cost depends on from the states before
// it: the states on the path, the functions already warm, and the running
// time of the query the next poll loop waits for.
type walkState struct {
	on      map[string]bool
	warm    map[string]bool
	pending time.Duration
}

func (s walkState) with(name string) walkState {
	on := make(map[string]bool, len(s.on)+1)
	for k := range s.on {
		on[k] = true
	}
	on[name] = true
	return walkState{on: on, warm: s.warm, pending: s.pending}
}

func (w walker) scope(b asl.Branch, prefix string) (path, error) {
	return w.from(b, prefix, b.StartAt, walkState{on: map[string]bool{}, warm: map[string]bool{}})
}

func (w walker) from(b asl.Branch, prefix, name string, ws walkState) (path, error) {
	if name == "" {
		return path{}, nil
	}
	if ws.on[name] {
		return path{loops: true}, nil
	}
	st, ok := b.States[name]
	if !ok {
		return path{}, fmt.Errorf("estimate: state %q is not in its scope", name)
	}
	ws = ws.with(name)
	label := prefix + name
	step := Step{State: label, Time: w.l.Transition}
	switch s := st.(type) {
	case asl.Task:
		d, query, err := w.task(s, ws.warm)
		if err != nil {
			return path{}, fmt.Errorf("estimate %q: %w", label, err)
		}
		step.Time += d
		ws.pending = query
		return w.next(b, prefix, step, s.Next, ws)
	case asl.Wait:
		secs := time.Duration(s.Seconds) * time.Second
		if s.Seconds > 0 && ws.pending > 0 {
			// A poll loop: as many waits as the query needs, and a status
			// call after each but the last (the walk counts that one).
			polls := max(1, int((ws.pending+secs-1)/secs))
			step.Time += time.Duration(polls)*secs + time.Duration(polls-1)*(w.lambda(layer.Query)+w.l.Transition*3)
		} else {
			step.Time += secs
		}
		ws.pending = 0
		return w.next(b, prefix, step, s.Next, ws)
	case asl.Pass:
		return w.next(b, prefix, step, s.Next, ws)
	case asl.Succeed, asl.Fail:
		return path{steps: []Step{step}, total: step.Time}, nil
	case asl.Choice:
		var best path
		found := false
		outs := []string{s.Default}
		for _, r := range s.Choices {
			outs = append(outs, r.Next)
		}
		for _, out := range outs {
			if out == "" {
				continue
			}
			if _, fail := b.States[out].(asl.Fail); fail {
				continue
			}
			alt := ws
			alt.warm = maps.Clone(ws.warm)
			p, err := w.from(b, prefix, out, alt)
			if err != nil {
				return path{}, err
			}
			if !p.loops && (!found || p.total > best.total) {
				best, found = p, true
			}
		}
		if !found {
			return path{loops: true}, nil
		}
		return path{}.then(step, best), nil
	case asl.Parallel:
		var slowest path
		for i, br := range s.Branches {
			p, err := w.scope(br, fmt.Sprintf("%s[%d] › ", label, i))
			if err != nil {
				return path{}, err
			}
			if p.total >= slowest.total {
				slowest = p
			}
		}
		return w.nested(b, prefix, step, slowest, 1, s.Next, ws)
	case asl.Map:
		items, ok := w.l.Items[s.ItemsPath]
		if !ok {
			return path{}, fmt.Errorf("estimate %q: no item count for ItemsPath %q", label, s.ItemsPath)
		}
		conc := s.MaxConcurrency
		if conc <= 0 || conc > items {
			conc = items
		}
		rounds := 1
		if conc > 0 {
			rounds = (items + conc - 1) / conc
		}
		p, err := w.scope(asl.Branch{StartAt: s.ItemProcessor.StartAt, States: s.ItemProcessor.States},
			fmt.Sprintf("%s (%d items, %d at a time, %d rounds) › ", label, items, conc, rounds))
		if err != nil {
			return path{}, err
		}
		return w.nested(b, prefix, step, p, rounds, s.Next, ws)
	}
	return path{}, fmt.Errorf("estimate %q: state type %s is not modelled", label, st.Type())
}

// nested charges a Parallel's or Map's inner path, times rounds, then goes on.
func (w walker) nested(b asl.Branch, prefix string, step Step, inner path, rounds int, next string, ws walkState) (path, error) {
	if inner.loops {
		return path{}, fmt.Errorf("estimate %q: an inner path never ends", step.State)
	}
	rest, err := w.from(b, prefix, next, ws)
	if err != nil {
		return path{}, err
	}
	step.Time += time.Duration(rounds) * inner.total
	out := path{total: step.Time + rest.total, loops: rest.loops}
	out.steps = append(append([]Step{step}, inner.steps...), rest.steps...)
	out.steps[0].State += fmt.Sprintf(" (%d × the %d states below)", rounds, len(inner.steps))
	return out, nil
}

func (w walker) next(b asl.Branch, prefix string, step Step, next string, ws walkState) (path, error) {
	rest, err := w.from(b, prefix, next, ws)
	if err != nil {
		return path{}, err
	}
	return path{}.then(step, rest), nil
}

func (w walker) lambda(r layer.Role) time.Duration {
	if d, ok := w.l.Lambda[r]; ok {
		return d
	}
	return w.l.LambdaDefault
}

// task returns a Task's time and, when it starts an Athena query that a
// poll loop then waits for, that query's running time.
func (w walker) task(t asl.Task, warm map[string]bool) (time.Duration, time.Duration, error) {
	if t.Resource != asl.LambdaInvokeResource {
		return w.l.Service, 0, nil
	}
	arn, _ := t.Parameters["FunctionName"].(string)
	role, ok := w.roles[arn]
	if !ok {
		return 0, 0, fmt.Errorf("function %q has no role in Latencies.Lambdas", arn)
	}
	d := w.lambda(role)
	if !warm[arn] {
		warm[arn] = true
		d += w.l.ColdStart
	}
	payload, _ := t.Parameters["Payload"].(map[string]any)
	if role != layer.Query || payload == nil || payload["blocking"] != false {
		return d, 0, nil
	}
	return d, w.query(payload), nil
}

func (w walker) query(payload map[string]any) time.Duration {
	key, _ := payload["QueryName"].(string)
	if qs, ok := payload["QueryString"].(string); ok {
		key, _, _ = strings.Cut(qs, " ")
	}
	if d, ok := w.l.Query[key]; ok {
		return d
	}
	return w.l.QueryDefault
}

// Stated per-call latencies every layer's estimate starts from
// (docs/design.md, "The 120 s budget"). Each is a round trip as Step
// Functions sees it, chosen at the slow end of what these calls usually
// take.
const (
	// LatencyLambda is a warm invocation of a small Go Lambda.
	LatencyLambda = 300 * time.Millisecond
	// LatencyColdStart is a Go (provided.al2023) Lambda's first start.
	LatencyColdStart = time.Second
	// LatencyQuery is Athena's minimum start→finish for a small query
	// (queueing and planning included).
	LatencyQuery = 3 * time.Second
	// LatencyService is an SDK service integration (SNS, Glue).
	LatencyService = 300 * time.Millisecond
	// LatencyTransition is Step Functions' own time per state.
	LatencyTransition = 50 * time.Millisecond
)

// BaseLatencies are the stated latencies for the functions in l, to which
// a layer adds its own slower calls and its Maps' item counts.
func BaseLatencies(l layer.Lambdas) Latencies {
	return Latencies{
		Lambdas: l, Lambda: map[layer.Role]time.Duration{}, LambdaDefault: LatencyLambda, ColdStart: LatencyColdStart,
		Query: map[string]time.Duration{}, QueryDefault: LatencyQuery,
		Service: LatencyService, Transition: LatencyTransition, Items: map[string]int{},
	}
}
