package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/DemocracyClub/dc-data-baker/components/catalog"
	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/tools/nodetool"
)

const project = "dc-data-baker"

// res is one resource the program registered, with its inputs.
type res struct {
	Type, Name, ID string
	// ParentType and ParentName identify the parent component, if any.
	ParentType, ParentName string
	Inputs                 map[string]any
	// State is what the mock answered: the inputs plus ARNs and names.
	State    map[string]any
	Taggable bool
	// DeleteBeforeReplace is the resource option of that name.
	DeleteBeforeReplace bool
}

// mocks records every resource and answers the lookups the program makes.
type mocks struct {
	mu        sync.Mutex
	resources []*res
	calls     []string
	taggable  map[string]bool
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	in := args.Inputs.Mappable()
	id := args.Name + "-id"
	state := map[string]any{}
	for k, v := range in {
		state[k] = v
	}
	switch args.TypeToken {
	case "aws:s3/bucketV2:BucketV2":
		state["bucket"] = args.Name + "-bucket"
		id = args.Name + "-bucket"
		state["arn"] = "arn:aws:s3:::" + args.Name + "-bucket"
	case "aws:cloudwatch/logGroup:LogGroup":
		state["name"] = "/aws/lambda/" + args.Name
		state["arn"] = "arn:aws:logs:eu-west-2:123456789012:log-group:/aws/lambda/" + args.Name
	case "aws:lambda/function:Function":
		state["arn"] = "arn:aws:lambda:eu-west-2:123456789012:function:" + args.Name
	case "aws:sfn/stateMachine:StateMachine":
		state["arn"] = "arn:aws:states:eu-west-2:123456789012:stateMachine:" + args.Name
	case "aws:cloudwatch/eventRule:EventRule":
		state["name"] = args.Name + "-rule"
		state["arn"] = "arn:aws:events:eu-west-2:123456789012:rule/" + args.Name + "-rule"
	case "aws:sqs/queue:Queue":
		state["name"] = args.Name + ".fifo"
		state["url"] = "https://sqs.eu-west-2.amazonaws.com/123456789012/" + args.Name + ".fifo"
		state["arn"] = "arn:aws:sqs:eu-west-2:123456789012:" + args.Name + ".fifo"
	default:
		if _, ok := state["arn"]; !ok {
			svc := strings.SplitN(args.TypeToken, ":", 3)[1]
			svc = strings.SplitN(svc, "/", 2)[0]
			state["arn"] = fmt.Sprintf("arn:aws:%s:eu-west-2:123456789012:%s", svc, args.Name)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &res{Type: args.TypeToken, Name: args.Name, ID: id, Inputs: in, State: state, Taggable: m.taggable[args.TypeToken+"::"+args.Name]}
	if args.RegisterRPC != nil {
		r.ParentType, r.ParentName = splitURN(args.RegisterRPC.GetParent())
		r.DeleteBeforeReplace = args.RegisterRPC.GetDeleteBeforeReplace()
	}
	m.resources = append(m.resources, r)
	return id, resource.NewPropertyMapFromMap(state), nil
}

// splitURN returns the type and name at the end of a resource URN.
func splitURN(urn string) (typ, name string) {
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return "", ""
	}
	types := strings.Split(parts[2], "$")
	return types[len(types)-1], parts[3]
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.calls = append(m.calls, args.Token)
	m.mu.Unlock()
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/test", "userId": "test", "id": "123456789012"}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{"name": "eu-west-2", "id": "eu-west-2"}), nil
	case "aws:s3/getBucket:getBucket":
		b := args.Args["bucket"].StringValue()
		return resource.NewPropertyMapFromMap(map[string]any{"bucket": b, "arn": "arn:aws:s3:::" + b, "id": b}), nil
	}
	return resource.PropertyMap{}, nil
}

func (m *mocks) byType(typ string) []*res {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*res
	for _, r := range m.resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// stackConfig merges Pulumi.yaml's defaults with Pulumi.<env>.yaml, as the
// Pulumi CLI does, into the PULUMI_CONFIG form that the SDK reads.
func stackConfig(t *testing.T, env string) map[string]string {
	t.Helper()
	var proj struct {
		Config map[string]struct {
			Default any `yaml:"default"`
		} `yaml:"config"`
	}
	readYAML(t, "Pulumi.yaml", &proj)
	out := map[string]string{}
	for k, v := range proj.Config {
		if v.Default != nil {
			out[project+":"+k] = scalar(t, v.Default)
		}
	}
	var stack struct {
		Config map[string]any `yaml:"config"`
	}
	readYAML(t, "Pulumi."+env+".yaml", &stack)
	for k, v := range stack.Config {
		out[k] = scalar(t, v)
	}
	return out
}

func scalar(t *testing.T, v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int, bool, float64:
		return fmt.Sprint(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// run runs program under mocks with the given config.
func run(t *testing.T, cfg map[string]string) (*mocks, error) {
	t.Helper()
	b, _ := json.Marshal(cfg)
	t.Setenv("PULUMI_CONFIG", string(b))
	m := &mocks{taggable: map[string]bool{}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		// Registered first, so it sees each resource's arguments before
		// the program's own tagging does: it records which take tags.
		if err := ctx.RegisterStackTransformation(func(a *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
			if _, ok := tagsField(a.Props); ok {
				m.mu.Lock()
				m.taggable[a.Type+"::"+a.Name] = true
				m.mu.Unlock()
			}
			return nil
		}); err != nil {
			return err
		}
		return program(ctx)
	}, pulumi.WithMocks(project, "test", m))
	return m, err
}

// each runs the program for every committed stack.
func each(t *testing.T, f func(t *testing.T, env string, m *mocks)) {
	for _, env := range []string{"development", "production"} {
		t.Run(env, func(t *testing.T) {
			m, err := run(t, stackConfig(t, env))
			if err != nil {
				t.Fatalf("program: %v", err)
			}
			f(t, env, m)
		})
	}
}

// get walks nested maps and lists: get(x, "a", "0", "b").
func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func TestEveryTaggableResourceIsTagged(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		n := 0
		for _, r := range m.resources {
			if !r.Taggable {
				continue
			}
			n++
			want := map[string]any{"dc-product": "dc-data-baker", "dc-environment": env}
			got, _ := r.Inputs["tags"].(map[string]any)
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s %s: tag %s = %v, want %v", r.Type, r.Name, k, got[k], v)
				}
			}
		}
		if n < 4 {
			t.Fatalf("only %d taggable resources seen; the recorder is not working", n)
		}
	})
}

