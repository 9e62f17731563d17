package gofunction_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
	"github.com/DemocracyClub/dc-data-baker/internal/lambdabuild"
)

// recorded is one resource the program registered.
type recorded struct {
	Type, Name, Parent string
	Inputs             resource.PropertyMap
}

// mocks records every resource's inputs, because mocks do not validate
// them: the tests must. It returns an arn and a name for every resource.
type mocks struct {
	mu  sync.Mutex
	res []recorded
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	parent := ""
	if args.RegisterRPC != nil {
		parent = args.RegisterRPC.GetParent()
	}
	m.mu.Lock()
	m.res = append(m.res, recorded{Type: args.TypeToken, Name: args.Name, Parent: parent, Inputs: args.Inputs.Copy()})
	m.mu.Unlock()

	out := args.Inputs.Copy()
	physical := args.Name + "-abc1234"
	if p, ok := args.Inputs["namePrefix"]; ok && p.IsString() {
		physical = p.StringValue() + "abc1234"
	}
	if _, ok := out["name"]; !ok {
		out["name"] = resource.NewStringProperty(physical)
	}
	svc := map[string]string{
		"aws:iam/role:Role":                "arn:aws:iam::123456789012:role/",
		"aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:eu-west-2:123456789012:log-group:",
		"aws:lambda/function:Function":     "arn:aws:lambda:eu-west-2:123456789012:function:",
	}[args.TypeToken]
	out["arn"] = resource.NewStringProperty(svc + physical)
	return physical + "-id", out, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return resource.PropertyMap{}, nil
}

// one returns the only recorded resource of type typ.
func (m *mocks) one(t *testing.T, typ string) recorded {
	t.Helper()
	var found []recorded
	for _, r := range m.res {
		if r.Type == typ {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s, got %d", typ, len(found))
	}
	return found[0]
}

// run deploys one GoFunction with the hello fixture under mocks.
func run(t *testing.T, args gofunction.GoFunctionArgs) (*mocks, error) {
	t.Helper()
	m := &mocks{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := gofunction.NewGoFunction(ctx, "query", &args)
		return err
	}, pulumi.WithMocks("dc-data-baker", "test", m))
	return m, err
}

// helloArgs returns valid args that build testdata/hello.
func helloArgs() gofunction.GoFunctionArgs {
	return gofunction.GoFunctionArgs{
		Source:           "hello",
		FunctionsDir:     "components/gofunction/testdata",
		Description:      "says hello",
		Timeout:          120,
		MemorySize:       512,
		LogRetentionDays: 14,
		Environment:      pulumi.StringMap{"RESULTS_BUCKET": pulumi.String("results")},
		Statements: []gofunction.Statement{
			{
				Sid:       "RunQueries",
				Actions:   []string{"athena:StartQueryExecution", "athena:GetQueryExecution"},
				Resources: pulumi.StringArray{pulumi.String("arn:aws:athena:eu-west-2:123456789012:workgroup/dc")},
			},
			{
				Sid:     "ReadResults",
				Actions: []string{"s3:GetObject"},
				// An output, as real ARNs are.
				Resources: pulumi.StringArray{pulumi.String("results").ToStringOutput().ApplyT(func(b string) string {
					return "arn:aws:s3:::" + b + "/athena/*"
				}).(pulumi.StringOutput)},
				WildcardReason: "query results have generated object names under one prefix",
			},
		},
		Tags: pulumi.StringMap{"project": pulumi.String("dc-data-baker")},
	}
}

