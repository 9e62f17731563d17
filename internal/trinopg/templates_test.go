package trinopg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// joinedRow is one row of current_ballots_joined_to_address_base as the
// warehouse reads it back.
type joinedRow struct {
	UPRN, Address, Postcode, Source string
	Ballots                         []string
	Letter                          string
}

func (l *lake) joinedRows() ([]joinedRow, error) {
	res, err := l.w.Exec(context.Background(), fmt.Sprintf(
		`SELECT uprn, address, postcode, addressbase_source, ballot_ids, first_letter FROM "%s"."%s"`, database, joined.Name))
	if err != nil {
		return nil, err
	}
	out := make([]joinedRow, len(res.Rows))
	for i, r := range res.Rows {
		ids, _ := r[4].([]string)
		if r[4] == nil {
			return nil, fmt.Errorf("uprn %v: ballot_ids is NULL", r[0])
		}
		out[i] = joinedRow{r[0].(string), r[1].(string), r[2].(string), r[3].(string), ids, r[5].(string)}
	}
	slices.SortFunc(out, func(a, b joinedRow) int {
		return strings.Compare(a.UPRN+"\x00"+a.Postcode, b.UPRN+"\x00"+b.Postcode)
	})
	return out, nil
}

// wantJoined is the hand-worked join of a want_run*.json file.
func wantJoined(name string) ([]joinedRow, error) {
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		return nil, err
	}
	var byOutcode map[string][]struct {
		UPRN, Postcode, Address string
		BallotIDs               []string `json:"ballot_ids"`
	}
	if err := json.Unmarshal(b, &byOutcode); err != nil {
		return nil, err
	}
	var out []joinedRow
	for _, rows := range byOutcode {
		for _, r := range rows {
			out = append(out, joinedRow{r.UPRN, r.Address, r.Postcode, location(raw), r.BallotIDs, r.Postcode[:1]})
		}
	}
	// Outcodes with an empty file have addresses in no ballot's area.
	for _, r := range []joinedRow{
		{"2001", "NOWHERE ONE", "BB1 1BB", location(raw), []string{}, "B"},
		{"ONSPD-BB11BC", "", "BB1 1BC", location(raw), []string{}, "B"},
	} {
		if !slices.ContainsFunc(out, func(o joinedRow) bool { return o.UPRN == r.UPRN }) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b joinedRow) int {
		return strings.Compare(a.UPRN+"\x00"+a.Postcode, b.UPRN+"\x00"+b.Postcode)
	})
	return out, nil
}

// checkJoined compares the joined table with a want_run*.json file.
func (l *lake) checkJoined(wantFile string) error {
	rows, err := l.joinedRows()
	if err != nil {
		return err
	}
	want, err := wantJoined(wantFile)
	if err != nil {
		return err
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		return fmt.Errorf("joined table (-want +got):\n%s", diff)
	}
	return nil
}

// checkPartitioned compares the addressbase_partitioned row of want's UPRN
// (its second column) with want.
func (l *lake) checkPartitioned(want []any) error {
	res, err := l.w.Exec(context.Background(), fmt.Sprintf(
		`SELECT outcode, uprn, address, postcode, longitude, latitude, addressbase_source, first_letter FROM "%s"."%s" WHERE uprn = '%s'`,
		database, parts.Name, want[1]))
	if err != nil {
		return err
	}
	if diff := cmp.Diff([][]any{want}, res.Rows); diff != "" {
		return fmt.Errorf("addressbase_partitioned rows of %s (-want +got):\n%s", want[1], diff)
	}
	return nil
}

// replaceLetter swaps the parquet files of one letter of a table for rows.
func replaceLetter[T any](l *lake, t tables.Table, letter string, rows []T) error {
	ctx := context.Background()
	dir := l.keyPrefix(t) + "first_letter=" + letter + "/"
	objs, err := l.ab.List(ctx, dir)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := l.ab.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		return err
	}
	_, err = l.ab.Put(ctx, dir+"planted.parquet", buf.Bytes())
	return err
}

