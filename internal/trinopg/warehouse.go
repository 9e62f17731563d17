package trinopg

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

//go:embed functions.sql
var functionsSQL string

// Catalog is what the Glue catalog holds: the database, its tables, and the
// objects of every bucket they live in.
type Catalog struct {
	Database string
	Tables   []tables.Table
	Vars     tables.Vars
	// Stores holds each bucket's objects, by bucket name.
	Stores map[string]blob.Store
	// SpatialIndexes names, per table, a WKT column to index with GiST on
	// ST_GeometryFromText(column) (where it is not empty). Athena plans its
	// own spatial join; PostgreSQL without an index would parse every WKT
	// once per address. An index changes no result.
	SpatialIndexes map[string]string
	// Locate, when set, returns a table's current location, as Glue has
	// it (a run-scoped table's moves with every run); without it, or when
	// it returns "", the table's declared location is used.
	Locate func(ctx context.Context, table string) (string, error)
}

// Warehouse runs Athena statements against a Catalog on PostgreSQL. Each
// table a statement names is loaded from its location into the schema
// named after the Glue database (again only when its objects changed).
// Statements run one at a time, as one connection allows.
type Warehouse struct {
	mu   sync.Mutex
	conn *pgx.Conn
	cat  Catalog
	// registered holds each partitioned table's registered partitions,
	// as c=value/ paths.
	registered map[string]map[string]bool
	// loaded is a digest of the objects (and partitions) each table was
	// last loaded from.
	loaded map[string][32]byte
	unload int
}

// FailError is a query stopped by fail(message), which Athena reports as
// GENERIC_USER_ERROR.
type FailError struct{ Message string }

func (e *FailError) Error() string { return "GENERIC_USER_ERROR: " + e.Message }

// Result is what a statement produced: a query's rows, the keys an UNLOAD
// wrote, or the partitions an MSCK REPAIR TABLE registered.
type Result struct {
	Columns    []string
	Rows       [][]any // string, float64, int64, bool, []string or nil
	Written    []string
	Registered []string
}

// Open connects to dsn (a PostgreSQL + PostGIS database with the C
// collation), installs functions.sql and creates the database's schema.
func Open(ctx context.Context, dsn string, cat Catalog) (*Warehouse, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("trinopg: connect: %w", err)
	}
	w := &Warehouse{conn: conn, cat: cat, registered: map[string]map[string]bool{}, loaded: map[string][32]byte{}}
	if err := w.init(ctx); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return w, nil
}

func (w *Warehouse) init(ctx context.Context) error {
	var collation string
	if err := w.conn.QueryRow(ctx, "SELECT datcollate FROM pg_database WHERE datname = current_database()").Scan(&collation); err != nil {
		return fmt.Errorf("trinopg: read collation: %w", err)
	}
	if collation != "C" && collation != "POSIX" {
		return fmt.Errorf("trinopg: database collation %q sorts strings unlike Trino; create it with the C collation", collation)
	}
	if _, err := w.conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		return fmt.Errorf("trinopg: create postgis: %w", err)
	}
	if _, err := w.conn.Exec(ctx, functionsSQL); err != nil {
		return fmt.Errorf("trinopg: install functions.sql: %w", err)
	}
	if _, err := w.conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{w.cat.Database}.Sanitize()); err != nil {
		return fmt.Errorf("trinopg: create schema %s: %w", w.cat.Database, err)
	}
	return nil
}

// Close closes the connection.
func (w *Warehouse) Close(ctx context.Context) error { return w.conn.Close(ctx) }

// Exec translates and runs one rendered, filled Athena statement.
func (w *Warehouse) Exec(ctx context.Context, athena string) (Result, error) {
	st, err := Translate(athena)
	if err != nil {
		return Result{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch st.Kind {
	case Repair:
		if st.Database != w.cat.Database {
			return Result{}, fmt.Errorf("trinopg: MSCK REPAIR TABLE in database %q, the catalog is %q", st.Database, w.cat.Database)
		}
		return w.repair(ctx, st.Table)
	case Unload:
		return w.runUnload(ctx, st)
	}
	if err := w.loadReferenced(ctx, st.SQL); err != nil {
		return Result{}, err
	}
	fields, rows, err := w.query(ctx, st.SQL)
	res := Result{Rows: rows}
	for _, f := range fields {
		res.Columns = append(res.Columns, f.Name)
	}
	return res, err
}

// Register marks partitions of table as registered, as a Glue
// CreatePartition would.
func (w *Warehouse) Register(table string, partitions ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.registered[table] == nil {
		w.registered[table] = map[string]bool{}
	}
	for _, p := range partitions {
		w.registered[table][p] = true
	}
}

func (w *Warehouse) table(name string) (tables.Table, error) {
	for _, t := range w.cat.Tables {
		if t.Name == name {
			return t, nil
		}
	}
	return tables.Table{}, fmt.Errorf("trinopg: table %s.%s is not in the catalog", w.cat.Database, name)
}

// where returns the store and key prefix of a table's current location.
func (w *Warehouse) where(ctx context.Context, t tables.Table) (blob.Store, string, error) {
	if w.cat.Locate != nil {
		loc, err := w.cat.Locate(ctx, t.Name)
		if err != nil {
			return nil, "", fmt.Errorf("trinopg: locate %s: %w", t.Name, err)
		}
		if loc != "" {
			return w.store(loc)
		}
	}
	loc, err := t.Location(w.cat.Vars)
	if err != nil {
		return nil, "", fmt.Errorf("trinopg: %w", err)
	}
	return w.store(loc)
}

// store resolves s3://bucket/prefix/ to a store and a key prefix.
func (w *Warehouse) store(location string) (blob.Store, string, error) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, "", fmt.Errorf("trinopg: location %q is not s3://bucket/prefix/", location)
	}
	s, ok := w.cat.Stores[u.Host]
	if !ok {
		return nil, "", fmt.Errorf("trinopg: no store for bucket %s", u.Host)
	}
	prefix := strings.TrimPrefix(u.Path, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return s, prefix, nil
}

// dataObjects lists the objects Athena reads under prefix: not folder
// markers, not hidden (_ or .) files.
func dataObjects(ctx context.Context, s blob.Store, prefix string) ([]string, error) {
	objs, err := s.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("trinopg: list %s: %w", prefix, err)
	}
	var keys []string
	for _, o := range objs {
		base := path.Base(o.Key)
		if strings.HasSuffix(o.Key, "/") || strings.HasPrefix(base, "_") || strings.HasPrefix(base, ".") {
			continue
		}
		keys = append(keys, o.Key)
	}
	slices.Sort(keys)
	return keys, nil
}

