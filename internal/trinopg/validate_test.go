package trinopg_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The rules of a valid input row (internal/validate) as the SQL applies
// them: each bad row fails its query with a message naming the row. They
// run as scenarios, so TestMutantsFail checks that the rules can fail.
func init() {
	scenarios = append(scenarios,
		scenario{"partition: a row that breaks a rule fails naming its UPRN and field", partitionRefusesBadRows},
		scenario{"partition: a byte-order mark at the start of an object is dropped", partitionSkipsBOM},
		scenario{"join: a ballot row that breaks a rule fails naming its election", joinRefusesBadBallots},
	)
}

// badAddressRows are AddressBase rows, each breaking one rule, with what
// the query's failure must say.
var badAddressRows = []struct{ row, want string }{
	{"-1001,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "uprn -1001: field uprn is not 1 to 12 digits or ONSPD-<postcode>"},
	{" 1001,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "uprn  1001: field uprn"},
	{"12345678901234567890,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "uprn 12345678901234567890: field uprn"},
	{"1e5,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D", "uprn 1e5: field uprn"},
	{"1001,X,M/14 1EC,SRID=4326;POINT(.1 51.1),D", "uprn 1001: field postcode M/14 1EC"},
	{"1001,X,M 9,SRID=4326;POINT(.1 51.1),D", "uprn 1001: field postcode M 9"},
	{"1001,X,M.. 1EC,SRID=4326;POINT(.1 51.1),D", "uprn 1001: field postcode M.. 1EC"},
	{"1001,X,ME14 1ec,SRID=4326;POINT(.1 51.1),D", "uprn 1001: field postcode ME14 1ec"},
	{"1001,X,ME14  1EC,SRID=4326;POINT(.1 51.1),D", "uprn 1001: field postcode ME14  1EC"},
	{"1001,X,AA1 1AA,SRID=4326;POINT(51.1 .1),D", "uprn 1001: field location SRID=4326;POINT(51.1 .1) is outside"},
	{"1001,X,AA1 1AA,SRID=4326;POINT(0 0),D", "uprn 1001: field location SRID=4326;POINT(0 0) is outside"},
	{"1001,X,AA1 1AA,SRID=4326;POINT(-1 95),D", "uprn 1001: field location SRID=4326;POINT(-1 95) is outside"},
	{"1001,X,AA1 1AA,SRID=4326;POINT(200 51),D", "uprn 1001: field location SRID=4326;POINT(200 51) is outside"},
	{"1001,X,AA1 1AA,SRID=4326;POINT(NaN 51),D", "uprn 1001: field location SRID=4326;POINT(NaN 51) is outside"},
}

func partitionRefusesBadRows(l *lake) error {
	if err := l.load("addressbase_run1.csv", "ballots.csv"); err != nil {
		return err
	}
	var errs []error
	for _, c := range badAddressRows {
		if err := l.put(raw, "part-1.csv", []byte(c.row+"\r\n")); err != nil {
			return err
		}
		_, _, err := l.partition()
		if err := wantErr(err, "GENERIC_USER_ERROR: addressbase: "+c.want); err != nil {
			errs = append(errs, fmt.Errorf("row %q: %w", c.row, err))
		}
	}
	// An ONSPD filler row is valid.
	if err := l.put(raw, "part-1.csv", []byte("ONSPD-AA11ZZ,,AA1 1ZZ,SRID=4326;POINT(.1 51.1),\r\n")); err != nil {
		return err
	}
	if _, _, err := l.partition(); err != nil {
		errs = append(errs, fmt.Errorf("an ONSPD filler row: %w", err))
	}
	return errors.Join(errs...)
}

func partitionSkipsBOM(l *lake) error {
	if err := l.load("addressbase_run1.csv", "ballots.csv"); err != nil {
		return err
	}
	if err := l.put(raw, "part-1.csv", []byte("\ufeff5001,BOM,AA1 1ZZ,SRID=4326;POINT(.1 51.1),D\r\n")); err != nil {
		return err
	}
	if err := l.addressBaseLayer(); err != nil {
		return err
	}
	return l.checkPartitioned([]any{"AA1", "5001", "BOM", "AA1 1ZZ", 0.1, 51.1, location(raw), "A"})
}

func joinRefusesBadBallots(l *lake) error {
	b, err := os.ReadFile(filepath.Join(fixtures, "ballots.csv"))
	if err != nil {
		return err
	}
	if err := l.load("addressbase_run1.csv", "ballots.csv"); err != nil {
		return err
	}
	if err := l.addressBaseLayer(); err != nil {
		return err
	}
	var errs []error
	for _, c := range []struct{ row, want string }{
		{`local.x.2026-05-07 ,9,"POLYGON((0 51,0.6 51,0.6 51.6,0 51))",Division`, "election local.x.2026-05-07  (division 9): field election_id"},
		{` local.x.2026-05-07,9,"POLYGON((0 51,0.6 51,0.6 51.6,0 51))",Division`, "election  local.x.2026-05-07 (division 9): field election_id"},
		{`local.x.2026-05-07,9,"POLYGON((51 0,51 0.6,51.6 0.6,51 0))",Division`, "election local.x.2026-05-07 (division 9): field geometry is outside"},
		{`local.x.2026-05-07,9,"POLYGON((0 0,1 0,1 1,0 0))",Organisation`, "election local.x.2026-05-07 (division 9): field geometry is outside"},
		{`local.x.2026-05-07,9,"POLYGON((0 51,0.6 51,0.6 95,0 51))",Division`, "election local.x.2026-05-07 (division 9): field geometry is outside"},
		{`local.x.2026-05-07,9,"POLYGON((0 51,200 51,0.6 51.6,0 51))",Division`, "election local.x.2026-05-07 (division 9): field geometry is outside"},
		{`local.x.2026-05-07,9,,Division`, "election local.x.2026-05-07 (division 9): field geometry is empty for a Division row"},
	} {
		if err := l.put(ballots, "current_elections.csv", append(append([]byte{}, b...), c.row+"\r\n"...)); err != nil {
			return err
		}
		_, err := l.joinLetters()
		if err := wantErr(err, "GENERIC_USER_ERROR: ballots: "+c.want); err != nil {
			errs = append(errs, fmt.Errorf("ballot row %q: %w", c.row, err))
		}
	}
	// A row without geometry (source_table None) is skipped, as before.
	if err := l.put(ballots, "current_elections.csv", []byte(string(b)+"local.none.2026-05-07,,,None\r\n")); err != nil {
		return err
	}
	if _, err := l.joinLetters(); err != nil {
		errs = append(errs, fmt.Errorf("a None row: %w", err))
	}
	return errors.Join(errs...)
}
