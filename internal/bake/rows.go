package bake

import (
	"github.com/paulmach/orb"

	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

func orbPoint(lon, lat float64) orb.Point { return orb.Point{lon, lat} }

// joinedRow is the joined table's row for address a; ids is sorted,
// distinct and non-nil.
func joinedRow(a *AddressRow, ids []string) outcodes.Row {
	return outcodes.Row{
		UPRN:              a.UPRN,
		Address:           a.Address,
		Postcode:          a.Postcode,
		AddressbaseSource: a.AddressbaseSource,
		BallotIDs:         ids,
	}
}

// addSplit adds one letter's Split result to the summary.
func addSplit(sum *Summary, r outcodes.Result) {
	sum.Written += r.Written
	sum.Unchanged += r.Unchanged
	sum.Empty += r.Empty
	sum.DuplicatesDropped += r.DuplicatesDropped
	sum.OutputRows += int64(r.Rows)
}