func TestBucketsArePrivateEncryptedAndTLSOnly(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		buckets := m.byType("aws:s3/bucketV2:BucketV2")
		if len(buckets) == 0 {
			t.Fatal("no buckets")
		}
		for _, b := range buckets {
			forBucket := func(typ string) *res {
				for _, r := range m.byType(typ) {
					if r.Inputs["bucket"] == b.ID {
						return r
					}
				}
				t.Errorf("bucket %s has no %s", b.Name, typ)
				return &res{Inputs: map[string]any{}}
			}
			pab := forBucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
			for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
				if pab.Inputs[k] != true {
					t.Errorf("bucket %s: public access block %s = %v", b.Name, k, pab.Inputs[k])
				}
			}
			sse := forBucket("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
			if alg := get(sse.Inputs, "rules", "0", "applyServerSideEncryptionByDefault", "sseAlgorithm"); alg != "AES256" && alg != "aws:kms" {
				t.Errorf("bucket %s: encryption = %v", b.Name, alg)
			}
			ver := forBucket("aws:s3/bucketVersioningV2:BucketVersioningV2")
			if s := get(ver.Inputs, "versioningConfiguration", "status"); s != "Enabled" {
				t.Errorf("bucket %s: versioning = %v", b.Name, s)
			}
			own := forBucket("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
			if o := get(own.Inputs, "rule", "objectOwnership"); o != "BucketOwnerEnforced" {
				t.Errorf("bucket %s: object ownership = %v (ACLs must be off)", b.Name, o)
			}
			pol := forBucket("aws:s3/bucketPolicy:BucketPolicy")
			var doc struct {
				Statement []struct {
					Effect    string
					Principal any
					Resource  []string
					Condition map[string]map[string]string
				}
			}
			if err := json.Unmarshal([]byte(fmt.Sprint(pol.Inputs["policy"])), &doc); err != nil {
				t.Fatalf("bucket %s policy: %v", b.Name, err)
			}
			arn := "arn:aws:s3:::" + b.ID
			tlsOnly := false
			for _, s := range doc.Statement {
				if s.Effect == "Deny" && s.Condition["Bool"]["aws:SecureTransport"] == "false" &&
					cmp.Equal(s.Resource, []string{arn, arn + "/*"}) {
					tlsOnly = true
				}
			}
			if !tlsOnly {
				t.Errorf("bucket %s: policy does not deny non-TLS requests on the bucket and its objects: %v", b.Name, pol.Inputs["policy"])
			}
		}
	})
}

func TestResultsExpire(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		lc := lifecycles(t, m)
		if d := get(lc["core-results"].Inputs, "rules", "0", "expiration", "days"); d != 7.0 {
			t.Errorf("results expire after %v days, want Pulumi.yaml's default 7", d)
		}
		// Scratch data: the bucket must not block `pulumi destroy`.
		if b := bucketNamed(t, m, "core-results"); b.Inputs["forceDestroy"] != true {
			t.Errorf("results bucket forceDestroy = %v, want true", b.Inputs["forceDestroy"])
		}
	})
}

func TestExternalBucketsAreLookedUpNotCreated(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		lookups := 0
		for _, c := range m.calls {
			if c == "aws:s3/getBucket:getBucket" {
				lookups++
			}
		}
		if lookups != 2 {
			t.Errorf("bucket lookups = %d, want 2 (AddressBase and EE)", lookups)
		}
		for _, b := range m.byType("aws:s3/bucketV2:BucketV2") {
			if b.Inputs["bucket"] == "pollingstations.private.data" || b.Inputs["bucket"] == "ee.data-cache.production" {
				t.Errorf("program creates external bucket %v", b.Inputs["bucket"])
			}
		}
	})
}

func TestWorkgroupEnforcesItsConfiguration(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		wgs := m.byType("aws:athena/workgroup:Workgroup")
		if len(wgs) != 1 {
			t.Fatalf("workgroups = %d, want 1", len(wgs))
		}
		wg := wgs[0].Inputs
		if want := layer.NamesFor(env).Workgroup; wg["name"] != want {
			t.Errorf("workgroup name = %v, want %s", wg["name"], want)
		}
		if !wgs[0].DeleteBeforeReplace {
			t.Error("the workgroup's name is fixed, so a replacement must delete it first")
		}
		c := wg["configuration"]
		if get(c, "enforceWorkgroupConfiguration") != true {
			t.Error("workgroup configuration is not enforced")
		}
		if got := get(c, "bytesScannedCutoffPerQuery"); got != 107374182400.0 {
			t.Errorf("bytes scanned cutoff = %v, want Pulumi.yaml's default", got)
		}
		results := bucketNamed(t, m, "core-results").ID
		loc, _ := get(c, "resultConfiguration", "outputLocation").(string)
		if !strings.HasPrefix(loc, "s3://"+results+"/") {
			t.Errorf("result location %q is not under the results bucket %s", loc, results)
		}
	})
}

