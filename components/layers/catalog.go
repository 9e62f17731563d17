package layers

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/catalog"
	"github.com/DemocracyClub/dc-data-baker/components/core"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// newCatalog creates a layer's Glue tables and named queries.
func newCatalog(ctx *pulumi.Context, name string, co *core.Core, vars tables.Vars, ts []tables.Table, qs []tables.NamedQuery, parent pulumi.ResourceOption) error {
	tableArgs := catalog.TableArgs{Database: co.DatabaseName, Vars: vars}
	for _, t := range ts {
		if _, err := catalog.NewTable(ctx, name+"-"+t.Name, t, tableArgs, parent); err != nil {
			return err
		}
	}
	for _, q := range qs {
		if _, err := catalog.NewNamedQuery(ctx, name+"-"+q.Name, q.Name, catalog.QueryArgs{
			Template: q.Template, Database: co.DatabaseName, Workgroup: co.WorkgroupName, Values: q.Values,
		}, parent); err != nil {
			return err
		}
	}
	return nil
}