// partitionOf returns the c=value/ folders of key below prefix for t's
// partition keys, and their values.
func partitionOf(t tables.Table, prefix, key string) (string, []string, error) {
	dirs := strings.Split(strings.TrimPrefix(key, prefix), "/")
	dirs = dirs[:len(dirs)-1]
	if len(dirs) < len(t.PartitionKeys) {
		return "", nil, fmt.Errorf("trinopg: %s is not under %d partition folder(s) of %s", key, len(t.PartitionKeys), t.Name)
	}
	var p strings.Builder
	vals := make([]string, len(t.PartitionKeys))
	for i, k := range t.PartitionKeys {
		v, ok := strings.CutPrefix(dirs[i], k.Name+"=")
		if !ok {
			return "", nil, fmt.Errorf("trinopg: %s: folder %q is not %s=<value>", key, dirs[i], k.Name)
		}
		if vals[i], _ = url.PathUnescape(v); vals[i] == "" {
			vals[i] = v
		}
		p.WriteString(dirs[i] + "/")
	}
	return p.String(), vals, nil
}

// repair registers the partitions that exist under the table's location.
func (w *Warehouse) repair(ctx context.Context, name string) (Result, error) {
	t, err := w.table(name)
	if err != nil {
		return Result{}, err
	}
	if len(t.PartitionKeys) == 0 {
		return Result{}, fmt.Errorf("trinopg: MSCK REPAIR TABLE %s: the table is not partitioned", name)
	}
	if t.RunScoped {
		return Result{}, fmt.Errorf("trinopg: MSCK REPAIR TABLE %s: the table uses partition projection, so it has no partitions to register", name)
	}
	s, prefix, err := w.where(ctx, t)
	if err != nil {
		return Result{}, err
	}
	keys, err := dataObjects(ctx, s, prefix)
	if err != nil {
		return Result{}, err
	}
	var added []string
	for _, k := range keys {
		p, _, err := partitionOf(t, prefix, k)
		if err != nil {
			continue // Athena's MSCK skips what is not a partition folder
		}
		if w.registered[name] == nil {
			w.registered[name] = map[string]bool{}
		}
		if !w.registered[name][p] {
			w.registered[name][p] = true
			added = append(added, p)
		}
	}
	return Result{Registered: added}, nil
}

// loadReferenced loads every "db"."table" that sql names.
func (w *Warehouse) loadReferenced(ctx context.Context, sql string) error {
	code := mask(sql)
	for _, m := range qualifiedName.FindAllStringIndex(code, -1) {
		db, table, _ := strings.Cut(sql[m[0]:m[1]], ".")
		db, table = unquote(strings.TrimSpace(db)), unquote(strings.TrimSpace(table))
		if db != w.cat.Database {
			return fmt.Errorf("trinopg: table %s.%s is in database %q, the catalog is %q", db, table, db, w.cat.Database)
		}
		if err := w.load(ctx, table); err != nil {
			return err
		}
	}
	return nil
}