func TestGlueTables(t *testing.T) {
	type col struct{ Name, Type string }
	cols := func(v any) []col {
		var out []col
		for _, c := range v.([]any) {
			out = append(out, col{get(c, "name").(string), get(c, "type").(string)})
		}
		return out
	}
	each(t, func(t *testing.T, env string, m *mocks) {
		got := map[string]map[string]any{}
		for _, r := range m.byType("aws:glue/catalogTable:CatalogTable") {
			got[r.Inputs["name"].(string)] = r.Inputs
		}
		raw := got["addressbase_cleaned_raw"]
		if raw == nil {
			t.Fatal("no addressbase_cleaned_raw table")
		}
		if diff := cmp.Diff([]col{{"uprn", "string"}, {"address", "string"}, {"postcode", "string"}, {"location", "string"}, {"address_type", "string"}},
			cols(get(raw, "storageDescriptor", "columns"))); diff != "" {
			t.Errorf("addressbase_cleaned_raw columns (-want +got):\n%s", diff)
		}
		if s := get(raw, "storageDescriptor", "serDeInfo", "serializationLibrary"); s != "org.apache.hadoop.hive.serde2.OpenCSVSerde" {
			t.Errorf("raw SerDe = %v", s)
		}
		if h := get(raw, "parameters", "skip.header.line.count"); h != nil {
			t.Errorf("raw skips %v header lines, but the AddressBase CSV has no header", h)
		}
		if l := get(raw, "storageDescriptor", "location"); l != "s3://pollingstations.private.data/addressbase/current/addressbase_cleaned/" {
			t.Errorf("raw location = %v", l)
		}

		p := got["addressbase_partitioned"]
		if p == nil {
			t.Fatal("no addressbase_partitioned table")
		}
		if diff := cmp.Diff([]col{{"outcode", "string"}, {"uprn", "string"}, {"address", "string"}, {"postcode", "string"},
			{"longitude", "double"}, {"latitude", "double"}, {"addressbase_source", "string"}},
			cols(get(p, "storageDescriptor", "columns"))); diff != "" {
			t.Errorf("addressbase_partitioned columns (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]col{{"first_letter", "string"}}, cols(p["partitionKeys"])); diff != "" {
			t.Errorf("partition keys (-want +got):\n%s", diff)
		}
		sd := p["storageDescriptor"]
		for k, want := range map[string]string{
			"serDeInfo.serializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
			"inputFormat":                    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
			"outputFormat":                   "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
			"location":                       "s3://pollingstations.private.data/addressbase/" + env + "/addressbase_partitioned/",
		} {
			if v := get(sd, strings.Split(k, ".")...); v != want {
				t.Errorf("addressbase_partitioned %s = %v, want %s", k, v, want)
			}
		}
		// Readers find a run by the location alone: partition projection,
		// no registered partitions and no location template.
		twin := got["addressbase_partitioned_staging"]
		if twin == nil {
			t.Fatal("no addressbase_partitioned_staging twin")
		}
		for name, tb := range map[string]map[string]any{"addressbase_partitioned": p, "addressbase_partitioned_staging": twin} {
			for k, want := range map[string]any{"projection.enabled": "true", "projection.first_letter.type": "enum", "projection.first_letter.values": "A,B,C,D,E,F,G,H,I,J,K,L,M,N,O,P,Q,R,S,T,U,V,W,X,Y,Z", "storage.location.template": nil} {
				if v := get(tb, "parameters", k); v != want {
					t.Errorf("%s parameter %s = %v, want %v", name, k, v, want)
				}
			}
		}
		if diff := cmp.Diff(cols(get(p, "storageDescriptor", "columns")), cols(get(twin, "storageDescriptor", "columns"))); diff != "" {
			t.Errorf("the staging twin's columns differ (-table +twin):\n%s", diff)
		}
	})
}

// Only the function that switches run-scoped tables may update a Glue
// table, and only those tables and their twins.
func TestUpdateTableNamesOnlyTheLayersRunScopedTables(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		db := layer.NamesFor(env).Database
		allowed := map[string]bool{}
		for _, r := range m.byType("aws:glue/catalogTable:CatalogTable") {
			if get(r.Inputs, "parameters", "projection.enabled") == "true" {
				allowed[r.Inputs["name"].(string)] = true
			}
		}
		if len(allowed) == 0 {
			t.Fatal("no run-scoped table")
		}
		found := 0
		switchable := map[string]bool{}
		for name, sts := range statementsAllowing(t, m, "glue:UpdateTable") {
			for _, st := range sts {
				found++
				if !strings.Contains(name, "table-location") {
					t.Errorf("%s %s: glue:UpdateTable outside get_glue_table_location's role", name, st.Sid)
				}
				for _, r := range st.Resource {
					table, isTable := strings.CutPrefix(r[strings.LastIndex(r, ":")+1:], "table/"+db+"/")
					switch {
					case isTable && !allowed[table]:
						t.Errorf("%s %s: may update %s, which is not a run-scoped table", name, st.Sid, r)
					case isTable:
						switchable[table] = true
					case !isTable && strings.Contains(r, ":table/"):
						t.Errorf("%s %s: may update %s, a table of another database", name, st.Sid, r)
					case !isTable && !strings.HasSuffix(r, ":catalog") && !strings.Contains(r, "database"):
						t.Errorf("%s %s: resource %s is neither a table of %s nor its catalog or database", name, st.Sid, r, db)
					}
				}
			}
		}
		if found == 0 {
			t.Error("no statement allows glue:UpdateTable: the switch cannot run")
		}
		// Every run-scoped table and twin can be switched, boundary
		// reviews' included.
		for table := range allowed {
			if !switchable[table] {
				t.Errorf("no statement lets get_glue_table_location update %s", table)
			}
		}
		for _, table := range []string{"boundary_review_address_changes", "current_boundary_reviews_joined_to_address_base_staging"} {
			if !allowed[table] {
				t.Errorf("%s is not a projected, run-scoped table", table)
			}
		}
	})
}

func TestOnlyProductionWritesEEsBallotsCSV(t *testing.T) {
	want := map[string]string{
		"production":  "ballots-with-wkt/current_elections.csv",
		"development": "ballots-with-wkt-development/current_elections.csv",
	}
	each(t, func(t *testing.T, env string, m *mocks) {
		// BoundaryReviews' export writes a file the project owns, in every
		// environment's own folder.
		wantKey := map[string]string{
			"current-elections-export-ballots-fn":         want[env],
			"boundary-reviews-export-boundary-reviews-fn": "boundary-reviews-" + env + "/current_boundary_reviews.csv",
		}
		for _, f := range m.byType("aws:lambda/function:Function") {
			if key := get(f.Inputs, "environment", "variables", "KEY"); key != nil && key != wantKey[f.Name] {
				t.Errorf("%s: export writes %v, want %s", f.Name, key, wantKey[f.Name])
			}
		}
		for _, tbl := range m.byType("aws:glue/catalogTable:CatalogTable") {
			if tbl.Inputs["name"] == "current_ballots" {
				if loc := get(tbl.Inputs, "storageDescriptor", "location"); loc != "s3://ee.data-cache.production/"+strings.TrimSuffix(want[env], "current_elections.csv") {
					t.Errorf("current_ballots location = %v", loc)
				}
				if h := get(tbl.Inputs, "parameters", "skip.header.line.count"); h != "1" {
					t.Errorf("current_ballots skips %v header lines, want 1: EE's CSV has a header", h)
				}
			}
		}
	})
}

