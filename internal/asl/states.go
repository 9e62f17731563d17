package asl

// Task runs a resource, usually a Lambda function or a service integration.
type Task struct {
	Comment        string
	Resource       string
	Parameters     map[string]any
	ResultSelector map[string]any
	InputPath      string
	ResultPath     string
	OutputPath     string
	TimeoutSeconds int
	Retry          []Retrier
	Catch          []Catcher
	Next           string
	End            bool
}

// Type implements State.
func (Task) Type() string { return "Task" }

func (s Task) fields() map[string]any {
	m := map[string]any{"Resource": s.Resource}
	common(m, s.Comment, s.InputPath, s.OutputPath, s.Next, s.End)
	putObj(m, "Parameters", s.Parameters)
	putObj(m, "ResultSelector", s.ResultSelector)
	putPath(m, "ResultPath", s.ResultPath)
	putInt(m, "TimeoutSeconds", s.TimeoutSeconds)
	putRetryCatch(m, s.Retry, s.Catch)
	return m
}
func (s Task) transitions() []string { return nextOf(s.Next, catchTargets(s.Catch)...) }
func (s Task) terminal() bool        { return s.End }
func (Task) branches() []Branch      { return nil }

// Choice moves to the Next of the first rule that matches, else Default.
type Choice struct {
	Comment    string
	InputPath  string
	OutputPath string
	Choices    []ChoiceRule
	Default    string
}

// Type implements State.
func (Choice) Type() string { return "Choice" }

func (s Choice) fields() map[string]any {
	m := map[string]any{}
	common(m, s.Comment, s.InputPath, s.OutputPath, "", false)
	rules := make([]any, len(s.Choices))
	for i, r := range s.Choices {
		v := r.Condition.value()
		v["Next"] = r.Next
		rules[i] = v
	}
	m["Choices"] = rules
	putStr(m, "Default", s.Default)
	return m
}
func (s Choice) transitions() []string {
	var out []string
	for _, r := range s.Choices {
		out = append(out, r.Next)
	}
	return nextOf(s.Default, out...)
}
func (Choice) terminal() bool     { return false }
func (Choice) branches() []Branch { return nil }

// ChoiceRule is a top-level rule of a Choice state.
type ChoiceRule struct {
	Condition Condition
	Next      string
}

// Condition is a Choice comparison (Variable + operator + value) or a
// boolean combination of conditions. Build it with the helpers below.
type Condition struct {
	Variable string
	Operator string
	Value    any
	And, Or  []Condition
	Not      *Condition
}

func (c Condition) value() map[string]any {
	switch {
	case len(c.And) > 0:
		return map[string]any{"And": conditions(c.And)}
	case len(c.Or) > 0:
		return map[string]any{"Or": conditions(c.Or)}
	case c.Not != nil:
		return map[string]any{"Not": c.Not.value()}
	}
	return map[string]any{"Variable": c.Variable, c.Operator: c.Value}
}

func conditions(cs []Condition) []any {
	out := make([]any, len(cs))
	for i, c := range cs {
		out[i] = c.value()
	}
	return out
}

// StringEquals matches when the string at variable equals s.
func StringEquals(variable, s string) Condition {
	return Condition{Variable: variable, Operator: "StringEquals", Value: s}
}

// BooleanEquals matches when the boolean at variable equals b.
func BooleanEquals(variable string, b bool) Condition {
	return Condition{Variable: variable, Operator: "BooleanEquals", Value: b}
}

// IsPresent matches when variable is (or, with false, is not) present.
func IsPresent(variable string, present bool) Condition {
	return Condition{Variable: variable, Operator: "IsPresent", Value: present}
}

// Or matches when any of cs matches.
func Or(cs ...Condition) Condition { return Condition{Or: cs} }

// And matches when all of cs match.
func And(cs ...Condition) Condition { return Condition{And: cs} }

// Not matches when c does not.
func Not(c Condition) Condition { return Condition{Not: &c} }

// ProcessorConfig configures a Map's ItemProcessor; Mode is INLINE here.
type ProcessorConfig struct {
	Mode string
}

// ItemProcessor is the sub-workflow a Map runs for each item.
type ItemProcessor struct {
	ProcessorConfig ProcessorConfig
	StartAt         string
	States          map[string]State
}

// Map runs ItemProcessor once per item of the array at ItemsPath.
type Map struct {
	Comment        string
	InputPath      string
	ItemsPath      string
	ItemSelector   map[string]any
	ItemProcessor  ItemProcessor
	MaxConcurrency int
	ResultSelector map[string]any
	ResultPath     string
	OutputPath     string
	Retry          []Retrier
	Catch          []Catcher
	Next           string
	End            bool
}

// Type implements State.
func (Map) Type() string { return "Map" }

