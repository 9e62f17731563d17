package gluetable_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/gluetable"
	"github.com/DemocracyClub/dc-data-baker/internal/lambdatest"
)

// tables holds GetTable responses shaped like the real API's.
var tables = map[string]map[string]any{
	"current_ballots_joined_to_address_base": {
		"Name": "current_ballots_joined_to_address_base", "DatabaseName": "dc_data_baker", "TableType": "EXTERNAL_TABLE",
		"CreateTime": 1.7645e9,
		"StorageDescriptor": map[string]any{
			"Columns": []map[string]string{
				{"Name": "uprn", "Type": "string"}, {"Name": "address", "Type": "string"}, {"Name": "postcode", "Type": "string"},
				{"Name": "addressbase_source", "Type": "string"}, {"Name": "ballot_ids", "Type": "array<string>"},
			},
			"Location":     "s3://dc-data-baker-development/current_ballots_joined_to_address_base/",
			"InputFormat":  "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
			"OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
			"SerdeInfo":    map[string]any{"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
		},
		"PartitionKeys": []map[string]string{{"Name": "first_letter", "Type": "string"}},
	},
	"addressbase_partitioned": {
		"Name": "addressbase_partitioned", "DatabaseName": "dc_data_baker",
		"StorageDescriptor": map[string]any{"Location": "s3://pollingstations.private.data/addressbase/development/addressbase_partitioned/"},
	},
	"view_without_location": {
		"Name": "view_without_location", "DatabaseName": "dc_data_baker", "TableType": "VIRTUAL_VIEW",
		"StorageDescriptor": map[string]any{"Columns": []map[string]string{{"Name": "x", "Type": "int"}}},
	},
	"no_storage": {"Name": "no_storage", "DatabaseName": "dc_data_baker"},
	"hdfs_table": {
		"Name": "hdfs_table", "DatabaseName": "dc_data_baker",
		"StorageDescriptor": map[string]any{"Location": "hdfs:///warehouse/hdfs_table"},
	},
}

func newFakeGlue(t *testing.T) *awsfake.Server {
	t.Helper()
	srv := awsfake.New(awsfake.JSON11, awsfake.Routes{
		"AWSGlue.GetTable": func(body []byte) (any, error) {
			in, err := awsfake.Decode[struct{ DatabaseName, Name string }](body)
			if err != nil {
				return nil, err
			}
			tbl, ok := tables[in.Name]
			if in.DatabaseName != "dc_data_baker" || !ok {
				return nil, &awsfake.APIError{Code: "EntityNotFoundException", Message: "Table " + in.Name + " not found."}
			}
			return map[string]any{"Table": tbl}, nil
		},
	})
	t.Cleanup(srv.Close)
	return srv
}

func TestInvokeJSON(t *testing.T) {
	tests := []struct {
		payload string
		wantOut string
		wantErr string
	}{
		{payload: "joined_table.json", wantOut: `{"current_ballots_joined_to_address_base_location":"s3://dc-data-baker-development/current_ballots_joined_to_address_base/"}`},
		{payload: "addressbase_partitioned.json", wantOut: `{"addressbase_partitioned_location":"s3://pollingstations.private.data/addressbase/development/addressbase_partitioned/"}`},
		{payload: "unknown_table.json", wantErr: "get glue table dc_data_baker.no_such_table: "},
		{payload: "table_without_location.json", wantErr: "glue table dc_data_baker.view_without_location has no StorageDescriptor.Location"},
		{payload: "missing_table.json", wantErr: "input: database and table are both required"},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			srv := newFakeGlue(t)
			h := gluetable.New(glue.NewFromConfig(srv.Config()), nil)
			out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), lambdatest.Payload(t, "get_glue_table_location", tt.payload))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to start with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantOut, string(out)); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLocationErrors(t *testing.T) {
	srv := newFakeGlue(t)
	client := glue.NewFromConfig(srv.Config())
	tests := []struct {
		database, table string
		wantErr         string
	}{
		{"dc_data_baker", "no_storage", "glue table dc_data_baker.no_storage has no StorageDescriptor"},
		{"dc_data_baker", "hdfs_table", `glue table dc_data_baker.hdfs_table: location "hdfs:///warehouse/hdfs_table" is not an s3:// URI`},
		{"other_db", "addressbase_partitioned", "get glue table other_db.addressbase_partitioned: "},
		{"", "addressbase_partitioned", "input: database and table are both required"},
	}
	for _, tt := range tests {
		_, err := gluetable.Location(context.Background(), client, tt.database, tt.table)
		if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
			t.Errorf("Location(%q, %q) error = %v, want it to start with %q", tt.database, tt.table, err, tt.wantErr)
		}
	}
	_, err := gluetable.Location(context.Background(), client, "dc_data_baker", "no_such_table")
	if err == nil || !strings.Contains(err.Error(), "EntityNotFoundException") {
		t.Errorf("unknown table error = %v, want Glue's EntityNotFoundException kept", err)
	}
}