func TestNamedQueriesAreRenderedAndHashed(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		qs := m.byType("aws:athena/namedQuery:NamedQuery")
		names := map[string]bool{}
		for _, q := range qs {
			sql := q.Inputs["query"].(string)
			names[q.Inputs["name"].(string)] = true
			if strings.Contains(sql, "{{") || strings.Contains(sql, "<no value>") {
				t.Errorf("%s: deploy-time placeholder left:\n%s", q.Name, sql)
			}
			if q.Inputs["description"] != catalog.Description(sql) {
				t.Errorf("%s: description %v does not carry the SQL's hash", q.Name, q.Inputs["description"])
			}
			if n := layer.NamesFor(env); q.Inputs["workgroup"] != n.Workgroup || q.Inputs["database"] != n.Database {
				t.Errorf("%s: workgroup/database = %v/%v, want %s/%s", q.Name, q.Inputs["workgroup"], q.Inputs["database"], n.Workgroup, n.Database)
			}
			if !strings.Contains(sql, `"`+layer.NamesFor(env).Database+`".`) {
				t.Errorf("%s: the SQL does not name the stack's database:\n%s", q.Name, sql)
			}
			// Create-before-delete would leave two queries with one name.
			if !q.DeleteBeforeReplace {
				t.Errorf("%s: a changed query must be deleted before its replacement is created", q.Name)
			}
		}
		if !names["partition-addressbase-cleaned"] {
			t.Errorf("named queries %v lack partition-addressbase-cleaned", names)
		}
		for _, q := range qs {
			if q.Inputs["name"] == "partition-addressbase-cleaned" &&
				!strings.Contains(q.Inputs["query"].(string), "TO 's3://pollingstations.private.data/addressbase/"+env+"/addressbase_partitioned/runs/{run}/'") {
				t.Errorf("partition query does not write to the %s table location", env)
			}
		}
	})
}

