package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
)

// lifecycles are the bucket lifecycle configurations by bucket name.
func lifecycles(t *testing.T, m *mocks) map[string]*res {
	t.Helper()
	out := map[string]*res{}
	for _, r := range m.byType("aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2") {
		out[strings.TrimSuffix(r.Name, "-lifecycle")] = r
	}
	return out
}

func bucketNamed(t *testing.T, m *mocks, name string) *res {
	t.Helper()
	for _, b := range m.byType("aws:s3/bucketV2:BucketV2") {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no bucket %s", name)
	return nil
}

// exportFunctions are the Lambdas that export from EE's database: those
// that read its connection parameters.
func exportFunctions(m *mocks) []*res {
	var out []*res
	for _, f := range m.byType("aws:lambda/function:Function") {
		if get(f.Inputs, "environment", "variables", "DB_HOST_PARAM") != nil {
			out = append(out, f)
		}
	}
	return out
}

// TestRawHistoryIsKeptAndExpires: every export keeps its dated copies in
// the stack's raw-history bucket, under its own folder, which only it may
// write; the bucket expires them after rawHistoryDays (Pulumi.yaml: 90),
// and production's bucket cannot be destroyed with history in it.
func TestRawHistoryIsKeptAndExpires(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		const bucket = "core-raw-history"
		lc := lifecycles(t, m)[bucket]
		if lc == nil {
			t.Fatalf("the raw-history bucket has no lifecycle rule")
		}
		if d := get(lc.Inputs, "rules", "0", "expiration", "days"); d != 90.0 {
			t.Errorf("raw history expires after %v days, want Pulumi.yaml's default 90", d)
		}
		if prefix := get(lc.Inputs, "rules", "0", "filter", "prefix"); prefix != "" {
			t.Errorf("raw-history lifecycle filter prefix %q, want the whole bucket", prefix)
		}
		if fd := bucketNamed(t, m, bucket).Inputs["forceDestroy"]; fd != (env != "production") {
			t.Errorf("raw-history forceDestroy = %v in %s", fd, env)
		}
		exports := exportFunctions(m)
		if len(exports) == 0 {
			t.Fatal("no export functions")
		}
		writers := map[string]string{} // history folder -> function
		for _, f := range exports {
			b := get(f.Inputs, "environment", "variables", "HISTORY_BUCKET")
			p, _ := get(f.Inputs, "environment", "variables", "HISTORY_PREFIX").(string)
			if b != bucket+"-bucket" || !strings.HasSuffix(p, "/") {
				t.Errorf("%s: HISTORY_BUCKET %v, HISTORY_PREFIX %q, want %s-bucket and a folder", f.Name, b, p, bucket)
			}
			writers[p] = f.Name
		}
		arn := "arn:aws:s3:::" + bucket + "-bucket"
		for name, doc := range policies(t, m) {
			for _, s := range doc.Statement {
				for _, r := range s.Resource {
					if r != arn && !strings.HasPrefix(r, arn+"/") {
						continue
					}
					folder := strings.TrimSuffix(strings.TrimPrefix(r, arn+"/"), "*")
					fn, ok := writers[folder]
					if !ok || !slices.Equal(s.Action, gofunction.StringList{"s3:PutObject"}) || !strings.HasPrefix(name, strings.TrimSuffix(fn, "-fn")) {
						t.Errorf("%s %s: %q on %s; only an export may put objects, in its own history folder %v", name, s.Sid, s.Action, r, writers)
					}
				}
			}
		}
	})
}

// TestExportFunctionsJoinTheEEDatabaseVpc: with eeDatabaseVpc set, the
// export Lambdas (and only they) run in its subnets, may manage their
// network interfaces, and every function has the configured /tmp.
func TestExportFunctionsJoinTheEEDatabaseVpc(t *testing.T) {
	cfg := withAll(stackConfig(t, "development"), "dc-data-baker:eeDatabaseVpc",
		`{"subnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"], "securityGroupIds": ["sg-0123456789abcdef0"]}`)
	cfg = withAll(cfg, "dc-data-baker:exportEphemeralStorageMb", "2048")
	m, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	exports := map[string]bool{}
	for _, f := range exportFunctions(m) {
		exports[f.Name] = true
		got := fmt.Sprint(get(f.Inputs, "vpcConfig", "subnetIds"), get(f.Inputs, "vpcConfig", "securityGroupIds"))
		if want := "[subnet-0123456789abcdef0 subnet-0fedcba9876543210] [sg-0123456789abcdef0]"; got != want {
			t.Errorf("%s: vpcConfig %s, want %s", f.Name, got, want)
		}
		if size := get(f.Inputs, "ephemeralStorage", "size"); size != 2048.0 {
			t.Errorf("%s: ephemeral storage %v, want 2048", f.Name, size)
		}
	}
	if len(exports) == 0 {
		t.Fatal("no export functions")
	}
	for _, f := range m.byType("aws:lambda/function:Function") {
		if !exports[f.Name] && get(f.Inputs, "vpcConfig") != nil {
			t.Errorf("%s is not an export but runs in the VPC", f.Name)
		}
	}
	vpcRoles := 0
	for name, doc := range policies(t, m) {
		s, ok := doc.StatementBySid("AttachToVpc")
		if !ok {
			continue
		}
		vpcRoles++
		if !exports[strings.TrimSuffix(name, "-policy")+"-fn"] {
			t.Errorf("%s may manage network interfaces but its function is not an export", name)
		}
		if !slices.Contains(s.Action, "ec2:CreateNetworkInterface") || !slices.Equal(s.Resource, gofunction.StringList{"*"}) {
			t.Errorf("%s AttachToVpc: %v on %v", name, s.Action, s.Resource)
		}
	}
	if vpcRoles != len(exports) {
		t.Errorf("%d roles may attach to the VPC, want one per export (%d)", vpcRoles, len(exports))
	}
}

// TestExportSelectionComesFromConfig: which ballots and reviews the
// exports select besides the contract's rule is stack config (Pulumi.yaml's
// defaults, or a stack's values), reaching each export as its environment.
func TestExportSelectionComesFromConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		want map[string]map[string]string // function name → env
	}{
		{"defaults", stackConfig(t, "development"), map[string]map[string]string{
			"current-elections-export-ballots-fn":         {"LOOKBACK_DAYS": "30"},
			"boundary-reviews-export-boundary-reviews-fn": {"MAP_ONLY": "false", "COMPLETED_LOOKBACK_DAYS": "0"},
		}},
		{"set", withAll(withAll(withAll(stackConfig(t, "development"),
			"dc-data-baker:ballotsLookbackDays", "7"),
			"dc-data-baker:boundaryReviewsMapOnly", "true"),
			"dc-data-baker:boundaryReviewsLookbackDays", "14"), map[string]map[string]string{
			"current-elections-export-ballots-fn":         {"LOOKBACK_DAYS": "7"},
			"boundary-reviews-export-boundary-reviews-fn": {"MAP_ONLY": "true", "COMPLETED_LOOKBACK_DAYS": "14"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := run(t, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			for _, f := range exportFunctions(m) {
				want, ok := tc.want[f.Name]
				if !ok {
					t.Errorf("unexpected export function %s", f.Name)
					continue
				}
				seen++
				for k, v := range want {
					if got := get(f.Inputs, "environment", "variables", k); got != v {
						t.Errorf("%s: env %s = %v, want %s", f.Name, k, got, v)
					}
				}
			}
			if seen != len(tc.want) {
				t.Errorf("saw %d export functions, want %d", seen, len(tc.want))
			}
		})
	}
}
