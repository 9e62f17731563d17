// Package tables is the model of a Glue table as a plain Go value: name,
// location, format, columns, partition keys and the named query that
// populates it. Each layer's package declares its own tables with it; the
// Pulumi component turns them into resources. Nothing here depends on
// Pulumi or AWS.
package tables

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Format is a table's storage format.
type Format int

const (
	CSV Format = iota + 1
	Parquet
)

func (f Format) String() string {
	switch f {
	case CSV:
		return "CSV"
	case Parquet:
		return "PARQUET"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Column is one Glue column; Type is a Hive type such as string or array<string>.
type Column struct {
	Name    string
	Type    string
	Comment string
}

// Table declares one Glue table.
type Table struct {
	Name        string
	Description string
	Bucket      string
	// Prefix is the key prefix under Bucket, ending in "/". It may name
	// {environment} and {release}, filled by Location.
	Prefix        string
	Format        Format
	Columns       []Column
	PartitionKeys []Column
	// SkipHeader is true only when the CSV files have a header line: the
	// AddressBase CSV has none, and skipping would drop one address per object.
	SkipHeader bool
	// Query is the named query that populates the table.
	Query string
}

// Vars are the values a prefix may name.
type Vars struct {
	Environment string
	Release     string
	// BallotsPrefix is where the ballots CSV lives in the EE bucket; a
	// development stack uses its own, so it never overwrites production's.
	BallotsPrefix string
}

var prefixVar = regexp.MustCompile(`\{([a-z_]+)\}`)

// KeyPrefix returns the prefix with its variables filled. An unknown or empty
// variable is an error.
func (t Table) KeyPrefix(v Vars) (string, error) {
	values := map[string]string{"environment": v.Environment, "release": v.Release, "ballots_prefix": strings.TrimSuffix(v.BallotsPrefix, "/")}
	var err error
	p := prefixVar.ReplaceAllStringFunc(t.Prefix, func(m string) string {
		name := m[1 : len(m)-1]
		val, ok := values[name]
		if !ok || val == "" {
			err = fmt.Errorf("table %s: prefix %q names {%s}, which has no value", t.Name, t.Prefix, name)
		}
		return val
	})
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(p, "/") || strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("table %s: prefix %q must be relative and end in /", t.Name, p)
	}
	return p, nil
}

// Location returns the table's s3://bucket/prefix/ URI.
func (t Table) Location(v Vars) (string, error) {
	p, err := t.KeyPrefix(v)
	if err != nil {
		return "", err
	}
	return "s3://" + t.Bucket + "/" + p, nil
}

// Buckets names the buckets the tables live in. The project owns neither.
type Buckets struct {
	AddressBase string // pollingstations.private.data
	EE          string // ee.data-cache.production
}

// String is a string column.
func String(name string) Column { return Column{Name: name, Type: "string"} }

// FirstLetter is the partition key of the tables split by the first
// character of the postcode.
var FirstLetter = []Column{{Name: "first_letter", Type: "string", Comment: "first character of the postcode"}}

// HiddenKey is where a writer stages an object before copying it over key:
// the same folder, under a name that starts with a dot, because Athena (and
// Hive) skip objects whose names start with "." or "_", so a query over the
// table never sees a half-published copy.
func HiddenKey(key, runID string) string {
	dir, base := path.Split(key)
	return dir + "." + base + ".tmp-" + runID
}