// load (re)creates a table from the objects at its location, unless they
// are what it was last loaded from.
func (w *Warehouse) load(ctx context.Context, name string) error {
	t, err := w.table(name)
	if err != nil {
		return err
	}
	s, prefix, err := w.where(ctx, t)
	if err != nil {
		return err
	}
	keys, err := dataObjects(ctx, s, prefix)
	if err != nil {
		return err
	}
	type object struct {
		key  string
		vals []string
		data []byte
	}
	var objs []object
	h := sha256.New()
	for _, k := range keys {
		var vals []string
		if len(t.PartitionKeys) > 0 {
			var p string
			p, vals, err = partitionOf(t, prefix, k)
			if err != nil {
				continue // not a partition folder: Athena skips it
			}
			// A projected table reads the partitions its projection
			// enumerates; any other only the registered ones.
			if t.RunScoped && !slices.Contains(tables.Letters(), vals[0]) || !t.RunScoped && !w.registered[name][p] {
				continue
			}
		}
		data, err := readAll(ctx, s, k)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", k, len(data))
		h.Write(data)
		objs = append(objs, object{k, vals, data})
	}
	var sum [32]byte
	h.Sum(sum[:0])
	if old, ok := w.loaded[name]; ok && old == sum {
		return nil
	}
	delete(w.loaded, name)

	id := pgx.Identifier{w.cat.Database, name}
	cols, defs, err := columnDefs(t)
	if err != nil {
		return err
	}
	if _, err := w.conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s; CREATE TABLE %s (%s)", id.Sanitize(), id.Sanitize(), strings.Join(defs, ", "))); err != nil {
		return fmt.Errorf("trinopg: create %s: %w", name, err)
	}
	for _, o := range objs {
		switch t.Format {
		case tables.CSV:
			err = copyCSV(ctx, w.conn, id, cols, t.SkipHeader, o.data)
		case tables.Parquet:
			err = copyParquet(ctx, w.conn, id, t, o.vals, o.data)
		default:
			err = fmt.Errorf("format %v", t.Format)
		}
		if err != nil {
			return fmt.Errorf("trinopg: load %s from %s: %w", name, o.key, err)
		}
	}
	if col, ok := w.cat.SpatialIndexes[name]; ok {
		c := pgx.Identifier{col}.Sanitize()
		// Unparsable WKT cannot be indexed: then the query, which parses
		// it too, reports it.
		if _, err := w.conn.Exec(ctx, fmt.Sprintf("CREATE INDEX ON %s USING gist (ST_GeometryFromText(%s)) WHERE %s <> ''", id.Sanitize(), c, c)); err != nil {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "XX000" {
				return fmt.Errorf("trinopg: index %s.%s: %w", name, col, err)
			}
		}
	}
	if _, err := w.conn.Exec(ctx, "ANALYZE "+id.Sanitize()); err != nil {
		return fmt.Errorf("trinopg: analyze %s: %w", name, err)
	}
	w.loaded[name] = sum
	return nil
}

func readAll(ctx context.Context, s blob.Store, key string) ([]byte, error) {
	rc, err := s.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("trinopg: open %s: %w", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("trinopg: read %s: %w", key, err)
	}
	return b, nil
}

// pgTypes maps the Glue column types the tables use to PostgreSQL's.
var pgTypes = map[string]string{"string": "text", "double": "double precision", "bigint": "bigint", "array<string>": "text[]"}

// columnDefs returns a table's column names (partition keys last) and
// their PostgreSQL definitions.
func columnDefs(t tables.Table) ([]string, []string, error) {
	var names, defs []string
	for _, c := range append(slices.Clone(t.Columns), t.PartitionKeys...) {
		typ, ok := pgTypes[c.Type]
		if !ok {
			return nil, nil, fmt.Errorf("trinopg: %s.%s has Glue type %s, which trinopg does not map", t.Name, c.Name, c.Type)
		}
		names = append(names, c.Name)
		defs = append(defs, pgx.Identifier{c.Name}.Sanitize()+" "+typ)
	}
	return names, defs, nil
}

// copyCSV loads one CSV object as OpenCSVSerde reads it: every field a
// string, an empty field an empty string, "" escaping a quote.
func copyCSV(ctx context.Context, conn *pgx.Conn, id pgx.Identifier, cols []string, header bool, data []byte) error {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	list := strings.Join(quoted, ", ")
	_, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(data), fmt.Sprintf(
		"COPY %s (%s) FROM STDIN WITH (FORMAT csv, HEADER %t, FORCE_NOT_NULL (%s))", id.Sanitize(), list, header, list))
	return err
}

// query runs sql and returns its columns and rows; fail() becomes a
// *FailError.
func (w *Warehouse) query(ctx context.Context, sql string) ([]pgconn.FieldDescription, [][]any, error) {
	rows, err := w.conn.Query(ctx, sql)
	if err != nil {
		return nil, nil, pgError(err)
	}
	defer rows.Close()
	fields := slices.Clone(rows.FieldDescriptions()) // pgx reuses its slice
	var out [][]any
	for rows.Next() {
		dest := make([]any, len(fields))
		for i, f := range fields {
			if dest[i], err = scanTarget(f.DataTypeOID); err != nil {
				return nil, nil, fmt.Errorf("trinopg: column %s: %w", f.Name, err)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, pgError(err)
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			if row[i], err = value(d); err != nil {
				return nil, nil, fmt.Errorf("trinopg: column %s: %w", fields[i].Name, err)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, pgError(err)
	}
	return fields, out, nil
}

// pgError turns fail()'s exception into a *FailError.
func pgError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "TRFAL" {
		return &FailError{Message: pe.Message}
	}
	return fmt.Errorf("trinopg: postgres: %w", err)
}