func (s Map) fields() map[string]any {
	m := map[string]any{}
	common(m, s.Comment, s.InputPath, s.OutputPath, s.Next, s.End)
	putStr(m, "ItemsPath", s.ItemsPath)
	putObj(m, "ItemSelector", s.ItemSelector)
	proc := branchValue(Branch{StartAt: s.ItemProcessor.StartAt, States: s.ItemProcessor.States})
	mode := s.ItemProcessor.ProcessorConfig.Mode
	if mode == "" {
		mode = "INLINE"
	}
	proc["ProcessorConfig"] = map[string]any{"Mode": mode}
	m["ItemProcessor"] = proc
	putInt(m, "MaxConcurrency", s.MaxConcurrency)
	putObj(m, "ResultSelector", s.ResultSelector)
	putPath(m, "ResultPath", s.ResultPath)
	putRetryCatch(m, s.Retry, s.Catch)
	return m
}
func (s Map) transitions() []string { return nextOf(s.Next, catchTargets(s.Catch)...) }
func (s Map) terminal() bool        { return s.End }
func (s Map) branches() []Branch {
	return []Branch{{StartAt: s.ItemProcessor.StartAt, States: s.ItemProcessor.States}}
}

// Parallel runs every branch on the same input; its result is the array of
// the branches' outputs.
type Parallel struct {
	Comment        string
	InputPath      string
	Branches       []Branch
	ResultSelector map[string]any
	ResultPath     string
	OutputPath     string
	Retry          []Retrier
	Catch          []Catcher
	Next           string
	End            bool
}

// Type implements State.
func (Parallel) Type() string { return "Parallel" }

func (s Parallel) fields() map[string]any {
	m := map[string]any{}
	common(m, s.Comment, s.InputPath, s.OutputPath, s.Next, s.End)
	bs := make([]any, len(s.Branches))
	for i, b := range s.Branches {
		bs[i] = branchValue(b)
	}
	m["Branches"] = bs
	putObj(m, "ResultSelector", s.ResultSelector)
	putPath(m, "ResultPath", s.ResultPath)
	putRetryCatch(m, s.Retry, s.Catch)
	return m
}
func (s Parallel) transitions() []string { return nextOf(s.Next, catchTargets(s.Catch)...) }
func (s Parallel) terminal() bool        { return s.End }
func (s Parallel) branches() []Branch    { return s.Branches }

// Pass passes its input (or Result, or Parameters) on.
type Pass struct {
	Comment    string
	InputPath  string
	Parameters map[string]any
	Result     any
	ResultPath string
	OutputPath string
	Next       string
	End        bool
}

// Type implements State.
func (Pass) Type() string { return "Pass" }

func (s Pass) fields() map[string]any {
	m := map[string]any{}
	common(m, s.Comment, s.InputPath, s.OutputPath, s.Next, s.End)
	putObj(m, "Parameters", s.Parameters)
	if s.Result != nil {
		m["Result"] = s.Result
	}
	putPath(m, "ResultPath", s.ResultPath)
	return m
}
func (s Pass) transitions() []string { return nextOf(s.Next) }
func (s Pass) terminal() bool        { return s.End }
func (Pass) branches() []Branch      { return nil }

// Wait pauses for Seconds, or for the number of seconds at SecondsPath.
type Wait struct {
	Comment     string
	InputPath   string
	OutputPath  string
	Seconds     int
	SecondsPath string
	Next        string
	End         bool
}

// Type implements State.
func (Wait) Type() string { return "Wait" }

func (s Wait) fields() map[string]any {
	m := map[string]any{}
	common(m, s.Comment, s.InputPath, s.OutputPath, s.Next, s.End)
	if s.SecondsPath != "" {
		m["SecondsPath"] = s.SecondsPath
	} else {
		m["Seconds"] = s.Seconds
	}
	return m
}
func (s Wait) transitions() []string { return nextOf(s.Next) }
func (s Wait) terminal() bool        { return s.End }
func (Wait) branches() []Branch      { return nil }

// Succeed ends its scope successfully.
type Succeed struct {
	Comment    string
	InputPath  string
	OutputPath string
}

// Type implements State.
func (Succeed) Type() string { return "Succeed" }

func (s Succeed) fields() map[string]any {
	m := map[string]any{}
	common(m, s.Comment, s.InputPath, s.OutputPath, "", false)
	return m
}
func (Succeed) transitions() []string { return nil }
func (Succeed) terminal() bool        { return true }
func (Succeed) branches() []Branch    { return nil }

// Fail ends the execution as failed. ErrorPath/CausePath take the values
// from the state's input instead of the fixed Error/Cause.
type Fail struct {
	Comment   string
	Error     string
	Cause     string
	ErrorPath string
	CausePath string
}

// Type implements State.
func (Fail) Type() string { return "Fail" }

func (s Fail) fields() map[string]any {
	m := map[string]any{}
	putStr(m, "Comment", s.Comment)
	putStr(m, "Error", s.Error)
	putStr(m, "Cause", s.Cause)
	putStr(m, "ErrorPath", s.ErrorPath)
	putStr(m, "CausePath", s.CausePath)
	return m
}
func (Fail) transitions() []string { return nil }
func (Fail) terminal() bool        { return true }
func (Fail) branches() []Branch    { return nil }

// Compile-time checks that every state type implements State.
var (
	_ State = Task{}
	_ State = Choice{}
	_ State = Map{}
	_ State = Parallel{}
	_ State = Pass{}
	_ State = Wait{}
	_ State = Succeed{}
	_ State = Fail{}
)