func policyOf(t *testing.T, m *mocks) gofunction.PolicyDocument {
	t.Helper()
	p := m.one(t, "aws:iam/rolePolicy:RolePolicy").Inputs["policy"]
	if !p.IsString() {
		t.Fatalf("role policy is %v, want a JSON string", p)
	}
	doc, err := gofunction.Parse(p.StringValue())
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestRolePolicyAllowsExactlyTheListedStatementsPlusOwnLogs(t *testing.T) {
	m, err := run(t, helloArgs())
	if err != nil {
		t.Fatal(err)
	}
	logGroupArn := "arn:aws:logs:eu-west-2:123456789012:log-group:/aws/lambda/query-abc1234"
	want := gofunction.PolicyDocument{
		Version: "2012-10-17",
		Statement: []gofunction.PolicyStatement{
			{
				Sid: "RunQueries", Effect: "Allow",
				Action:   gofunction.StringList{"athena:StartQueryExecution", "athena:GetQueryExecution"},
				Resource: gofunction.StringList{"arn:aws:athena:eu-west-2:123456789012:workgroup/dc"},
			},
			{
				Sid: "ReadResults", Effect: "Allow",
				Action:   gofunction.StringList{"s3:GetObject"},
				Resource: gofunction.StringList{"arn:aws:s3:::results/athena/*"},
			},
			{
				Sid: "WriteOwnLogs", Effect: "Allow",
				Action:   gofunction.StringList{"logs:CreateLogStream", "logs:PutLogEvents"},
				Resource: gofunction.StringList{logGroupArn + ":*"},
			},
		},
	}
	if diff := cmp.Diff(want, policyOf(t, m)); diff != "" {
		t.Errorf("role policy (-want +got):\n%s", diff)
	}

	// The policy is attached to the function's own role, which only Lambda
	// may assume, and no managed policy (such as AWSLambdaBasicExecutionRole,
	// which allows logs on *) is attached.
	role := m.one(t, "aws:iam/role:Role")
	if got := m.one(t, "aws:iam/rolePolicy:RolePolicy").Inputs["role"]; !got.IsString() || got.StringValue() != "query-role-abc1234-id" {
		t.Errorf("role policy attached to %v, want query-role-abc1234-id", got)
	}
	trust, err := gofunction.Parse(role.Inputs["assumeRolePolicy"].StringValue())
	if err != nil {
		t.Fatal(err)
	}
	wantTrust := []gofunction.PolicyStatement{{
		Effect:    "Allow",
		Principal: &gofunction.Principal{Service: gofunction.StringList{"lambda.amazonaws.com"}},
		Action:    gofunction.StringList{"sts:AssumeRole"},
	}}
	if diff := cmp.Diff(wantTrust, trust.Statement); diff != "" {
		t.Errorf("assume-role policy (-want +got):\n%s", diff)
	}
	for _, k := range []resource.PropertyKey{"managedPolicyArns", "inlinePolicies"} {
		if v, ok := role.Inputs[k]; ok && !v.IsNull() {
			t.Errorf("role has %s = %v; permissions must come only from the role policy", k, v)
		}
	}
	if n := len(typesOf(m, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")); n != 0 {
		t.Errorf("%d managed policy attachments, want none", n)
	}
	if d := role.Inputs["description"].StringValue(); !strings.Contains(d, "ReadResults: query results have generated object names") {
		t.Errorf("role description %q does not record the wildcard reason", d)
	}
}

func typesOf(m *mocks, typ string) []recorded {
	var out []recorded
	for _, r := range m.res {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

func TestLogGroupAndFunctionSettings(t *testing.T) {
	m, err := run(t, helloArgs())
	if err != nil {
		t.Fatal(err)
	}
	lg := m.one(t, "aws:cloudwatch/logGroup:LogGroup")
	if got := lg.Inputs["retentionInDays"]; !got.IsNumber() || got.NumberValue() != 14 {
		t.Errorf("log group retentionInDays = %v, want 14", got)
	}

	fn := m.one(t, "aws:lambda/function:Function")
	in := fn.Inputs
	str := func(k resource.PropertyKey) string {
		if v := in[k]; v.IsString() {
			return v.StringValue()
		}
		return "<not a string: " + in[k].String() + ">"
	}
	num := func(k resource.PropertyKey) float64 {
		if v := in[k]; v.IsNumber() {
			return v.NumberValue()
		}
		return -1
	}
	type settings struct {
		Runtime, Handler, Description, Role string
		Architectures                       []string
		Timeout, MemorySize                 float64
		LogFormat, LogGroup                 string
		Env                                 map[string]string
	}
	got := settings{
		Runtime: str("runtime"), Handler: str("handler"), Description: str("description"), Role: str("role"),
		Timeout: num("timeout"), MemorySize: num("memorySize"),
	}
	for _, a := range in["architectures"].ArrayValue() {
		got.Architectures = append(got.Architectures, a.StringValue())
	}
	lc := in["loggingConfig"].ObjectValue()
	got.LogFormat, got.LogGroup = lc["logFormat"].StringValue(), lc["logGroup"].StringValue()
	got.Env = map[string]string{}
	for k, v := range in["environment"].ObjectValue()["variables"].ObjectValue() {
		got.Env[string(k)] = v.StringValue()
	}
	want := settings{
		Runtime: "provided.al2023", Handler: "bootstrap", Description: "says hello",
		Role:          "arn:aws:iam::123456789012:role/query-role-abc1234",
		Architectures: []string{"arm64"},
		Timeout:       120, MemorySize: 512,
		LogFormat: "JSON",
		// The function logs to the component's log group, not a default one.
		LogGroup: "/aws/lambda/query-abc1234",
		Env:      map[string]string{"RESULTS_BUCKET": "results"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("function settings (-want +got):\n%s", diff)
	}
	if lgName := lg.Inputs["namePrefix"].StringValue() + "abc1234"; lgName != want.LogGroup {
		t.Errorf("log group is named %s, function logs to %s", lgName, want.LogGroup)
	}

	// The code is the built zip and SourceCodeHash is that zip's hash.
	code := in["code"]
	if !code.IsArchive() {
		t.Fatalf("code = %v, want an archive", code)
	}
	zipPath := code.ArchiveValue().Path
	if !filepath.IsAbs(zipPath) {
		wd, _ := os.Getwd()
		zipPath = filepath.Join(wd, zipPath)
	}
	b, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatalf("read deployed archive: %v", err)
	}
	if h := lambdabuild.Hash(b); str("sourceCodeHash") != h {
		t.Errorf("sourceCodeHash = %s, want the zip's hash %s", str("sourceCodeHash"), h)
	}
	if !strings.Contains(filepath.ToSlash(zipPath), "/.build/lambda/components/gofunction/testdata/hello/") {
		t.Errorf("archive %s is not in the gitignored .build cache", zipPath)
	}

	// Every child is parented to the component, and tagged.
	for _, r := range m.res {
		if r.Type == gofunction.TypeToken {
			continue
		}
		if !strings.HasSuffix(r.Parent, "::query") || !strings.Contains(r.Parent, gofunction.TypeToken) {
			t.Errorf("%s %s has parent %q, want the GoFunction component", r.Type, r.Name, r.Parent)
		}
		if !strings.HasPrefix(r.Name, "query-") {
			t.Errorf("child %s is not named after the component", r.Name)
		}
		if r.Type != "aws:iam/rolePolicy:RolePolicy" {
			if tag := r.Inputs["tags"].ObjectValue()["project"]; !tag.IsString() || tag.StringValue() != "dc-data-baker" {
				t.Errorf("%s %s tags = %v, want project=dc-data-baker", r.Type, r.Name, r.Inputs["tags"])
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	args := helloArgs()
	args.Timeout, args.MemorySize, args.LogRetentionDays = 0, 0, 0
	args.Environment = nil
	m, err := run(t, args)
	if err != nil {
		t.Fatal(err)
	}
	fn := m.one(t, "aws:lambda/function:Function").Inputs
	if fn["timeout"].NumberValue() != gofunction.DefaultTimeout || fn["memorySize"].NumberValue() != gofunction.DefaultMemorySize {
		t.Errorf("timeout/memory = %v/%v, want defaults %d/%d", fn["timeout"], fn["memorySize"], gofunction.DefaultTimeout, gofunction.DefaultMemorySize)
	}
	if v, ok := fn["environment"]; ok && !v.IsNull() {
		t.Errorf("environment = %v, want none", v)
	}
	lg := m.one(t, "aws:cloudwatch/logGroup:LogGroup").Inputs
	if lg["retentionInDays"].NumberValue() != gofunction.DefaultLogRetentionDays {
		t.Errorf("retention = %v, want %d", lg["retentionInDays"], gofunction.DefaultLogRetentionDays)
	}
}

func TestInvalidArgsAreRefused(t *testing.T) {
	star := func(s gofunction.Statement) func(*gofunction.GoFunctionArgs) {
		return func(a *gofunction.GoFunctionArgs) { a.Statements = []gofunction.Statement{s} }
	}
	tests := []struct {
		name   string
		modify func(*gofunction.GoFunctionArgs)
		want   string
	}{
		{"resource * without reason", star(gofunction.Statement{
			Sid: "All", Actions: []string{"s3:GetObject"}, Resources: pulumi.ToStringArray([]string{"*"}),
		}), `resource "*" contains * but WildcardReason is empty`},
		{"action * without reason", star(gofunction.Statement{
			Sid: "All", Actions: []string{"s3:*"}, Resources: pulumi.ToStringArray([]string{"arn:aws:s3:::b"}),
		}), `action "s3:*" contains * but WildcardReason is empty`},
		{"resource * known only at deploy time", star(gofunction.Statement{
			Sid: "Late", Actions: []string{"s3:GetObject"},
			Resources: pulumi.StringArray{pulumi.String("b").ToStringOutput().ApplyT(func(string) string { return "arn:aws:s3:::b/*" }).(pulumi.StringOutput)},
		}), `resource "arn:aws:s3:::b/*" contains * but WildcardReason is empty`},
		{"no actions", star(gofunction.Statement{Sid: "None", Resources: pulumi.ToStringArray([]string{"arn:aws:s3:::b"})}), "no actions"},
		{"no resources", star(gofunction.Statement{Sid: "None", Actions: []string{"s3:GetObject"}}), "no resources"},
		{"bad action", star(gofunction.Statement{Actions: []string{"GetObject"}, Resources: pulumi.ToStringArray([]string{"arn:aws:s3:::b"})}), "not of the form service:Action"},
		{"bad sid", star(gofunction.Statement{Sid: "read-results", Actions: []string{"s3:GetObject"}, Resources: pulumi.ToStringArray([]string{"arn:aws:s3:::b"})}), "Sid must be ASCII letters and digits"},
		{"reserved sid", star(gofunction.Statement{Sid: "WriteOwnLogs", Actions: []string{"s3:GetObject"}, Resources: pulumi.ToStringArray([]string{"arn:aws:s3:::b"})}), "reserved"},
		{"source with a path", func(a *gofunction.GoFunctionArgs) { a.Source = "../hello" }, `source "../hello" must be a directory name`},
		{"missing source", func(a *gofunction.GoFunctionArgs) { a.Source = "nope" }, "no .go files"},
		{"timeout", func(a *gofunction.GoFunctionArgs) { a.Timeout = 901 }, "timeout 901"},
		{"memory", func(a *gofunction.GoFunctionArgs) { a.MemorySize = 64 }, "memory size 64"},
		{"retention", func(a *gofunction.GoFunctionArgs) { a.LogRetentionDays = 10 }, "log retention 10 days"},
		{"reserved env", func(a *gofunction.GoFunctionArgs) { a.Environment = pulumi.StringMap{"AWS_REGION": pulumi.String("x")} }, `"AWS_REGION" is reserved`},
		{"bad env key", func(a *gofunction.GoFunctionArgs) { a.Environment = pulumi.StringMap{"1X": pulumi.String("x")} }, `environment key "1X"`},
		{"ephemeral storage", func(a *gofunction.GoFunctionArgs) { a.EphemeralStorage = 256 }, "ephemeral storage 256 MB"},
		{"VPC without security groups", func(a *gofunction.GoFunctionArgs) { a.VPC = &gofunction.VPC{SubnetIDs: []string{"subnet-0a1b2c3d"}} }, "at least one subnet and one security group, got 1 and 0"},
		{"condition without values", star(gofunction.Statement{
			Sid: "List", Actions: []string{"s3:ListBucket"}, Resources: pulumi.ToStringArray([]string{"arn:aws:s3:::b"}),
			Condition: map[string]map[string][]string{"StringLike": {"s3:prefix": nil}},
		}), "condition StringLike s3:prefix has no values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := helloArgs()
			tt.modify(&args)
			_, err := run(t, args)
			if err == nil {
				t.Fatal("NewGoFunction succeeded, want error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestWildcardWithReasonIsAllowed(t *testing.T) {
	args := helloArgs()
	args.Statements = []gofunction.Statement{{
		Sid:            "Trace",
		Actions:        []string{"xray:PutTraceSegments"},
		Resources:      pulumi.ToStringArray([]string{"*"}),
		WildcardReason: "X-Ray has no resource-level permissions",
	}}
	m, err := run(t, args)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := policyOf(t, m).StatementBySid("Trace")
	if !ok {
		t.Fatal("no Trace statement")
	}
	if diff := cmp.Diff([]string{"*"}, s.Wildcards()); diff != "" {
		t.Errorf("Wildcards (-want +got):\n%s", diff)
	}
}

func TestTwoInstancesDoNotClash(t *testing.T) {
	m := &mocks{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		for _, n := range []string{"a", "b"} {
			args := helloArgs()
			if _, err := gofunction.NewGoFunction(ctx, n, &args); err != nil {
				return err
			}
		}
		return nil
	}, pulumi.WithMocks("dc-data-baker", "test", m))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(typesOf(m, "aws:lambda/function:Function")); n != 2 {
		t.Errorf("%d functions, want 2", n)
	}
}

func TestParseAcceptsSingleStrings(t *testing.T) {
	doc, err := gofunction.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []gofunction.PolicyStatement{{Effect: "Allow", Action: gofunction.StringList{"s3:GetObject"}, Resource: gofunction.StringList{"arn:aws:s3:::b/*"}}}
	if diff := cmp.Diff(want, doc.Statement); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := gofunction.Parse(`{"Statement":[{"Action":1}]}`); err == nil {
		t.Error("Parse accepted a numeric Action")
	}
}

func TestSourceCodeHashIsReproducible(t *testing.T) {
	m, err := run(t, helloArgs())
	if err != nil {
		t.Fatal(err)
	}
	deployed := m.one(t, "aws:lambda/function:Function").Inputs["sourceCodeHash"].StringValue()

	// Rebuilding the fixture from scratch into fresh directories gives the
	// hash the component deployed, so an unchanged function is not updated.
	root, err := lambdabuild.FindModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		art, err := lambdabuild.Build(t.Context(), root, "components/gofunction/testdata/hello", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if art.SourceCodeHash != deployed {
			t.Errorf("rebuild %d: hash %s, deployed %s", i, art.SourceCodeHash, deployed)
		}
	}
}

func TestGrantAddsAPolicyToTheFunctionsRole(t *testing.T) {
	m := &mocks{}
	var grantErrs []string
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		args := helloArgs()
		f, err := gofunction.NewGoFunction(ctx, "query", &args)
		if err != nil {
			return err
		}
		_, err = f.Grant(ctx, "layer-query-grant", []gofunction.Statement{{
			Sid:       "ReadLayerTable",
			Actions:   []string{"glue:GetTable"},
			Resources: pulumi.ToStringArray([]string{"arn:aws:glue:eu-west-2:123456789012:table/dc_data_baker/t"}),
		}})
		if err != nil {
			return err
		}
		for _, bad := range [][]gofunction.Statement{
			nil,
			{{Sid: "All", Actions: []string{"glue:GetTable"}, Resources: pulumi.ToStringArray([]string{"*"})}},
		} {
			if _, err := f.Grant(ctx, "bad-grant", bad); err != nil {
				grantErrs = append(grantErrs, err.Error())
			}
		}
		return nil
	}, pulumi.WithMocks("dc-data-baker", "test", m))
	if err != nil {
		t.Fatal(err)
	}
	wantErrs := []string{
		"grant bad-grant: no statements",
		`grant bad-grant: statement 0 (Sid "All"): resource "*" contains * but WildcardReason is empty`,
	}
	if diff := cmp.Diff(wantErrs, grantErrs); diff != "" {
		t.Errorf("refused grants (-want +got):\n%s", diff)
	}

	var grant *recorded
	for _, r := range typesOf(m, "aws:iam/rolePolicy:RolePolicy") {
		if r.Name == "layer-query-grant" {
			grant = &r
		}
	}
	if grant == nil {
		t.Fatal("no layer-query-grant role policy")
	}
	if got := grant.Inputs["role"].StringValue(); got != "query-role-abc1234-id" {
		t.Errorf("grant attached to %s, want the function's role", got)
	}
	doc, err := gofunction.Parse(grant.Inputs["policy"].StringValue())
	if err != nil {
		t.Fatal(err)
	}
	want := []gofunction.PolicyStatement{{
		Sid: "ReadLayerTable", Effect: "Allow",
		Action:   gofunction.StringList{"glue:GetTable"},
		Resource: gofunction.StringList{"arn:aws:glue:eu-west-2:123456789012:table/dc_data_baker/t"},
	}}
	if diff := cmp.Diff(want, doc.Statement); diff != "" {
		t.Errorf("grant policy (-want +got):\n%s", diff)
	}
}

// A function in a VPC is attached to the given subnets and security
// groups, may manage its network interfaces (the only "*" resource, with
// its reason), and gets the /tmp size asked for; a statement's condition
// reaches the policy as given.
func TestVPCEphemeralStorageAndConditions(t *testing.T) {
	args := helloArgs()
	args.VPC = &gofunction.VPC{SubnetIDs: []string{"subnet-0a1b2c3d", "subnet-0e1f2a3b"}, SecurityGroupIDs: []string{"sg-0123abcd"}}
	args.EphemeralStorage = 2048
	cond := map[string]map[string][]string{"StringLike": {"s3:prefix": {"results/*"}}}
	args.Statements = append(args.Statements, gofunction.Statement{
		Sid: "ListResults", Actions: []string{"s3:ListBucket"}, Resources: pulumi.ToStringArray([]string{"arn:aws:s3:::results"}), Condition: cond,
	})
	m, err := run(t, args)
	if err != nil {
		t.Fatal(err)
	}
	in := m.one(t, "aws:lambda/function:Function").Inputs
	vpc := in["vpcConfig"].ObjectValue()
	var subnets, groups []string
	for _, v := range vpc["subnetIds"].ArrayValue() {
		subnets = append(subnets, v.StringValue())
	}
	for _, v := range vpc["securityGroupIds"].ArrayValue() {
		groups = append(groups, v.StringValue())
	}
	if diff := cmp.Diff([][]string{args.VPC.SubnetIDs, args.VPC.SecurityGroupIDs}, [][]string{subnets, groups}); diff != "" {
		t.Errorf("vpcConfig subnets, security groups (-want +got):\n%s", diff)
	}
	if size := in["ephemeralStorage"].ObjectValue()["size"]; !size.IsNumber() || size.NumberValue() != 2048 {
		t.Errorf("ephemeralStorage.size = %v, want 2048", size)
	}
	doc := policyOf(t, m)
	s, ok := doc.StatementBySid("AttachToVpc")
	if !ok || !slices.Contains(s.Action, "ec2:CreateNetworkInterface") || !slices.Contains(s.Action, "ec2:DeleteNetworkInterface") {
		t.Fatalf("no AttachToVpc statement with the network interface actions: %+v", doc)
	}
	for _, st := range doc.Statement {
		if st.Sid != "AttachToVpc" && slices.Contains(st.Resource, "*") {
			t.Errorf("statement %s allows resource *", st.Sid)
		}
	}
	if list, _ := doc.StatementBySid("ListResults"); !cmp.Equal(list.Condition["StringLike"]["s3:prefix"], gofunction.StringList{"results/*"}) {
		t.Errorf("ListResults condition = %v, want %v", list.Condition, cond)
	}
	// Without a VPC, no network permissions and no vpcConfig.
	m, err = run(t, helloArgs())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := policyOf(t, m).StatementBySid("AttachToVpc"); ok {
		t.Error("a function outside a VPC may manage network interfaces")
	}
	if v, ok := m.one(t, "aws:lambda/function:Function").Inputs["vpcConfig"]; ok && !v.IsNull() {
		t.Errorf("vpcConfig = %v without a VPC", v)
	}
}
