package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/status"
)

func init() {
	commands["lookup"] = command{summary: "show the baked answer for a postcode or UPRN, as the API projects read it", run: runLookup}
}

const lookupUsage = `Usage: databaker lookup <postcode | UPRN> [--out <dir> | --stack <env>] [--json]

Lookup answers from the baked per-outcode files exactly as the consumers
do: it takes the outcode from the postcode, reads that outcode's file, and
prints each address of the postcode with its UPRN and ballot IDs. A 0-row
file means no elections anywhere in the outcode. Layers baked beside
current_elections_parquet (such as current_boundary_reviews_parquet) are
shown too when their file exists.

A UPRN lookup searches every outcode file, so it needs --out.

Exit status: 0 with an answer (including "no elections"), 1 when the
outcode has no file or the postcode or UPRN is not in it, 2 for a bad
command line.

Examples:

	databaker lookup ME14 1AA                     # reads ./out, as baked by the quick start
	databaker lookup me141aa --out /tmp/baked --json
	databaker lookup 200003721901 --out ./out
	databaker lookup "ME14 1AA" --stack production  # the stack's S3 output (pulumi + AWS credentials)
`

// listLayer is one layer's per-outcode files, which lookup shows as a
// column; each layer declares its own (bake.Layer.Product).
type listLayer = bake.OutcodeFiles

// lookupLayers are the layers lookup shows, the primary one (the first
// layer with a product) first: its location is the one every command and
// stack output names.
var lookupLayers = products()

func products() []listLayer {
	var out []listLayer
	for _, l := range layers.Bake() {
		if l.Product != nil {
			out = append(out, *l.Product)
		}
	}
	return out
}

// lookupSource is where the layers' files are: a store and, per layer of
// lookupLayers, the key prefix of its folder.
type lookupSource struct {
	store    blob.Store
	prefixes []string
	name     func(key string) string // for messages: a path or s3:// URI
}

func (s lookupSource) key(layer int, outcode string) string {
	return s.prefixes[layer] + outcode + ".parquet"
}

func localSource(out string) lookupSource {
	src := lookupSource{store: blob.NewDir(out), name: func(k string) string { return filepath.Join(out, filepath.FromSlash(k)) }}
	for _, l := range lookupLayers {
		src.prefixes = append(src.prefixes, l.Dir+"/")
	}
	return src
}

// stackSource reads the stack's outputs as status does. A layer without its
// own output is looked for beside the primary layer's folder.
func stackSource(ctx context.Context, stack, pulumiDir string) (lookupSource, error) {
	runner, _, s3c, err := stackClients(ctx, pulumiDir)
	if err != nil {
		return lookupSource{}, stackHint(stack, err)
	}
	outs, err := status.ReadOutputs(ctx, runner, stack)
	if err != nil {
		return lookupSource{}, stackHint(stack, err)
	}
	locs := map[string]status.Location{}
	for _, l := range outs.Locations {
		locs[l.Output] = l
	}
	primary, ok := locs[lookupLayers[0].Output]
	if !ok {
		return lookupSource{}, fmt.Errorf("stack %s has no output %s (has it been deployed?)", stack, lookupLayers[0].Output)
	}
	root := path.Dir(strings.TrimSuffix(primary.Prefix, "/")) + "/"
	if root == "./" {
		root = ""
	}
	src := lookupSource{store: blob.NewS3(s3c, primary.Bucket), name: func(k string) string { return "s3://" + primary.Bucket + "/" + k }}
	for _, l := range lookupLayers {
		p := root + l.Dir + "/"
		if loc, ok := locs[l.Output]; ok && loc.Bucket == primary.Bucket {
			p = loc.Prefix
		}
		src.prefixes = append(src.prefixes, p)
	}
	return src, nil
}

// listRow is one address of an outcode file, with the layer's list.
type listRow struct {
	UPRN, Address, Postcode string
	List                    []string
}

// readListFile reads every row of one outcode file, projecting the
// contract's columns and the layer's list column with parquet-go. A 0-row
// file (also upstream's 0-column one) gives no rows. A missing file's error
// satisfies blob.NotFound.
func readListFile(ctx context.Context, store blob.Store, key, column string) ([]listRow, error) {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("open parquet %s: %w", key, err)
	}
	if f.NumRows() == 0 {
		return nil, nil
	}
	cols := []string{"uprn", "address", "postcode", column}
	for _, c := range cols {
		if !slices.ContainsFunc(f.Schema().Fields(), func(fl parquet.Field) bool { return fl.Name() == c }) {
			return nil, fmt.Errorf("%s: no column %q", key, c)
		}
	}
	r := parquet.NewReader(f, parquet.NewSchema("lookup", parquet.Group{
		"uprn": parquet.String(), "address": parquet.String(), "postcode": parquet.String(), column: parquet.List(parquet.String()),
	}))
	defer r.Close()
	rows := make([]listRow, 0, f.NumRows())
	for {
		m := map[string]any{}
		if err := r.Read(&m); errors.Is(err, io.EOF) {
			return rows, nil
		} else if err != nil {
			return nil, fmt.Errorf("read parquet %s row %d: %w", key, len(rows)+1, err)
		}
		row := listRow{List: []string{}}
		row.UPRN, _ = m["uprn"].(string)
		row.Address, _ = m["address"].(string)
		row.Postcode, _ = m["postcode"].(string)
		items, _ := m[column].([]any)
		for _, it := range items {
			s, _ := it.(string)
			row.List = append(row.List, s)
		}
		rows = append(rows, row)
	}
}