func TestBadConfigFailsClearly(t *testing.T) {
	base := stackConfig(t, "development")
	with := func(k, v string) map[string]string { return withAll(base, k, v) }
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		want string
	}{
		{"unknown environment", with("dc-data-baker:environment", "prod"), `unknown environment "prod": want one of development, staging, production`},
		{"missing environment", with("dc-data-baker:environment", ""), "missing required config dc-data-baker:environment"},
		{"missing bucket", with("dc-data-baker:addressbaseBucket", ""), "missing required config dc-data-baker:addressbaseBucket"},
		{"cutoff too small", with("dc-data-baker:athenaBytesScannedCutoff", "1000"), "below Athena's minimum"},
		{"bad retention", with("dc-data-baker:logRetentionDays", "10"), "not a CloudWatch retention period"},
		{"bad email", with("dc-data-baker:failureEmail", "not-an-email"), "failureEmail"},
		{"secret in place of a parameter name", with("dc-data-baker:eeDbPasswordParam", "Hunter2secret"), "must be an SSM parameter name"},
		{"production without a failure subscriber", withAll(stackConfig(t, "production"), "dc-data-baker:failureEmail", ""), "failureEmail is required in production"},
		{"development inside EE's ballots folder", with("dc-data-baker:ballotsPrefix", "ballots-with-wkt/development/"), `ballotsPrefix "ballots-with-wkt/development/" overlaps ballots-with-wkt/`},
		{"staging in EE's ballots folder", withAll(with("dc-data-baker:environment", "staging"), "dc-data-baker:ballotsPrefix", "ballots-with-wkt/"), "a staging stack needs a folder outside it"},
		{"KMS alias for a key ARN", with("dc-data-baker:externalBucketKmsKeyArns", `["alias/pollingstations"]`), "is not a KMS key ARN"},
		{"KMS keys not a list", with("dc-data-baker:externalBucketKmsKeyArns", `"arn:aws:kms:eu-west-2:111122223333:key/k"`), "want a list of KMS key ARNs"},
		{"VPC subnet not an ID", with("dc-data-baker:eeDatabaseVpc", `{"subnetIds": ["10.0.1.0/24"], "securityGroupIds": ["sg-0123abcd"]}`), `eeDatabaseVpc: subnetIds[0] "10.0.1.0/24" is not a subnet ID`},
		{"VPC without security groups", with("dc-data-baker:eeDatabaseVpc", `{"subnetIds": ["subnet-0123abcd"]}`), "eeDatabaseVpc: securityGroupIds has 0 security groups, want 1 to 5"},
		{"VPC not an object", with("dc-data-baker:eeDatabaseVpc", `"subnet-0123abcd"`), "want {subnetIds: [...], securityGroupIds: [...]}"},
		{"ephemeral storage too small", with("dc-data-baker:exportEphemeralStorageMb", "256"), "exportEphemeralStorageMb 256 must be between 512 and 10240"},
		{"history kept no days", with("dc-data-baker:rawHistoryDays", "0"), "rawHistoryDays 0 must be at least 1"},
		{"ballots look-back negative", with("dc-data-baker:ballotsLookbackDays", "-1"), "ballotsLookbackDays -1 must be between 0 and 3660"},
		{"reviews look-back too long", with("dc-data-baker:boundaryReviewsLookbackDays", "4000"), "boundaryReviewsLookbackDays 4000 must be between 0 and 3660"},
		{"reviews visibility not a boolean", with("dc-data-baker:boundaryReviewsMapOnly", "MAP"), "boundaryReviewsMapOnly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// withAll is cfg with key k set to v, or removed when v is empty.
func withAll(cfg map[string]string, k, v string) map[string]string {
	c := maps.Clone(cfg)
	if v == "" {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

func TestFailureEmailIsSubscribedOnlyWhenSet(t *testing.T) {
	cfg := stackConfig(t, "development")
	m, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.byType("aws:sns/topicSubscription:TopicSubscription")); n != 0 {
		t.Errorf("subscriptions without failureEmail = %d", n)
	}
	cfg["dc-data-baker:failureEmail"] = "ops@example.org"
	if m, err = run(t, cfg); err != nil {
		t.Fatal(err)
	}
	subs := m.byType("aws:sns/topicSubscription:TopicSubscription")
	if len(subs) != 1 || subs[0].Inputs["endpoint"] != "ops@example.org" || subs[0].Inputs["protocol"] != "email" {
		t.Errorf("subscriptions = %+v", subs)
	}
}

func TestTagsKeepAResourcesOwnTags(t *testing.T) {
	tag := tagEverything(map[string]string{"dc-product": "dc-data-baker", "dc-environment": "production"})
	if res := tag(&pulumi.ResourceTransformationArgs{Props: nil}); res != nil {
		t.Fatal("a resource without arguments should be left alone")
	}
	a := &s3.BucketV2Args{Tags: pulumi.StringMap{"Name": pulumi.String("x"), "dc-environment": pulumi.String("wrong")}}
	tag(&pulumi.ResourceTransformationArgs{Props: a})
	got := map[string]string{}
	for k, v := range a.Tags.(pulumi.StringMap) {
		got[k] = string(v.(pulumi.String))
	}
	want := map[string]string{"Name": "x", "dc-product": "dc-data-baker", "dc-environment": "production"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tags = %v, want %v", got, want)
	}
}

// policies returns every IAM policy document the program creates, by resource.
func policies(t *testing.T, m *mocks) map[string]gofunction.PolicyDocument {
	t.Helper()
	out := map[string]gofunction.PolicyDocument{}
	for _, r := range m.byType("aws:iam/rolePolicy:RolePolicy") {
		doc, err := gofunction.Parse(fmt.Sprint(r.Inputs["policy"]))
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		out[r.Name] = doc
	}
	return out
}

// statementsAllowing returns the statements of each role policy whose
// actions include action, by policy.
func statementsAllowing(t *testing.T, m *mocks, action string) map[string][]gofunction.PolicyStatement {
	t.Helper()
	out := map[string][]gofunction.PolicyStatement{}
	for name, doc := range policies(t, m) {
		for _, st := range doc.Statement {
			if slices.Contains(st.Action, action) {
				out[name] = append(out[name], st)
			}
		}
	}
	return out
}

// allowedWildcard is the one shape of "*" IAM needs here: a trailing
// wildcard that scopes S3 objects to a prefix (or a key stem) below a
// folder, or log streams to one log group. Each is declared with a
// WildcardReason.
func allowedWildcard(resource string) bool {
	if strings.Count(resource, "*") != 1 {
		return false
	}
	switch {
	case strings.HasPrefix(resource, "arn:aws:s3:::") && strings.HasSuffix(resource, "*") && strings.Count(resource, "/") >= 2:
		return true
	case strings.HasPrefix(resource, "arn:aws:logs:") && strings.HasSuffix(resource, ":*"):
		return true
	}
	return false
}

func TestNoIAMStatementAllowsWildcards(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		docs := policies(t, m)
		if len(docs) < 10 {
			t.Fatalf("only %d role policies", len(docs))
		}
		for name, doc := range docs {
			for _, s := range doc.Statement {
				if s.Effect != "Allow" {
					continue
				}
				for _, a := range s.Action {
					if strings.Contains(a, "*") {
						t.Errorf("%s %s: action %q has a wildcard", name, s.Sid, a)
					}
				}
				for _, r := range s.Resource {
					if strings.Contains(r, "*") && !allowedWildcard(r) {
						t.Errorf("%s %s: resource %q has a wildcard", name, s.Sid, r)
					}
				}
			}
		}
	})
}

func TestStateMachineRolesInvokeOnlyTheirLayersFunctions(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		docs := policies(t, m)
		want := map[string]int{"addressbase-sm-policy": 4, "current-elections-sm-policy": 8, "boundary-reviews-sm-policy": 7}
		for name, n := range want {
			doc, ok := docs[name]
			if !ok {
				t.Fatalf("no %s", name)
			}
			invoke, _ := doc.StatementBySid("InvokeLayerFunctions")
			if len(invoke.Resource) != n || !cmp.Equal([]string(invoke.Action), []string{"lambda:InvokeFunction"}) {
				t.Errorf("%s invokes %v on %v, want lambda:InvokeFunction on %d functions", name, invoke.Action, invoke.Resource, n)
			}
			notify, _ := doc.StatementBySid("NotifyFailure")
			if len(notify.Resource) != 1 || !strings.Contains(notify.Resource[0], "core-failures") {
				t.Errorf("%s publishes to %v, want the failure topic", name, notify.Resource)
			}
		}
		guard := 0
		// Each layer's guard lists its own machine and, by ARN built from
		// the name, the conflicting layers': AddressBase and each layer
		// that reads addressbase_partitioned, in both directions.
		names := layer.NamesFor(env)
		arn := func(machine string) string {
			return "arn:aws:states:eu-west-2:123456789012:stateMachine:" + names.StateMachine(machine)
		}
		conflicting := map[string][]string{
			"addressbase-guard-grant":       {arn("MakeCurrentElectionsParquet"), arn("MakeBoundaryReviewsParquet")},
			"current-elections-guard-grant": {arn("MakeAddressBasePartitioned")},
			"boundary-reviews-guard-grant":  {arn("MakeAddressBasePartitioned")},
		}
		for name, doc := range docs {
			if s, ok := doc.StatementBySid("ListOwnExecutions"); ok {
				guard++
				if len(s.Resource) != 1 || !strings.Contains(s.Resource[0], "-sm") {
					t.Errorf("%s: guard lists executions of %v, want its own state machine", name, s.Resource)
				}
				c, _ := doc.StatementBySid("ListConflictingExecutions")
				want := conflicting[name]
				if !cmp.Equal([]string(c.Action), []string{"states:ListExecutions"}) || !cmp.Equal([]string(c.Resource), want) {
					t.Errorf("%s: guard lists %v of %v, want states:ListExecutions of exactly %v", name, c.Action, c.Resource, want)
				}
			}
		}
		if guard != len(conflicting) {
			t.Errorf("guard grants = %d, want one per layer", guard)
		}
	})
}

