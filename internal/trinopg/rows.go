package trinopg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

var qualifiedName = regexp.MustCompile(`"[^"]*"\s*\.\s*"[^"]*"`)

// scanTarget returns where to scan a result column of type oid.
func scanTarget(oid uint32) (any, error) {
	switch oid {
	case pgtype.TextOID, pgtype.VarcharOID:
		return new(*string), nil
	case pgtype.Float8OID:
		return new(*float64), nil
	case pgtype.Int8OID, pgtype.Int4OID, pgtype.NumericOID:
		return new(*int64), nil
	case pgtype.BoolOID:
		return new(*bool), nil
	case pgtype.TextArrayOID, pgtype.VarcharArrayOID:
		return new([]*string), nil
	}
	return nil, fmt.Errorf("result type OID %d is not supported", oid)
}

// value turns a scanned target into string, float64, int64, bool,
// []string or nil.
func value(d any) (any, error) {
	switch p := d.(type) {
	case **string:
		return deref(*p), nil
	case **float64:
		return deref(*p), nil
	case **int64:
		return deref(*p), nil
	case **bool:
		return deref(*p), nil
	case *[]*string:
		if *p == nil {
			return nil, nil
		}
		out := make([]string, len(*p))
		for i, s := range *p {
			if s == nil {
				return nil, fmt.Errorf("array element %d is NULL, which an array<string> column of this project cannot hold", i+1)
			}
			out[i] = *s
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected scan target %T", d)
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// goTypes are the parquet columns trinopg reads and writes: optional
// scalars (pointers) and a LIST of strings, as Athena's UNLOAD writes them.
var goTypes = map[string]reflect.Type{
	"string":        reflect.TypeFor[*string](),
	"double":        reflect.TypeFor[*float64](),
	"bigint":        reflect.TypeFor[*int64](),
	"boolean":       reflect.TypeFor[*bool](),
	"array<string>": reflect.TypeFor[[]string](),
}

// rowType builds a struct type with one parquet column per name, in order.
func rowType(names, glueTypes []string) (reflect.Type, error) {
	fields := make([]reflect.StructField, len(names))
	for i, n := range names {
		typ, ok := goTypes[glueTypes[i]]
		if !ok {
			return nil, fmt.Errorf("column %s: type %s is not supported", n, glueTypes[i])
		}
		tag := n
		if typ.Kind() == reflect.Slice {
			tag += ",list"
		}
		fields[i] = reflect.StructField{Name: fmt.Sprintf("C%d", i), Type: typ, Tag: reflect.StructTag(`parquet:"` + tag + `"`)}
	}
	return reflect.StructOf(fields), nil
}

// copyParquet loads one parquet object's rows, with the partition values
// of its folder, reading columns by name.
func copyParquet(ctx context.Context, conn *pgx.Conn, id pgx.Identifier, t tables.Table, partVals []string, data []byte) error {
	var names, types []string
	for _, c := range t.Columns {
		names, types = append(names, c.Name), append(types, c.Type)
	}
	typ, err := rowType(names, types)
	if err != nil {
		return err
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("open parquet: %w", err)
	}
	r := parquet.NewReader(f, parquet.SchemaOf(reflect.New(typ).Interface()))
	defer r.Close()
	var rows [][]any
	for {
		row := reflect.New(typ)
		if err := r.Read(row.Interface()); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("read parquet row %d: %w", len(rows)+1, err)
		}
		vals := make([]any, 0, len(names)+len(partVals))
		for i := range names {
			vals = append(vals, row.Elem().Field(i).Interface())
		}
		for _, v := range partVals {
			vals = append(vals, v)
		}
		rows = append(rows, vals)
	}
	cols := append(slices.Clone(names), partitionNames(t)...)
	_, err = conn.CopyFrom(ctx, id, cols, pgx.CopyFromRows(rows))
	return err
}

func partitionNames(t tables.Table) []string {
	var out []string
	for _, k := range t.PartitionKeys {
		out = append(out, k.Name)
	}
	return out
}

// glueTypeOf names a result value's type as Glue would.
func glueTypeOf(oid uint32) (string, error) {
	switch oid {
	case pgtype.TextOID, pgtype.VarcharOID:
		return "string", nil
	case pgtype.Float8OID:
		return "double", nil
	case pgtype.Int8OID, pgtype.Int4OID:
		return "bigint", nil
	case pgtype.BoolOID:
		return "boolean", nil
	case pgtype.TextArrayOID, pgtype.VarcharArrayOID:
		return "array<string>", nil
	}
	return "", fmt.Errorf("UNLOAD of a column of type OID %d is not supported", oid)
}

// runUnload runs an UNLOAD: the query's rows become parquet files under
// the location, one per partition.
func (w *Warehouse) runUnload(ctx context.Context, st Statement) (Result, error) {
	s, prefix, err := w.store(st.Location)
	if err != nil {
		return Result{}, err
	}
	if existing, err := s.List(ctx, prefix); err != nil {
		return Result{}, fmt.Errorf("trinopg: list %s: %w", st.Location, err)
	} else if len(existing) > 0 {
		return Result{}, fmt.Errorf("HIVE_PATH_ALREADY_EXISTS: UNLOAD target %s is not empty (%s)", st.Location, existing[0].Key)
	}
	if err := w.loadReferenced(ctx, st.SQL); err != nil {
		return Result{}, err
	}
	fields, all, err := w.query(ctx, st.SQL)
	if err != nil {
		return Result{}, err
	}
	n := len(fields) - len(st.PartitionedBy)
	for i, p := range st.PartitionedBy {
		if n < 1 || fields[n+i].Name != p {
			return Result{}, fmt.Errorf("HIVE_COLUMN_ORDER_MISMATCH: partition column %s must be column %d of %d in the UNLOAD query", p, n+i+1, len(fields))
		}
	}
	names, types := make([]string, n), make([]string, n)
	for i, f := range fields[:n] {
		names[i] = f.Name
		if types[i], err = glueTypeOf(f.DataTypeOID); err != nil {
			return Result{}, fmt.Errorf("trinopg: column %s: %w", f.Name, err)
		}
	}
	typ, err := rowType(names, types)
	if err != nil {
		return Result{}, fmt.Errorf("trinopg: %w", err)
	}
	// Group rows by partition folder, keeping the query's order in each.
	groups := map[string][]reflect.Value{}
	var order []string
	for _, r := range all {
		var dir strings.Builder
		for i, p := range st.PartitionedBy {
			v, ok := r[n+i].(string)
			if !ok {
				return Result{}, fmt.Errorf("trinopg: partition column %s is %v, not a string", p, r[n+i])
			}
			dir.WriteString(p + "=" + v + "/")
		}
		row := reflect.New(typ).Elem()
		for i := range n {
			if err := setField(row.Field(i), r[i]); err != nil {
				return Result{}, fmt.Errorf("trinopg: column %s: %w", names[i], err)
			}
		}
		if _, ok := groups[dir.String()]; !ok {
			order = append(order, dir.String())
		}
		groups[dir.String()] = append(groups[dir.String()], row)
	}
	w.unload++
	var res Result
	for _, dir := range order {
		var buf bytes.Buffer
		pw := parquet.NewWriter(&buf, parquet.SchemaOf(reflect.New(typ).Interface()), parquet.Compression(&parquet.Snappy))
		for _, row := range groups[dir] {
			if err := pw.Write(row.Addr().Interface()); err != nil {
				return Result{}, fmt.Errorf("trinopg: encode %s%s: %w", st.Location, dir, err)
			}
		}
		if err := pw.Close(); err != nil {
			return Result{}, fmt.Errorf("trinopg: encode %s%s: %w", st.Location, dir, err)
		}
		key := fmt.Sprintf("%s%sunload-%05d.parquet", prefix, dir, w.unload)
		if _, err := s.Put(ctx, key, buf.Bytes()); err != nil {
			return Result{}, fmt.Errorf("trinopg: write %s: %w", key, err)
		}
		res.Written = append(res.Written, key)
	}
	return res, nil
}

// setField stores v (as value returns it) in a rowType field.
func setField(f reflect.Value, v any) error {
	if v == nil {
		if f.Kind() == reflect.Slice {
			// parquet-go would write an empty list: refuse rather than
			// turn Athena's NULL into [].
			return errors.New("NULL array: trinopg writes arrays as a LIST of strings and cannot keep a NULL apart from []")
		}
		return nil // a nil pointer: NULL
	}
	rv := reflect.ValueOf(v)
	switch {
	case f.Kind() == reflect.Pointer && rv.Type() == f.Type().Elem():
		p := reflect.New(rv.Type())
		p.Elem().Set(rv)
		f.Set(p)
	case rv.Type() == f.Type():
		f.Set(rv)
	default:
		return fmt.Errorf("value %T does not fit %s", v, f.Type())
	}
	return nil
}
