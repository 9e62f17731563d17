// Package layer says what a layer is. A layer package (internal/layers/...)
// declares one Spec: its tables, named queries, functions and their grants,
// state machine, triggers and outputs. The Pulumi component, the local bake,
// databaker status, the README diagram and the tests all render that one
// declaration. Nothing here depends on Pulumi or AWS.
package layer

import (
	"fmt"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// Role says what a Lambda does for a layer. A state machine calls its
// functions by role; Core owns the shared roles, a layer any other.
type Role string

// The roles of the project's Lambdas.
const (
	Guard         Role = "guard"          // check_step_function_running
	TableLocation Role = "table-location" // get_glue_table_location
	EmptyPrefix   Role = "empty-prefix"   // empty_s3_bucket_by_prefix
	Query         Role = "query"          // run_athena_query
	ExportBallots Role = "export-ballots" // export_current_ballots
	// ExportBoundaryReviews is export_boundary_reviews.
	ExportBoundaryReviews Role = "export-boundary-reviews"
	OutcodeSplit          Role = "outcodes"         // first_letter_to_outcode_parquet
	Publish               Role = "publish-outcodes" // publish_outcodes
	Plausibility          Role = "plausibility"     // plausibility_gate
)

// SharedRoles are Core's functions, which every layer may call.
var SharedRoles = []Role{Guard, TableLocation, EmptyPrefix, Query}

// Lambdas are function ARNs by role: what a state machine definition is
// rendered with.
type Lambdas map[Role]string

// Names are the resource names that are chosen rather than generated, so
// that SQL, Lambdas and operators can refer to them. Production keeps the
// design's names; every other environment's names end in the environment,
// so any number of stacks can share one account without a clash.
type Names struct {
	Database  string // Glue database
	Workgroup string // Athena workgroup
	suffix    string
}

// NamesFor returns the names of an environment's resources.
func NamesFor(environment string) Names {
	n := Names{Database: "dc_data_baker", Workgroup: "dc-data-baker"}
	if environment != "production" {
		n.suffix = "-" + environment
		n.Database += "_" + environment
		n.Workgroup += n.suffix
	}
	return n
}

// StateMachine is the deployed name of a layer's state machine.
func (n Names) StateMachine(base string) string { return base + n.suffix }

// DatabaseParams say how the export Lambdas reach EveryElection's
// database: the SSM parameters that hold its connection details (names,
// never values), the network they run in to reach it (nil: no VPC), and
// their /tmp size in MB for staging the file (0: Lambda's default).
type DatabaseParams struct {
	Host, User, Name, Password string
	VPC                        *VPC
	EphemeralStorage           int
}

// VPC is the subnets and security groups a Lambda runs in.
type VPC struct {
	SubnetIDs, SecurityGroupIDs []string
}

// Settings are the stack's values that layers are declared from.
type Settings struct {
	Names   Names
	Vars    tables.Vars
	Buckets tables.Buckets
	// EEDatabase is where the export Lambdas find EveryElection.
	EEDatabase DatabaseParams
	// Schedule is the nightly rebuild's EventBridge schedule expression.
	Schedule string
	// TriggerDelaySeconds holds a rebuild request in its queue, so a burst
	// of changes becomes one run.
	TriggerDelaySeconds int
	// Selection is which rows the export Lambdas select besides the
	// contract's rule.
	Selection Selection
}

// Selection is the export Lambdas' configurable selection.
type Selection struct {
	// BallotsLookbackDays keeps ballots whose poll date was up to this
	// many days ago.
	BallotsLookbackDays int
	// ReviewsMapOnly keeps only boundary reviews with public_visibility MAP.
	ReviewsMapOnly bool
	// ReviewsLookbackDays keeps COMPLETED reviews that took effect up to
	// this many days ago.
	ReviewsLookbackDays int
}

// MaxLookbackDays bounds both look-backs, as the exports do.
const MaxLookbackDays = 3660

// Spec is everything about one layer.
type Spec struct {
	// Name prefixes the layer's resource names, e.g. "current-elections".
	Name string
	// Type is the component's type: dc-data-baker:layers:<Type>.
	Type string
	// Output prefixes the layer's stack outputs: <Output>StateMachineArn and
	// each location's name.
	Output string
	// StateMachine is the deployed state machine name.
	StateMachine string
	// Tables are the Glue tables the layer creates; it may read others'.
	// Vars fill their prefixes.
	Tables []tables.Table
	Vars   tables.Vars
	// Queries are its Athena named queries.
	Queries []NamedQuery
	// Functions are the Lambdas the layer owns.
	Functions []Function
	// Calls are the roles its state machine invokes, shared ones included.
	Calls []Role
	// Grants are IAM statements for any function it calls.
	Grants []Grant
	// Flow renders the state machine.
	Flow func(Runtime) asl.StateMachine
	// Conflicts are the deployed names of other layers' state machines whose
	// runs must not overlap with this one's: one reads what the other
	// writes. The guard makes the younger run wait.
	Conflicts []string
	// Triggers start it, if anything does besides a person.
	Triggers *Triggers
	// Locations are the data the layer publishes, as stack outputs.
	Locations []Location
}

// NamedQuery is an Athena named query: the sql/ template it renders, and
// the deploy-time values it is rendered with (the database among them).
type NamedQuery struct {
	Name     string
	Template string
	Values   map[string]string
}

// Runtime is what a state machine definition is rendered with once the
// stack's resources exist.
type Runtime struct {
	Lambdas         Lambdas
	FailureTopicArn string
	// ConflictingStateMachineArns are Spec.Conflicts as ARNs.
	ConflictingStateMachineArns []string
}

// Function is a Lambda that a layer owns.
type Function struct {
	Role        Role
	Source      string // functions/<Source>
	Description string
	Timeout     int // seconds
	MemorySize  int // MB; 0 is GoFunction's default
	Env         map[string]string
	// ExternalObjects is true when it reads or writes objects in the
	// buckets the project does not own, so it needs their KMS keys.
	ExternalObjects bool
	// VPC, if set, is where it runs; EphemeralStorage is /tmp in MB.
	VPC              *VPC
	EphemeralStorage int
	// History, if set, is its folder in the stack's raw-history bucket
	// (e.g. "current_elections/"): the component passes the bucket and
	// folder as HISTORY_BUCKET and HISTORY_PREFIX.
	History string
}

// Triggers start a layer's state machine through a deduplicating FIFO queue.
type Triggers struct {
	Schedule string
	// Events are EventBridge detail-types that request a rebuild.
	Events       []string
	DelaySeconds int
	// Message is the constant rebuild request; the queue's content-based
	// deduplication collapses a burst of them into one run.
	Message string
}

// Stack outputs a layer exports end in these, which is how databaker status
// finds every layer's state machine and data.
const (
	StateMachineArnSuffix = "StateMachineArn"
	LocationSuffix        = "Location"
	TriggerQueueURLSuffix = "TriggerQueueUrl"
	// DeadLetterQueueURLSuffix ends the URL of the queue that holds the
	// rebuild requests that could not start the machine.
	DeadLetterQueueURLSuffix = "DeadLetterQueueUrl"
)

// Location is one published dataset: the stack output <Name> (which ends in
// LocationSuffix) is s3://Bucket/Prefix.
type Location struct {
	Name   string
	Bucket string
	Prefix string
}

// URI is the location as s3://bucket/prefix/.
func (l Location) URI() string { return "s3://" + l.Bucket + "/" + l.Prefix }

// Grant is an IAM statement for the function in Role.
type Grant struct {
	Role      Role
	Sid       string
	Actions   []string
	Resources []Resource
	// WildcardReason says why a resource or action has a "*".
	WildcardReason string
	// Condition narrows the statement: operator -> key -> values.
	Condition map[string]map[string][]string
}

// List lets role list bucket, but only under prefixes: an s3:prefix
// condition, so a ListBucket grant shows no more of a bucket than the
// role's object grants reach. Each prefix is a folder ending in "/"; it
// matches itself and anything below it, but not the folder's name without
// the "/", which would also list its siblings (ballots-with-wkt would list
// ballots-with-wkt-development/). A request without a prefix is refused.
func List(role Role, sid, bucket string, prefixes ...string) Grant {
	like := make([]string, len(prefixes))
	for i, p := range prefixes {
		like[i] = strings.TrimSuffix(p, "/") + "/*"
	}
	return Grant{
		Role: role, Sid: sid, Actions: []string{"s3:ListBucket"}, Resources: []Resource{Bucket(bucket)},
		Condition: map[string]map[string][]string{"StringLike": {"s3:prefix": like}},
	}
}

// BucketLocation lets role find the buckets' regions, as Athena does before
// it reads or writes them; s3:GetBucketLocation has no s3:prefix, so it
// cannot share List's statement.
func BucketLocation(role Role, sid string, buckets ...string) Grant {
	res := make([]Resource, len(buckets))
	for i, b := range buckets {
		res[i] = Bucket(b)
	}
	return Grant{Role: role, Sid: sid, Actions: []string{"s3:GetBucketLocation"}, Resources: res}
}

// Resource is what an IAM statement names. Glue, SSM and state machine
// ARNs need the stack's account and region, so they are named here and
// turned into ARNs by the component.
type Resource struct {
	Kind ResourceKind
	Name string // table, parameter or state machine name; the full ARN for S3
}

// ResourceKind says how a Resource becomes an ARN.
type ResourceKind int

// The kinds of Resource.
const (
	S3 ResourceKind = iota + 1
	GlueCatalog
	GlueDatabase
	GlueTable
	SSMParameter
	StateMachine
	Workgroup
	// RawHistory is objects of the stack's raw-history bucket, which the
	// stack creates, so its name is known only at deploy time.
	RawHistory
)

// The Resource constructors.
var (
	Catalog  = Resource{Kind: GlueCatalog}
	Database = Resource{Kind: GlueDatabase}
)

// Table is a Glue table of the stack's database.
func Table(name string) Resource { return Resource{Kind: GlueTable, Name: name} }

// Bucket is an S3 bucket.
func Bucket(bucket string) Resource { return Resource{Kind: S3, Name: "arn:aws:s3:::" + bucket} }

// Objects are the objects under prefix in bucket.
func Objects(bucket, prefix string) Resource {
	return Resource{Kind: S3, Name: "arn:aws:s3:::" + bucket + "/" + prefix + "*"}
}

// Object is one object.
func Object(bucket, key string) Resource {
	return Resource{Kind: S3, Name: "arn:aws:s3:::" + bucket + "/" + key}
}

// HistoryObjects are the objects under prefix in the raw-history bucket.
func HistoryObjects(prefix string) Resource { return Resource{Kind: RawHistory, Name: prefix + "*"} }

// Parameter is an SSM parameter, by its name (with or without the leading /).
func Parameter(name string) Resource { return Resource{Kind: SSMParameter, Name: name} }

// Machine is a state machine of the stack, by its deployed name.
func Machine(name string) Resource { return Resource{Kind: StateMachine, Name: name} }

// GlueRead is what Athena needs to read a table; GlueRepair what MSCK
// REPAIR TABLE adds to register a table's partitions.
var (
	GlueRead   = []string{"glue:GetTable", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"}
	GlueRepair = []string{"glue:BatchCreatePartition", "glue:CreatePartition"}
)

// SwitchGrant lets get_glue_table_location point a run-scoped table and
// its staging twin, and no other table, at a run's prefix: the switch reads
// the table and writes it back. Glue also checks the catalog and database.
func SwitchGrant(sid string, t tables.Table) Grant {
	return Grant{
		Role: TableLocation, Sid: sid, Actions: []string{"glue:GetTable", "glue:UpdateTable"},
		Resources: []Resource{Catalog, Database, Table(t.Name), Table(t.Staging().Name)},
	}
}

// ObjectsUnderPrefix is why an S3 object ARN ends in "*": IAM scopes object
// permissions to a prefix only with a trailing wildcard.
const ObjectsUnderPrefix = "S3 object ARNs name a prefix only with a trailing *"

// Check reports a Spec that cannot be deployed: a missing name or flow, a
// run-scoped table without its staging twin, a role called but neither
// shared nor owned, or a grant for a role the layer does not call.
func (s Spec) Check() error {
	if s.Name == "" || s.Type == "" || s.Output == "" || s.StateMachine == "" || s.Flow == nil {
		return fmt.Errorf("layer %q: Name, Type, Output, StateMachine and Flow are required", s.Name)
	}
	for _, l := range s.Locations {
		if !strings.HasSuffix(l.Name, LocationSuffix) {
			return fmt.Errorf("layer %s: output %s must end in %s", s.Name, l.Name, LocationSuffix)
		}
	}
	declared := map[string]bool{}
	for _, t := range s.Tables {
		declared[t.Name] = true
	}
	for _, t := range s.Tables {
		if t.RunScoped && t.StagingOf == "" && !declared[t.Staging().Name] {
			return fmt.Errorf("layer %s: run-scoped table %s needs its staging twin %s, which its gates read", s.Name, t.Name, t.Staging().Name)
		}
	}
	known := map[Role]bool{}
	for _, r := range SharedRoles {
		known[r] = true
	}
	for _, f := range s.Functions {
		if known[f.Role] {
			return fmt.Errorf("layer %s: function role %s is declared twice or shadows a shared one", s.Name, f.Role)
		}
		known[f.Role] = true
	}
	calls := map[Role]bool{}
	for _, r := range s.Calls {
		if !known[r] {
			return fmt.Errorf("layer %s: calls %s, which is neither shared nor its own", s.Name, r)
		}
		calls[r] = true
	}
	for _, f := range s.Functions {
		if !calls[f.Role] {
			return fmt.Errorf("layer %s: owns %s but never calls it", s.Name, f.Role)
		}
	}
	for _, g := range s.Grants {
		if !calls[g.Role] {
			return fmt.Errorf("layer %s: grant %s is for %s, which it does not call", s.Name, g.Sid, g.Role)
		}
	}
	return nil
}

// Lambdas returns the ARNs of the roles the layer calls, from arn.
func (s Spec) Lambdas(arn func(Role) string) Lambdas {
	l := Lambdas{}
	for _, r := range s.Calls {
		l[r] = arn(r)
	}
	return l
}