func TestSecretsAreNamesNotValues(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		for _, f := range m.byType("aws:lambda/function:Function") {
			vars, _ := get(f.Inputs, "environment", "variables").(map[string]any)
			for k, v := range vars {
				if strings.Contains(strings.ToUpper(k), "PASSWORD") && !strings.HasSuffix(k, "_PARAM") {
					t.Errorf("%s: environment %s=%v holds a secret value; pass an SSM parameter name", f.Name, k, v)
				}
				if strings.HasSuffix(k, "_PARAM") && !strings.HasPrefix(fmt.Sprint(v), "/dc-data-baker/ee-db/") {
					t.Errorf("%s: environment %s=%v is not the configured SSM parameter name", f.Name, k, v)
				}
			}
		}
	})
}

func TestEveryStateMachineValidates(t *testing.T) {
	nodetool.Require(t)
	m, err := run(t, stackConfig(t, "development"))
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string][]byte{}
	for _, sm := range m.byType("aws:sfn/stateMachine:StateMachine") {
		def := fmt.Sprint(sm.Inputs["definition"])
		if !strings.Contains(def, "arn:aws:lambda:") {
			t.Errorf("%s: definition names no Lambda ARN:\n%s", sm.Name, def)
		}
		defs[fmt.Sprint(sm.Inputs["name"])] = []byte(def)
	}
	if diff := cmp.Diff([]string{"MakeAddressBasePartitioned-development", "MakeBoundaryReviewsParquet-development", "MakeCurrentElectionsParquet-development"}, keys(defs)); diff != "" {
		t.Fatalf("state machines (-want +got):\n%s", diff)
	}
	if err := nodetool.ValidateASL(t.Context(), defs); err != nil {
		t.Fatal(err)
	}
}

// triggeredLayers are the Pulumi names of the layers with triggers, and
// the events of each.
var triggeredLayers = []string{"current-elections", "boundary-reviews"}

var triggerEvents = map[string][]string{
	"current-elections": {"elections_set_changed"},
	"boundary-reviews":  {"boundary_change_set_changed", "elections_set_changed"},
}

func TestTriggersGoThroughADeduplicatingFIFOQueue(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		rules := map[string]map[string]any{}
		for _, r := range m.byType("aws:cloudwatch/eventRule:EventRule") {
			rules[r.Name] = r.Inputs
		}
		pipes := m.byType("aws:pipes/pipe:Pipe")
		if len(pipes) != len(triggeredLayers) {
			t.Errorf("pipes = %d, want one per layer with triggers", len(pipes))
		}
		for _, name := range triggeredLayers {
			q := byName(t, m, "aws:sqs/queue:Queue", name+"-rebuilds").Inputs
			if q["fifoQueue"] != true || q["contentBasedDeduplication"] != true || q["delaySeconds"] != 300.0 || q["sqsManagedSseEnabled"] != true {
				t.Errorf("%s: queue = %v", name, q)
			}
			if rules[name+"-nightly"]["scheduleExpression"] != "cron(0 3 * * ? *)" {
				t.Errorf("%s: nightly rule = %v", name, rules[name+"-nightly"])
			}
			for _, ev := range triggerEvents[name] {
				rule := name + "-" + strings.ReplaceAll(ev, "_", "-")
				if !strings.Contains(fmt.Sprint(rules[rule]["eventPattern"]), ev) {
					t.Errorf("%s: change rule = %v", rule, rules[rule])
				}
			}
			var targets []*res
			for _, tg := range m.byType("aws:cloudwatch/eventTarget:EventTarget") {
				if strings.HasPrefix(tg.Name, name+"-") {
					targets = append(targets, tg)
				}
			}
			if len(targets) != 1+len(triggerEvents[name]) {
				t.Fatalf("%s: event targets = %d, want the nightly one and one per event", name, len(targets))
			}
			for _, tg := range targets {
				// A constant body is what lets content-based deduplication
				// collapse a burst of events into one rebuild.
				if tg.Inputs["input"] != targets[0].Inputs["input"] || tg.Inputs["input"] == nil {
					t.Errorf("%s: input %v differs between targets", tg.Name, tg.Inputs["input"])
				}
			}
			if !slices.ContainsFunc(pipes, func(p *res) bool { return strings.Contains(fmt.Sprint(p.Inputs["target"]), name+"-sm") }) {
				t.Errorf("%s: no pipe targets its state machine: %+v", name, pipes)
			}
		}
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestEveryFunctionLogsWithRetentionAndEveryQueueAndTopicIsEncrypted(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		groups := m.byType("aws:cloudwatch/logGroup:LogGroup")
		fns := m.byType("aws:lambda/function:Function")
		// core's 4, CurrentElections' 4 (export, outcodes, plausibility
		// gate, publish) and BoundaryReviews' 3.
		if len(fns) != 11 || len(groups) != len(fns) {
			t.Fatalf("functions = %d, log groups = %d; want 11 each", len(fns), len(groups))
		}
		for _, g := range groups {
			if g.Inputs["retentionInDays"] != 30.0 {
				t.Errorf("%s: retention = %v, want Pulumi.yaml's 30", g.Name, g.Inputs["retentionInDays"])
			}
		}
		for _, f := range fns {
			if get(f.Inputs, "loggingConfig", "logFormat") != "JSON" || get(f.Inputs, "loggingConfig", "logGroup") == nil {
				t.Errorf("%s: logging = %v", f.Name, f.Inputs["loggingConfig"])
			}
		}
		for _, topic := range m.byType("aws:sns/topic:Topic") {
			if topic.Inputs["kmsMasterKeyId"] == nil {
				t.Errorf("topic %s is not encrypted", topic.Name)
			}
		}
		for _, q := range m.byType("aws:sqs/queue:Queue") {
			if q.Inputs["sqsManagedSseEnabled"] != true && q.Inputs["kmsMasterKeyId"] == nil {
				t.Errorf("queue %s is not encrypted", q.Name)
			}
		}
	})
}