var (
	postcodeRE = regexp.MustCompile(`^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$`)
	uprnRE     = regexp.MustCompile(`^[0-9]{1,12}$`)
)

// parsePostcode accepts any case and spacing ("me141aa", "ME14  1AA") and
// returns the contract's form, "ME14 1AA", and its outcode.
func parsePostcode(s string) (postcode, outcode string, ok bool) {
	m := postcodeRE.FindStringSubmatch(strings.ToUpper(strings.Join(strings.Fields(s), "")))
	if m == nil {
		return "", "", false
	}
	return m[1] + " " + m[2], m[1], true
}

// lookupResult is the answer; it is also the --json output.
type lookupResult struct {
	Postcode  string          `json:"postcode"`
	Outcode   string          `json:"outcode"`
	Files     []lookupFile    `json:"files"`
	Addresses []lookupAddress `json:"addresses"`
	layers    []listLayer     // the layers in Files, in order
}

// lookupFile is one layer's file for the outcode.
type lookupFile struct {
	Column   string `json:"column"`
	Location string `json:"location"`
	Rows     int    `json:"rows"` // 0: nothing in the outcode (e.g. no elections)
}

// lookupAddress is one address; Lists holds each shown layer's list.
type lookupAddress struct {
	UPRN, Address, Postcode string
	Lists                   map[string][]string
	columns                 []string
}

// MarshalJSON keeps the keys in a reader's order: uprn, address, postcode,
// then the layers' columns.
func (a lookupAddress) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{")
	for i, kv := range append([][2]any{{"uprn", a.UPRN}, {"address", a.Address}, {"postcode", a.Postcode}}, a.listPairs()...) {
		if i > 0 {
			b.WriteString(",")
		}
		k, _ := json.Marshal(kv[0])
		v, err := json.Marshal(kv[1])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteString(":")
		b.Write(v)
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

func (a lookupAddress) listPairs() [][2]any {
	var kv [][2]any
	for _, c := range a.columns {
		kv = append(kv, [2]any{c, a.Lists[c]})
	}
	return kv
}

// lookup answers for postcode (and, when uprn is not "", only that
// address) from every layer whose file exists.
func lookup(ctx context.Context, src lookupSource, postcode, outcode, uprn string) (lookupResult, error) {
	res := lookupResult{Postcode: postcode, Outcode: outcode, Files: []lookupFile{}, Addresses: []lookupAddress{}}
	byUPRN := map[string]int{}
	var columns []string
	for i, l := range lookupLayers {
		key := src.key(i, outcode)
		rows, err := readListFile(ctx, src.store, key, l.Column)
		if blob.NotFound(err) && !l.Required {
			continue
		}
		if blob.NotFound(err) {
			return res, fmt.Errorf("no file for outcode %s: %s does not exist (the outcode is not in AddressBase, or that folder is not a bake output)", outcode, src.name(key))
		}
		if err != nil {
			return res, err
		}
		res.layers = append(res.layers, l)
		res.Files = append(res.Files, lookupFile{Column: l.Column, Location: src.name(key), Rows: len(rows)})
		columns = append(columns, l.Column)
		for _, r := range rows {
			if r.Postcode != postcode || (uprn != "" && r.UPRN != uprn) {
				continue
			}
			j, ok := byUPRN[r.UPRN]
			if !ok {
				j = len(res.Addresses)
				byUPRN[r.UPRN] = j
				res.Addresses = append(res.Addresses, lookupAddress{UPRN: r.UPRN, Address: r.Address, Postcode: r.Postcode, Lists: map[string][]string{}})
			}
			res.Addresses[j].Lists[l.Column] = r.List
		}
	}
	for i := range res.Addresses {
		a := &res.Addresses[i]
		a.columns = columns
		for _, f := range res.Files {
			if a.Lists[f.Column] == nil && f.Rows == 0 {
				a.Lists[f.Column] = []string{} // a 0-row file: nothing here
			}
		}
	}
	if len(res.Addresses) == 0 && slices.ContainsFunc(res.Files, func(f lookupFile) bool { return f.Rows > 0 }) {
		what := "postcode " + postcode
		if uprn != "" {
			what = "UPRN " + uprn
		}
		return res, fmt.Errorf("%s is not in %s, which holds every address of outcode %s: check the postcode", what, res.Files[0].Location, outcode)
	}
	return res, nil
}

// findUPRN returns the postcode of uprn by searching the primary layer's
// outcode files. Addresses of an outcode without elections are in no file.
func findUPRN(ctx context.Context, src lookupSource, uprn string) (string, error) {
	objs, err := src.store.List(ctx, src.prefixes[0])
	if err != nil {
		return "", err
	}
	files := 0
	for _, o := range objs {
		name := strings.TrimPrefix(o.Key, src.prefixes[0])
		if strings.Contains(name, "/") || !strings.HasSuffix(name, ".parquet") {
			continue
		}
		files++
		rows, err := readListFile(ctx, src.store, o.Key, lookupLayers[0].Column)
		if err != nil {
			return "", err
		}
		if i := slices.IndexFunc(rows, func(r listRow) bool { return r.UPRN == uprn }); i >= 0 {
			return rows[i].Postcode, nil
		}
	}
	if files == 0 {
		return "", fmt.Errorf("no outcode files in %s: is --out a bake output?", src.name(src.prefixes[0]))
	}
	return "", fmt.Errorf("UPRN %s is in none of the %d outcode files in %s: it is not in AddressBase, or its outcode has no elections (a 0-row file)",
		uprn, files, src.name(src.prefixes[0]))
}

func runLookup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("lookup", lookupUsage, stderr)
	var out, stack, pulumiDir string
	var asJSON bool
	fs.StringVar(&out, "out", "", "a bake's output `dir` (default ./out)")
	fs.StringVar(&stack, "stack", "", "read the deployed Pulumi `stack`'s S3 output instead (needs pulumi and AWS credentials)")
	fs.StringVar(&pulumiDir, "pulumi-dir", ".", "`dir`ectory of the Pulumi project (Pulumi.yaml), with --stack")
	fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	q, err := lookupQuery(pos, out, stack)
	if err != nil {
		return err
	}
	var src lookupSource
	if stack != "" {
		if src, err = stackSource(ctx, stack, pulumiDir); err != nil {
			return err
		}
	} else {
		dir := cmp.Or(out, "out")
		if _, err := os.Stat(filepath.Join(dir, lookupLayers[0].Dir)); err != nil {
			return fmt.Errorf("no bake output in %s (%w): bake one with 'databaker bake ... --out %s', or give --out or --stack", dir, err, dir)
		}
		src = localSource(dir)
	}
	postcode, outcode, uprn := q.postcode, q.outcode, q.uprn
	if uprn != "" {
		if postcode, err = findUPRN(ctx, src, uprn); err != nil {
			return err
		}
		outcode, _, _ = strings.Cut(postcode, " ")
	}
	res, err := lookup(ctx, src, postcode, outcode, uprn)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
		return nil
	}
	return writeLookup(stdout, res)
}

