package layers

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/catalog"
	"github.com/DemocracyClub/dc-data-baker/components/core"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// query is one named query of a layer.
type query struct {
	name     string
	template string // sql/ template, when it differs from name
	values   map[string]string
}

// newCatalog creates a layer's Glue tables and named queries. Every query
// gets the database among its values.
func newCatalog(ctx *pulumi.Context, name string, co *core.Core, vars tables.Vars, ts []tables.Table, qs []query, parent pulumi.ResourceOption) error {
	tableArgs := catalog.TableArgs{Database: co.DatabaseName, Vars: vars}
	for _, t := range ts {
		if _, err := catalog.NewTable(ctx, name+"-"+t.Name, t, tableArgs, parent); err != nil {
			return err
		}
	}
	for _, q := range qs {
		values := map[string]string{"database": co.Names.Database}
		for k, v := range q.values {
			values[k] = v
		}
		if _, err := catalog.NewNamedQuery(ctx, name+"-"+q.name, q.name, catalog.QueryArgs{
			Template: q.template, Database: co.DatabaseName, Workgroup: co.WorkgroupName, Values: values,
		}, parent); err != nil {
			return err
		}
	}
	return nil
}