// stacks runs the program for each environment: the committed stacks, and
// staging as development's file with its environment changed, since a
// staging stack is the same file with another name.
func stacks(t *testing.T) map[string]*mocks {
	t.Helper()
	out := map[string]*mocks{}
	for env, cfg := range map[string]map[string]string{
		"development": stackConfig(t, "development"),
		"staging":     withAll(stackConfig(t, "development"), "dc-data-baker:environment", "staging"),
		"production":  stackConfig(t, "production"),
	} {
		m, err := run(t, cfg)
		if err != nil {
			t.Fatalf("%s: program: %v", env, err)
		}
		out[env] = m
	}
	return out
}

// location is where one environment's table reads, or where it writes.
type location struct{ env, what, uri string }

// tableLocations are the stack's Glue table locations.
func tableLocations(env string, m *mocks) []location {
	var out []location
	names := map[string]bool{}
	tbls := m.byType("aws:glue/catalogTable:CatalogTable")
	for _, tbl := range tbls {
		names[fmt.Sprint(tbl.Inputs["name"])] = true
	}
	for _, tbl := range tbls {
		name := fmt.Sprint(tbl.Inputs["name"])
		// A run-scoped table's staging twin starts where the table does:
		// each run points it at its own prefix.
		if base, ok := strings.CutSuffix(name, "_staging"); ok && names[base] {
			continue
		}
		out = append(out, location{env, "table " + name, fmt.Sprint(get(tbl.Inputs, "storageDescriptor", "location"))})
	}
	return out
}

// writePrefixes are the S3 prefixes the stack's roles may write or delete
// under, read from the policies themselves: arn:aws:s3:::b/p* is s3://b/p.
func writePrefixes(t *testing.T, env string, m *mocks) []location {
	var out []location
	for name, doc := range policies(t, m) {
		for _, s := range doc.Statement {
			if s.Effect != "Allow" || !slices.ContainsFunc(s.Action, func(a string) bool { return a == "s3:PutObject" || a == "s3:DeleteObject" }) {
				continue
			}
			for _, r := range s.Resource {
				if rest, ok := strings.CutPrefix(r, "arn:aws:s3:::"); ok {
					out = append(out, location{env, name + " " + s.Sid, "s3://" + strings.TrimSuffix(rest, "*")})
				}
			}
		}
	}
	return out
}

// overlaps lists every way one environment could read another's data, or
// one table another table's: a table location that contains another
// table's location, or that contains a prefix another environment writes.
// The same input table read by several environments (AddressBase's raw CSV)
// is one location, not an overlap.
func overlaps(tables, writes []location) []string {
	var out []string
	for _, a := range tables {
		for _, b := range tables {
			if a == b || (a.what == b.what && a.uri == b.uri) {
				continue
			}
			if strings.HasPrefix(b.uri, a.uri) {
				out = append(out, fmt.Sprintf("%s %s (%s) contains %s %s (%s)", a.env, a.what, a.uri, b.env, b.what, b.uri))
			}
		}
		for _, w := range writes {
			if w.env != a.env && (strings.HasPrefix(w.uri, a.uri) || strings.HasPrefix(a.uri, w.uri)) {
				out = append(out, fmt.Sprintf("%s %s (%s) overlaps what %s writes: %s (%s)", a.env, a.what, a.uri, w.env, w.what, w.uri))
			}
		}
	}
	return out
}

// Athena reads every object under a table's location, so no table may
// contain another's, and no environment may write where another reads.
func TestNoTableLocationContainsAnothersOrAnotherEnvironmentsWrites(t *testing.T) {
	var tbls, writes []location
	for env, m := range stacks(t) {
		tbls = append(tbls, tableLocations(env, m)...)
		writes = append(writes, writePrefixes(t, env, m)...)
	}
	if len(tbls) < 12 || len(writes) < 12 {
		t.Fatalf("found %d table locations and %d write prefixes; the collectors are broken", len(tbls), len(writes))
	}
	for _, o := range overlaps(tbls, writes) {
		t.Error(o)
	}
}

// The check above catches the layout it was written for: development's
// ballots inside production's table.
func TestOverlapsCatchesDevelopmentBallotsInProductionsTable(t *testing.T) {
	got := overlaps(
		[]location{
			{"production", "table current_ballots", "s3://ee.data-cache.production/ballots-with-wkt/"},
			{"production", "table addressbase_partitioned", "s3://ab/addressbase/production/addressbase_partitioned/"},
			{"production", "table addressbase_partitioned_old", "s3://ab/addressbase/production/addressbase_partitioned/old/"},
			{"development", "table current_ballots", "s3://ee.data-cache.production/ballots-with-wkt/development/"},
		},
		[]location{{"development", "export PublishCSV", "s3://ee.data-cache.production/ballots-with-wkt/development/current_elections.csv"}},
	)
	want := []string{
		"production table current_ballots (s3://ee.data-cache.production/ballots-with-wkt/) contains development table current_ballots (s3://ee.data-cache.production/ballots-with-wkt/development/)",
		"production table current_ballots (s3://ee.data-cache.production/ballots-with-wkt/) overlaps what development writes: export PublishCSV (s3://ee.data-cache.production/ballots-with-wkt/development/current_elections.csv)",
		"production table addressbase_partitioned (s3://ab/addressbase/production/addressbase_partitioned/) contains production table addressbase_partitioned_old (s3://ab/addressbase/production/addressbase_partitioned/old/)",
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("overlaps (-want +got):\n%s", diff)
	}
}

