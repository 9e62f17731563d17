package gofunction

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Statement is one Allow statement of a function's inline IAM policy.
type Statement struct {
	// Sid names the statement; IAM allows only ASCII letters and digits.
	Sid string
	// Actions are IAM actions such as "s3:GetObject".
	Actions []string
	// Resources are the ARNs the actions apply to, usually known only at
	// deploy time.
	Resources pulumi.StringArrayInput
	// WildcardReason must say why, if any action or resource contains "*".
	// A few AWS actions only accept "*" (xray:PutTraceSegments,
	// athena:ListWorkGroups); anything else should name its resources.
	WildcardReason string
	// Condition narrows the statement: operator -> key -> values, e.g.
	// {"StringLike": {"s3:prefix": ["addressbase/development/*"]}}.
	Condition map[string]map[string][]string
}

// PolicyDocument is an IAM policy document. Parse reads one back so tests
// can assert on what a role is allowed to do.
type PolicyDocument struct {
	Version   string            `json:"Version"`
	Statement []PolicyStatement `json:"Statement"`
}

// PolicyStatement is one statement of a PolicyDocument.
type PolicyStatement struct {
	Sid       string     `json:"Sid,omitempty"`
	Effect    string     `json:"Effect"`
	Principal *Principal `json:"Principal,omitempty"`
	Action    StringList `json:"Action"`
	Resource  StringList `json:"Resource,omitempty"`
	// Condition is operator -> key -> values, e.g.
	// {"ArnEquals": {"aws:SourceArn": [...]}}.
	Condition map[string]map[string]StringList `json:"Condition,omitempty"`
}

// Principal is the principal of a trust-policy or resource-policy
// statement: services, or AWS accounts and roles.
type Principal struct {
	AWS     StringList `json:"AWS,omitempty"`
	Service StringList `json:"Service,omitempty"`
}

// StringList is a JSON string array that also accepts a single string, as
// IAM does for Action, Resource and Principal values.
type StringList []string

// UnmarshalJSON accepts "a" as well as ["a", "b"].
func (l *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or an array of strings, got %s", b)
	}
	*l = many
	return nil
}

// Parse decodes an IAM policy document.
func Parse(doc string) (PolicyDocument, error) {
	var d PolicyDocument
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return PolicyDocument{}, fmt.Errorf("parse IAM policy: %w", err)
	}
	return d, nil
}

// Wildcards returns the statement's actions and resources that contain "*".
func (s PolicyStatement) Wildcards() []string {
	var w []string
	for _, v := range append(append([]string{}, s.Action...), s.Resource...) {
		if strings.Contains(v, "*") {
			w = append(w, v)
		}
	}
	return w
}

// StatementBySid returns the statement with the given Sid.
func (d PolicyDocument) StatementBySid(sid string) (PolicyStatement, bool) {
	for _, s := range d.Statement {
		if s.Sid == sid {
			return s, true
		}
	}
	return PolicyStatement{}, false
}

const policyVersion = "2012-10-17"

// logsSid names the statement that lets the function write its own logs.
const logsSid = "WriteOwnLogs"