// wantErr checks err is a failure whose message holds want.
func wantErr(err error, want string) error {
	if err == nil {
		return fmt.Errorf("no error, want one with %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		return fmt.Errorf("error %q, want one with %q", err, want)
	}
	return nil
}

// scenario is one check of the templates on the fixtures: it returns
// what is wrong, or nil.
type scenario struct {
	name  string
	check func(l *lake) error
}

// scenarios execute every template on the hand-worked fixtures: the good
// runs give the hand-worked rows and pass every gate, and each gate fails
// with its own message on a planted mismatch.
var scenarios = []scenario{
	{"both layers on the fixtures give the hand-worked rows", func(l *lake) error {
		if err := l.load("addressbase_run1.csv", "ballots.csv"); err != nil {
			return err
		}
		if err := l.addressBaseLayer(); err != nil {
			return err
		}
		if err := l.checkPartitioned([]any{"AA1", "1010", "10 HIGH STREET, ALPHA", "AA1 1AA", 0.15, 51.15, location(raw), "A"}); err != nil {
			return err
		}
		if err := l.currentElectionsLayer(); err != nil {
			return err
		}
		return l.checkJoined("want_run1.json")
	}},
	{"a ballot piece exported twice gives each ballot once", func(l *lake) error {
		b, err := os.ReadFile(filepath.Join(fixtures, "ballots.csv"))
		if err != nil {
			return err
		}
		lines := strings.SplitAfter(string(b), "\n")
		if err := l.load("addressbase_run1.csv", "ballots.csv"); err != nil {
			return err
		}
		if err := l.put(ballots, "current_elections.csv", []byte(strings.Join(append(lines, lines[2]), ""))); err != nil {
			return err
		}
		if err := l.addressBaseLayer(); err != nil {
			return err
		}
		if err := l.currentElectionsLayer(); err != nil {
			return err
		}
		return l.checkJoined("want_run1.json")
	}},
	{"partition: an unparsable location fails naming the UPRN", func(l *lake) error {
		if err := l.load("addressbase_run1.csv", "ballots.csv"); err != nil {
			return err
		}
		if err := l.put(raw, "part-1.csv", []byte("4001,BAD,DD1 1DD,SRID=4326;POINT(1 2 3),D\r\n")); err != nil {
			return err
		}
		_, _, err := l.partition()
		if err := wantErr(err, "GENERIC_USER_ERROR: addressbase: uprn 4001 has an unparsable location SRID=4326;POINT(1 2 3)"); err != nil {
			return err
		}
		// A point in another reference system is unparsable too.
		if err := l.put(raw, "part-1.csv", []byte("4002,BNG,DD1 1DD,SRID=27700;POINT(500000 200000),D\r\n")); err != nil {
			return err
		}
		_, _, err = l.partition()
		return wantErr(err, "GENERIC_USER_ERROR: addressbase: uprn 4002 has an unparsable location SRID=27700;POINT(500000 200000)")
	}},
	{"a one-letter postcode area is partitioned under its letter", func(l *lake) error {
		if err := l.load("addressbase_run1.csv", "ballots.csv"); err != nil {
			return err
		}
		if err := l.put(raw, "part-1.csv", []byte("5001,ONE LETTER AREA,N1 9GU,SRID=4326;POINT(-.1 51.5),D\r\n")); err != nil {
			return err
		}
		if err := l.addressBaseLayer(); err != nil {
			return err
		}
		return l.checkPartitioned([]any{"N1", "5001", "ONE LETTER AREA", "N1 9GU", -0.1, 51.5, location(raw), "N"})
	}},
	{"addressbase gates: a second source and a swapped UPRN", func(l *lake) error {
		if err := l.load("addressbase_run1.csv", "ballots.csv"); err != nil {
			return err
		}
		if err := l.addressBaseLayer(); err != nil {
			return err
		}
		// Same row count and distinct count: only the checksum differs.
		if err := replaceLetter(l, parts, "C", []addressbase.Row{{Outcode: "CC1", UPRN: "3002", Postcode: "CC1 1CC", Longitude: .5, Latitude: 51.5, AddressbaseSource: "s3://elsewhere/"}}); err != nil {
			return err
		}
		return errors.Join(
			wantErr(l.gate(addressbase.QueryGateOneSource), "GENERIC_USER_ERROR: addressbase_partitioned_staging has 2 distinct addressbase_source values, want exactly 1"),
			wantErr(l.gate(addressbase.QueryGateUPRNs), "GENERIC_USER_ERROR: UPRN gate: addressbase_cleaned_raw rows=13 distinct=13 checksum="),
		)
	}},
	{"joined gates: a second source and a swapped UPRN", func(l *lake) error {
		if err := l.load("addressbase_run1.csv", "ballots.csv"); err != nil {
			return err
		}
		if err := l.addressBaseLayer(); err != nil {
			return err
		}
		if err := l.currentElectionsLayer(); err != nil {
			return err
		}
		if err := replaceLetter(l, joined, "C", []outcodes.Row{{UPRN: "3002", Postcode: "CC1 1CC", AddressbaseSource: "s3://elsewhere/", BallotIDs: []string{}}}); err != nil {
			return err
		}
		return errors.Join(
			wantErr(l.gate(currentelections.QueryGateOneSource), "GENERIC_USER_ERROR: current_ballots_joined_to_address_base_staging has 2 distinct addressbase_source values, want exactly 1"),
			wantErr(l.gate(currentelections.QueryGateUPRNs), "GENERIC_USER_ERROR: UPRN gate: addressbase_partitioned rows=13 distinct=13 checksum="),
			wantErr(l.gate(currentelections.QueryGateRawUPRNs), "GENERIC_USER_ERROR: UPRN gate: addressbase_cleaned_raw rows=13 distinct=13 checksum="),
		)
	}},
	{"raw gate: AddressBase changed after the partition run", func(l *lake) error {
		if err := l.load("addressbase_run1.csv", "ballots.csv"); err != nil {
			return err
		}
		if err := l.addressBaseLayer(); err != nil {
			return err
		}
		if err := l.put(raw, "part-1.csv", []byte("4001,NEW,DD1 1DD,SRID=4326;POINT(.1 51.1),D\r\n")); err != nil {
			return err
		}
		if _, err := l.joinLetters(); err != nil {
			return err
		}
		return errors.Join(
			l.gate(currentelections.QueryGateUPRNs), // partitioned and joined agree
			wantErr(l.gate(currentelections.QueryGateRawUPRNs), "GENERIC_USER_ERROR: UPRN gate: addressbase_cleaned_raw rows=14 distinct=14 checksum="),
		)
	}},
	{"conflicts gate: one UPRN under two first letters", func(l *lake) error {
		if err := l.load("addressbase_dup_two_letters.csv", "ballots.csv"); err != nil {
			return err
		}
		if err := l.addressBaseLayer(); err != nil {
			return err
		}
		if _, err := l.joinLetters(); err != nil {
			return err
		}
		return wantErr(l.gate(currentelections.QueryGateConflicts),
			"GENERIC_USER_ERROR: 1 uprns in current_ballots_joined_to_address_base_staging have conflicting duplicate rows, e.g. 1001")
	}},
}

// runScenarios runs every scenario on its own lake in one database, with
// sources replacing sql/ templates, and returns what went wrong.
func runScenarios(t testing.TB, sources map[string]string) error {
	dsn := newDatabase(t)
	var errs []error
	for _, sc := range scenarios {
		l := newLake(t, dsn)
		l.sources = sources
		if err := sc.check(l); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sc.name, err))
		}
	}
	return errors.Join(errs...)
}

func TestTemplatesOnFixtures(t *testing.T) {
	t.Parallel()
	if err := runScenarios(t, nil); err != nil {
		t.Fatal(err)
	}
}