// Two stacks in one account must not ask for one name: every name the
// program chooses (rather than leaves to Pulumi) differs between
// environments. A Glue table's name is scoped by its database and a named
// query's by its workgroup.
func TestNoFixedNameIsSharedBetweenStacks(t *testing.T) {
	owner := map[string]string{}
	fixed := 0
	for env, m := range stacks(t) {
		for _, r := range m.resources {
			name, ok := r.Inputs["name"].(string)
			if !ok || r.Type == "aws:s3/bucketV2:BucketV2" {
				continue
			}
			scope, _ := r.Inputs["databaseName"].(string)
			if wg, ok := r.Inputs["workgroup"].(string); ok {
				scope = wg
			}
			key := r.Type + " " + scope + "/" + name
			fixed++
			if other, ok := owner[key]; ok && other != env {
				t.Errorf("%s and %s both name a %s", other, env, key)
			}
			owner[key] = env
		}
	}
	if fixed < 30 {
		t.Fatalf("only %d fixed names seen; the collector is broken", fixed)
	}
}

// With SSE-KMS external buckets, exactly the roles that read or write their
// objects may use exactly the configured keys; without, no role has kms.
func TestExternalBucketKeysAreGrantedOnlyWhereNeeded(t *testing.T) {
	const key = "arn:aws:kms:eu-west-2:111122223333:key/0c7d3d5e-1111-4a5b-9c9d-123456789012"
	kmsUsers := func(m *mocks) map[string][]string {
		out := map[string][]string{}
		for name, doc := range policies(t, m) {
			for _, s := range doc.Statement {
				// The failure topic's own key is TestFailureTopicKey's.
				if s.Sid != "EncryptFailureNotification" && slices.ContainsFunc(s.Action, func(a string) bool { return strings.HasPrefix(a, "kms:") }) {
					out[name] = append(out[name], fmt.Sprintf("%s %v %v", s.Sid, s.Action, s.Resource))
				}
			}
		}
		return out
	}
	m, err := run(t, stackConfig(t, "development"))
	if err != nil {
		t.Fatal(err)
	}
	if got := kmsUsers(m); len(got) != 0 {
		t.Errorf("kms granted without externalBucketKmsKeyArns: %v", got)
	}
	m, err = run(t, withAll(stackConfig(t, "development"), "dc-data-baker:externalBucketKmsKeyArns", `["`+key+`"]`))
	if err != nil {
		t.Fatal(err)
	}
	stmt := "UseExternalBucketKeys [kms:Decrypt kms:GenerateDataKey] [" + key + "]"
	want := map[string][]string{}
	for _, fn := range []string{"core-query", "current-elections-export-ballots", "current-elections-outcodes", "current-elections-plausibility", "current-elections-publish-outcodes", "boundary-reviews-export-boundary-reviews", "boundary-reviews-outcodes", "boundary-reviews-publish-outcodes"} {
		want[fn+"-policy"] = []string{stmt}
	}
	if diff := cmp.Diff(want, kmsUsers(m)); diff != "" {
		t.Errorf("kms grants (-want +got):\n%s", diff)
	}
}

// With lakeFormation, the catalog's users get Lake Formation grants on the
// stack's own database and no other; without, the program makes none.
func TestLakeFormationGrantsOnlyWhenAskedFor(t *testing.T) {
	m, err := run(t, stackConfig(t, "development"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.byType("aws:lakeformation/permissions:Permissions")); n != 0 {
		t.Errorf("%d Lake Formation grants without lakeFormation", n)
	}
	m, err = run(t, withAll(stackConfig(t, "development"), "dc-data-baker:lakeFormation", "true"))
	if err != nil {
		t.Fatal(err)
	}
	db := layer.NamesFor("development").Database
	got := map[string]string{}
	for _, p := range m.byType("aws:lakeformation/permissions:Permissions") {
		scope := fmt.Sprintf("database %v", get(p.Inputs, "database", "name"))
		if tbl := get(p.Inputs, "table"); tbl != nil {
			scope = fmt.Sprintf("tables %v wildcard=%v", get(tbl, "databaseName"), get(tbl, "wildcard"))
		}
		got[p.Name] = fmt.Sprintf("%v: %v on %s", p.Inputs["principal"], p.Inputs["permissions"], scope)
	}
	role := func(fn string) string { return "arn:aws:iam:eu-west-2:123456789012:" + fn + "-role" }
	want := map[string]string{
		"core-lf-query-database":          role("core-query") + ": [DESCRIBE] on database " + db,
		"core-lf-query-tables":            role("core-query") + ": [SELECT INSERT ALTER DESCRIBE] on tables " + db + " wildcard=true",
		"core-lf-table-location-database": role("core-table-location") + ": [DESCRIBE] on database " + db,
		"core-lf-table-location-tables":   role("core-table-location") + ": [DESCRIBE] on tables " + db + " wildcard=true",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lake Formation grants (-want +got):\n%s", diff)
	}
	for name, doc := range policies(t, m) {
		has := slices.ContainsFunc(doc.Statement, func(s gofunction.PolicyStatement) bool {
			return slices.Contains(s.Action, "lakeformation:GetDataAccess")
		})
		if has != (name == "core-query-policy") {
			t.Errorf("%s: lakeformation:GetDataAccess = %v; only the query function reads data", name, has)
		}
	}
}

// The Pulumi binary carries neither test code nor the Lambdas' runtime
// dependencies: a deploy must not link pgx, lambdacontext or testing.
func TestProgramLinksNoTestOrLambdaCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps .: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "testing" || strings.HasPrefix(dep, "github.com/jackc/pgx") || dep == "github.com/aws/aws-lambda-go/lambdacontext" {
			t.Errorf("the Pulumi program links %s", dep)
		}
	}
}

// A layer's grants on Core's shared functions belong to the layer: they are
// children of its component, so they come and go with it.
func TestLayerGrantsAreChildrenOfTheLayer(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		n := 0
		for _, r := range m.byType("aws:iam/rolePolicy:RolePolicy") {
			if !strings.HasSuffix(r.Name, "-grant") {
				continue
			}
			n++
			if !strings.HasPrefix(r.ParentType, "dc-data-baker:layers:") || !strings.HasPrefix(r.Name, r.ParentName+"-") {
				t.Errorf("grant %s is a child of %s %s, want its layer's component", r.Name, r.ParentType, r.ParentName)
			}
		}
		if n < 5 {
			t.Fatalf("only %d grants seen", n)
		}
	})
}