var (
	sidRe    = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	actionRe = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*]+$`)
)

// checkStatements validates what can be checked before deploy: Sids,
// action syntax, and that a wildcard in an action or in a resource given as
// a plain string comes with a reason. Resources that are outputs are
// checked again when the policy is rendered.
func checkStatements(stmts []Statement) error {
	seen := map[string]bool{logsSid: true}
	for i, s := range stmts {
		where := fmt.Sprintf("statement %d (Sid %q)", i, s.Sid)
		if s.Sid != "" {
			if !sidRe.MatchString(s.Sid) {
				return fmt.Errorf("%s: Sid must be ASCII letters and digits only", where)
			}
			if seen[s.Sid] {
				return fmt.Errorf("%s: Sid is used twice or is reserved", where)
			}
			seen[s.Sid] = true
		}
		if len(s.Actions) == 0 {
			return fmt.Errorf("%s: no actions", where)
		}
		for op, keys := range s.Condition {
			if len(keys) == 0 {
				return fmt.Errorf("%s: condition %s has no keys", where, op)
			}
			for k, v := range keys {
				if len(v) == 0 {
					return fmt.Errorf("%s: condition %s %s has no values", where, op, k)
				}
			}
		}
		if s.Resources == nil {
			return fmt.Errorf("%s: no resources", where)
		}
		for _, a := range s.Actions {
			if !actionRe.MatchString(a) {
				return fmt.Errorf("%s: action %q is not of the form service:Action", where, a)
			}
			if strings.Contains(a, "*") && s.WildcardReason == "" {
				return fmt.Errorf("%s: action %q contains * but WildcardReason is empty", where, a)
			}
		}
		if arr, ok := s.Resources.(pulumi.StringArray); ok {
			if len(arr) == 0 {
				return fmt.Errorf("%s: no resources", where)
			}
			for _, r := range arr {
				if str, ok := r.(pulumi.String); ok {
					if err := checkResource(where, string(str), s.WildcardReason); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// conditions copies c into a PolicyStatement's Condition (nil when empty).
func conditions(c map[string]map[string][]string) map[string]map[string]StringList {
	if len(c) == 0 {
		return nil
	}
	out := make(map[string]map[string]StringList, len(c))
	for op, keys := range c {
		out[op] = make(map[string]StringList, len(keys))
		for k, v := range keys {
			out[op][k] = append(StringList{}, v...)
		}
	}
	return out
}

func checkResource(where, r, reason string) error {
	if r == "" {
		return fmt.Errorf("%s: empty resource ARN", where)
	}
	if strings.Contains(r, "*") && reason == "" {
		return fmt.Errorf("%s: resource %q contains * but WildcardReason is empty", where, r)
	}
	return nil
}

// rolePolicy renders the inline policy once every ARN is known: the
// caller's statements followed by the permission to write the function's
// own log group.
func rolePolicy(stmts []Statement, logGroupArn pulumi.StringOutput) pulumi.StringOutput {
	return renderPolicy(stmts, logGroupArn)
}

// grantPolicy renders a policy of the caller's statements only.
func grantPolicy(stmts []Statement) pulumi.StringOutput {
	return renderPolicy(stmts, nil)
}

// renderPolicy marshals stmts, plus the log statement when logGroupArn is
// set, with pulumi.All so every ARN is resolved first. A wildcard in an ARN
// that was unknown when NewGoFunction ran is refused here.
func renderPolicy(stmts []Statement, logGroupArn pulumi.StringInput) pulumi.StringOutput {
	inputs := []interface{}{pulumi.String("")}
	if logGroupArn != nil {
		inputs[0] = logGroupArn
	}
	for _, s := range stmts {
		inputs = append(inputs, s.Resources)
	}
	return pulumi.All(inputs...).ApplyT(func(vals []interface{}) (string, error) {
		arn, _ := vals[0].(string)
		if logGroupArn != nil && arn == "" {
			return "", fmt.Errorf("render IAM policy: log group ARN is empty")
		}
		doc := PolicyDocument{Version: policyVersion}
		for i, s := range stmts {
			where := fmt.Sprintf("statement %d (Sid %q)", i, s.Sid)
			res, _ := vals[i+1].([]string)
			if len(res) == 0 {
				return "", fmt.Errorf("render IAM policy: %s: no resources", where)
			}
			for _, r := range res {
				if err := checkResource(where, r, s.WildcardReason); err != nil {
					return "", fmt.Errorf("render IAM policy: %w", err)
				}
			}
			doc.Statement = append(doc.Statement, PolicyStatement{
				Sid:       s.Sid,
				Effect:    "Allow",
				Action:    append(StringList{}, s.Actions...),
				Resource:  append(StringList{}, res...),
				Condition: conditions(s.Condition),
			})
		}
		if logGroupArn != nil {
			doc.Statement = append(doc.Statement, logsStatement(arn))
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return "", fmt.Errorf("render IAM policy: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
}

// logsStatement lets the function create streams in and write to its own
// log group, and nothing else (AWSLambdaBasicExecutionRole would allow
// every log group in the account).
func logsStatement(logGroupArn string) PolicyStatement {
	return PolicyStatement{
		Sid:    logsSid,
		Effect: "Allow",
		Action: StringList{"logs:CreateLogStream", "logs:PutLogEvents"},
		// The provider's log group ARN has no ":*" suffix, but IAM matches
		// log streams as "<log-group-arn>:log-stream:<name>", so the
		// statement needs "<arn>:*" to cover the group's streams, which the
		// Lambda runtime creates with generated names.
		Resource: StringList{logGroupArn + ":*"},
	}
}

// assumeRolePolicy lets the Lambda service assume the function's role.
func assumeRolePolicy() (string, error) {
	doc := PolicyDocument{
		Version: policyVersion,
		Statement: []PolicyStatement{{
			Effect:    "Allow",
			Principal: &Principal{Service: StringList{"lambda.amazonaws.com"}},
			Action:    StringList{"sts:AssumeRole"},
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("render assume-role policy: %w", err)
	}
	return string(b), nil
}