// TestSwitch points a projected table at a run's prefix through the
// Lambda's JSON boundary: the output names the old location, the table
// keeps its parameters, and a stale VersionId is refused.
func TestSwitch(t *testing.T) {
	const base = "s3://ab/addressbase/development/addressbase_partitioned/"
	g := awsfake.NewGlue("dc_data_baker", awsfake.GlueTable{
		Name: "addressbase_partitioned", Location: base,
		Parameters: map[string]string{"projection.enabled": "true"},
	})
	t.Cleanup(g.Close)
	h := lambda.NewHandler(gluetable.New(glue.NewFromConfig(g.Config()), nil).Handle)
	run := base + "runs/exec-2/"
	out, err := h.Invoke(context.Background(), []byte(`{"database":"dc_data_baker","table":"addressbase_partitioned","location":"`+run+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"addressbase_partitioned_location":"` + run + `","addressbase_partitioned_previous_location":"` + base + `"}`
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if loc, _ := g.Location("addressbase_partitioned"); loc != run {
		t.Errorf("location after the switch %q, want %q", loc, run)
	}
	def, _ := g.Table("addressbase_partitioned")
	if !strings.Contains(string(def), `"projection.enabled":"true"`) {
		t.Errorf("the switch lost the table's parameters: %s", def)
	}
	// A second switch reads the new version, so it succeeds too.
	if _, err := gluetable.Switch(context.Background(), glue.NewFromConfig(g.Config()), "dc_data_baker", "addressbase_partitioned", base+"runs/exec-3/"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"s3://ab/no-slash", "/local/", ""} {
		_, err := gluetable.Switch(context.Background(), glue.NewFromConfig(g.Config()), "dc_data_baker", "addressbase_partitioned", bad)
		if err == nil || !strings.Contains(err.Error(), "must be an s3:// prefix ending in /") {
			t.Errorf("Switch to %q: error %v", bad, err)
		}
	}
	if n := len(g.Updates()); n != 2 {
		t.Errorf("%d updates, want 2", n)
	}
}

// A switch from a stale read is refused, so it cannot undo what a deploy or
// another switch wrote in between.
func TestSwitchRefusesAStaleVersion(t *testing.T) {
	g := awsfake.NewGlue("dc_data_baker", awsfake.GlueTable{Name: "t", Location: "s3://b/t/"})
	t.Cleanup(g.Close)
	client := glue.NewFromConfig(g.Config())
	stale := &glue.UpdateTableInput{DatabaseName: aws.String("dc_data_baker"), VersionId: aws.String("1"),
		TableInput: &types.TableInput{Name: aws.String("t"), StorageDescriptor: &types.StorageDescriptor{Location: aws.String("s3://b/t/runs/a/")}}}
	if _, err := gluetable.Switch(context.Background(), client, "dc_data_baker", "t", "s3://b/t/runs/b/"); err != nil {
		t.Fatal(err)
	}
	// The switch wrote with the version it read.
	if calls := g.Calls("AWSGlue.UpdateTable"); len(calls) != 1 || !strings.Contains(string(calls[0].Body), `"VersionId":"1"`) {
		t.Errorf("UpdateTable calls %+v, want one carrying VersionId 1", calls)
	}
	_, err := client.UpdateTable(context.Background(), stale)
	if err == nil || !strings.Contains(err.Error(), "ConcurrentModificationException") {
		t.Errorf("update with version 1 after a switch: %v, want ConcurrentModificationException", err)
	}
	if loc, _ := g.Location("t"); loc != "s3://b/t/runs/b/" {
		t.Errorf("location %q, want the switch's", loc)
	}
}