type lookupQ struct{ postcode, outcode, uprn string }

// lookupQuery checks the command line: one postcode (its two halves may
// come as two arguments) or one UPRN, and at most one of --out and --stack.
func lookupQuery(pos []string, out, stack string) (lookupQ, error) {
	if out != "" && stack != "" {
		return lookupQ{}, usagef("give --out or --stack, not both")
	}
	arg := strings.Join(pos, " ")
	switch {
	case arg == "":
		return lookupQ{}, usagef("a postcode or UPRN is required, e.g. databaker lookup ME14 1AA")
	case uprnRE.MatchString(arg):
		if stack != "" {
			return lookupQ{}, usagef("a UPRN lookup searches every outcode file, so it needs a local bake (--out), not --stack; look up the address's postcode instead")
		}
		return lookupQ{uprn: arg}, nil
	}
	postcode, outcode, ok := parsePostcode(arg)
	if !ok {
		return lookupQ{}, usagef("%q is not a UK postcode (like ME14 1AA: outcode, then digit and two letters) or a UPRN (1 to 12 digits)", arg)
	}
	return lookupQ{postcode: postcode, outcode: outcode}, nil
}

// writeLookup prints the answer as an aligned table, or one sentence per
// layer whose file is empty when no address can be shown.
func writeLookup(w io.Writer, res lookupResult) error {
	var b strings.Builder
	if len(res.Addresses) == 0 {
		for i, f := range res.Files {
			fmt.Fprintf(&b, "%s in %s (%s is empty)\n", res.layers[i].None, res.Outcode, f.Location)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	noun := "addresses"
	if len(res.Addresses) == 1 {
		noun = "address"
	}
	fmt.Fprintf(&b, "%s: %d %s, from %s\n\n", res.Postcode, len(res.Addresses), noun, res.Files[0].Location)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "UPRN\tADDRESS")
	for _, l := range res.layers {
		fmt.Fprint(tw, "\t"+l.Heading)
	}
	fmt.Fprintln(tw)
	for _, a := range res.Addresses {
		fmt.Fprintf(tw, "%s\t%s", a.UPRN, a.Address)
		for _, l := range res.layers {
			cell := "-"
			if list := a.Lists[l.Column]; len(list) > 0 && l.Cell != nil {
				cell = l.Cell(list)
			} else if len(list) > 0 {
				cell = strings.Join(list, ", ")
			}
			fmt.Fprint(tw, "\t"+cell)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("format addresses: %w", err)
	}
	for i, f := range res.Files {
		if f.Rows == 0 {
			fmt.Fprintf(&b, "\n%s in %s (%s is empty)\n", res.layers[i].None, res.Outcode, f.Location)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
