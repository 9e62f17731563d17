package awsfake

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
)

// Glue is a Glue Data Catalog holding one database's tables, serving
// GetTable and UpdateTable as Glue does: UpdateTable replaces the table's
// definition with its TableInput, refuses a VersionId that is not the
// current one, and adds a version. Tables are kept as the JSON the API
// speaks, so what a client writes is what the next GetTable returns.
type Glue struct {
	*Server
	database string

	mu     sync.Mutex
	tables map[string]map[string]any
	// updates are the UpdateTable calls that succeeded, in order.
	updates []GlueUpdate
}

// GlueUpdate is one successful UpdateTable: the table and its new location.
type GlueUpdate struct{ Table, Location string }

// GlueTable is a table to seed the fake with.
type GlueTable struct {
	Name, Location string
	// Parameters are the table's parameters (partition projection among
	// them), if any.
	Parameters map[string]string
}

// NewGlue starts a Glue fake for database holding tables, each at version
// 1. Close it when done.
func NewGlue(database string, tables ...GlueTable) *Glue {
	g := &Glue{database: database, tables: map[string]map[string]any{}}
	for _, t := range tables {
		g.tables[t.Name] = map[string]any{
			"Name": t.Name, "DatabaseName": database, "TableType": "EXTERNAL_TABLE", "VersionId": "1",
			"Parameters":        t.Parameters,
			"StorageDescriptor": map[string]any{"Location": t.Location},
		}
	}
	g.Server = New(JSON11, Routes{"AWSGlue.GetTable": g.getTable, "AWSGlue.UpdateTable": g.updateTable})
	return g
}

func (g *Glue) notFound(db, name string) error {
	return &APIError{Code: "EntityNotFoundException", Message: fmt.Sprintf("Table %s not found in database %s.", name, db)}
}

func (g *Glue) getTable(body []byte) (any, error) {
	in, err := Decode[struct{ DatabaseName, Name string }](body)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tables[in.Name]
	if in.DatabaseName != g.database || !ok {
		return nil, g.notFound(in.DatabaseName, in.Name)
	}
	return map[string]any{"Table": t}, nil
}

func (g *Glue) updateTable(body []byte) (any, error) {
	in, err := Decode[struct {
		DatabaseName string
		VersionId    string
		TableInput   map[string]any
	}](body)
	if err != nil {
		return nil, err
	}
	name, _ := in.TableInput["Name"].(string)
	g.mu.Lock()
	defer g.mu.Unlock()
	old, ok := g.tables[name]
	if in.DatabaseName != g.database || !ok {
		return nil, g.notFound(in.DatabaseName, name)
	}
	if in.VersionId != "" && in.VersionId != old["VersionId"] {
		return nil, &APIError{Code: "ConcurrentModificationException", Message: fmt.Sprintf("Table %s: version %s is not the current version %s.", name, in.VersionId, old["VersionId"])}
	}
	sd, _ := in.TableInput["StorageDescriptor"].(map[string]any)
	loc, _ := sd["Location"].(string)
	if loc == "" {
		return nil, &APIError{Code: "InvalidInputException", Message: "TableInput.StorageDescriptor.Location is required for an external table."}
	}
	v, _ := strconv.Atoi(old["VersionId"].(string))
	t := map[string]any{}
	for k, x := range in.TableInput {
		t[k] = x
	}
	t["DatabaseName"], t["VersionId"] = g.database, strconv.Itoa(v+1)
	g.tables[name] = t
	g.updates = append(g.updates, GlueUpdate{Table: name, Location: loc})
	return map[string]any{}, nil
}

// Location returns a table's current location.
func (g *Glue) Location(table string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tables[table]
	if !ok {
		return "", g.notFound(g.database, table)
	}
	loc, _ := t["StorageDescriptor"].(map[string]any)["Location"].(string)
	return loc, nil
}

// Table returns a table's current definition as GetTable returns it.
func (g *Glue) Table(table string) (json.RawMessage, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tables[table]
	if !ok {
		return nil, g.notFound(g.database, table)
	}
	return json.Marshal(t)
}

// Updates returns the successful UpdateTable calls so far, in order.
func (g *Glue) Updates() []GlueUpdate {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GlueUpdate(nil), g.updates...)
}
