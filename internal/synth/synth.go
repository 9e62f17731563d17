// Package synth generates realistic synthetic AddressBase and EE ballot CSVs.
package synth

import (
	"errors"
	"io"
)

// Options controls Generate.
type Options struct {
	Seed                     int64
	Addresses                int
	Ballots                  int
	MinVertices, MaxVertices int
}

// Stats counts what Generate wrote.
type Stats struct{}

// Generate writes an AddressBase cleaned CSV and an EE current ballots CSV.
func Generate(opts Options, addressbase, ballots io.Writer) (Stats, error) {
	return Stats{}, errors.New("synth: not implemented yet")
}
