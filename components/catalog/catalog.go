// Package catalog turns table declarations into Glue tables and their
// populating SQL into Athena named queries.
package catalog

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/athena"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/glue"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/internal/tables"
	dcsql "github.com/DemocracyClub/dc-data-baker/sql"
)

// Hive classes for each format.
const (
	openCSVSerDe     = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
	textInputFormat  = "org.apache.hadoop.mapred.TextInputFormat"
	textOutputFormat = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
	parquetSerDe     = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
	parquetInput     = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
	parquetOutput    = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
)

// TableArgs is what a Glue table needs besides its declaration.
type TableArgs struct {
	Database pulumi.StringInput
	Vars     tables.Vars
}

// NewTable creates the Glue table that t declares.
func NewTable(ctx *pulumi.Context, name string, t tables.Table, args TableArgs, opts ...pulumi.ResourceOption) (*glue.CatalogTable, error) {
	location, err := t.Location(args.Vars)
	if err != nil {
		return nil, err
	}
	sd := &glue.CatalogTableStorageDescriptorArgs{
		Location: pulumi.String(location),
		Columns:  columns(t.Columns),
	}
	params := pulumi.StringMap{"EXTERNAL": pulumi.String("TRUE")}
	switch t.Format {
	case tables.CSV:
		// Python's csv module doubles quotes inside quoted fields, which is
		// also the SerDe's default escape, so no escapeChar is set.
		sd.SerDeInfo = &glue.CatalogTableStorageDescriptorSerDeInfoArgs{
			SerializationLibrary: pulumi.String(openCSVSerDe),
			Parameters: pulumi.StringMap{
				"separatorChar": pulumi.String(","),
				"quoteChar":     pulumi.String(`"`),
			},
		}
		sd.InputFormat = pulumi.String(textInputFormat)
		sd.OutputFormat = pulumi.String(textOutputFormat)
		params["classification"] = pulumi.String("csv")
		if t.SkipHeader {
			params["skip.header.line.count"] = pulumi.String("1")
		}
	case tables.Parquet:
		if t.SkipHeader {
			return nil, fmt.Errorf("table %s: SkipHeader applies only to CSV", t.Name)
		}
		sd.SerDeInfo = &glue.CatalogTableStorageDescriptorSerDeInfoArgs{
			SerializationLibrary: pulumi.String(parquetSerDe),
		}
		sd.InputFormat = pulumi.String(parquetInput)
		sd.OutputFormat = pulumi.String(parquetOutput)
		params["classification"] = pulumi.String("parquet")
	default:
		return nil, fmt.Errorf("table %s: unknown format %v", t.Name, t.Format)
	}
	for k, v := range t.Projection() {
		params[k] = pulumi.String(v)
	}
	if t.RunScoped {
		// Each run switches the location to its own prefix once its gates
		// pass; a deploy must not move it back.
		opts = append(opts, pulumi.IgnoreChanges([]string{"storageDescriptor.location"}))
	}
	var keys glue.CatalogTablePartitionKeyArray
	for _, k := range t.PartitionKeys {
		keys = append(keys, glue.CatalogTablePartitionKeyArgs{
			Name: pulumi.String(k.Name), Type: pulumi.String(k.Type), Comment: optional(k.Comment),
		})
	}
	return glue.NewCatalogTable(ctx, name, &glue.CatalogTableArgs{
		Name:              pulumi.String(t.Name),
		DatabaseName:      args.Database,
		Description:       pulumi.String(t.Description),
		TableType:         pulumi.String("EXTERNAL_TABLE"),
		Parameters:        params,
		StorageDescriptor: sd,
		PartitionKeys:     keys,
	}, opts...)
}

func columns(cs []tables.Column) glue.CatalogTableStorageDescriptorColumnArray {
	out := make(glue.CatalogTableStorageDescriptorColumnArray, len(cs))
	for i, c := range cs {
		out[i] = glue.CatalogTableStorageDescriptorColumnArgs{
			Name: pulumi.String(c.Name), Type: pulumi.String(c.Type), Comment: optional(c.Comment),
		}
	}
	return out
}

func optional(s string) pulumi.StringPtrInput {
	if s == "" {
		return nil
	}
	return pulumi.String(s)
}

// QueryArgs places a named query.
type QueryArgs struct {
	// Template is the sql/ template, when it differs from the query's name
	// (one template can serve several layers' queries).
	Template  string
	Database  pulumi.StringInput
	Workgroup pulumi.StringInput
	// Values fill the template's deploy-time placeholders.
	Values map[string]string
}

// NewNamedQuery renders sql/<Template or query>.sql and creates it as a
// named query called query. Its description carries a hash of the rendered
// SQL, so a changed query shows up in a preview.
//
// Every change to a named query replaces it. Pulumi would create the new
// one before deleting the old, leaving two queries with one name, which the
// query Lambda refuses to choose between; so the old one is deleted first.
// For the seconds in between the name finds nothing, which the Lambda
// reports as NamedQueryUnavailableError and the state machines retry.
func NewNamedQuery(ctx *pulumi.Context, name, query string, args QueryArgs, opts ...pulumi.ResourceOption) (*athena.NamedQuery, error) {
	template := args.Template
	if template == "" {
		template = query
	}
	rendered, err := dcsql.Render(template, args.Values)
	if err != nil {
		return nil, err
	}
	return athena.NewNamedQuery(ctx, name, &athena.NamedQueryArgs{
		Name:        pulumi.String(query),
		Database:    args.Database,
		Workgroup:   args.Workgroup,
		Query:       pulumi.String(rendered),
		Description: pulumi.String(Description(rendered)),
	}, append(opts, pulumi.DeleteBeforeReplace(true))...)
}

// Description is a named query's description for rendered SQL.
func Description(rendered string) string {
	return "dc-data-baker; sql sha256:" + dcsql.Hash(rendered)
}
