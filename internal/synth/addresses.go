package synth

import (
	"bufio"
	"math"
	"math/rand/v2"
)

// outcode is one postcode district: its addresses cluster around centre.
type outcode struct {
	code     string
	lon, lat float64 // centre, degrees
	radius   float64 // degrees
	count    int     // UPRNs, filler included
	town     string
	streets  []string
}

// unitPostcode is one full postcode within an outcode.
type unitPostcode struct {
	postcode []byte
	lon, lat float64
	street   int
	next     int // next house number
}

func numOutcodes(addresses int) int {
	return max(1, min(3000, int(0.55*math.Sqrt(float64(addresses)))))
}

// makeOutcode derives outcode o (of n) from the seed. Codes are distinct:
// area by o mod the area count, district number by o div it.
func makeOutcode(rng *rand.Rand, o int) outcode {
	na := len(postcodeAreas)
	// Spread consecutive outcodes over areas and first letters; outcode 2 is
	// always BT so Northern Ireland is present from 3 outcodes up.
	ai := (o * 37) % na
	if o == 2 {
		ai = 11 // BT
	}
	district := o/na + 1
	if o != 2 && ai == 11 {
		district = o/na + 2 // keep BT1 for outcode 2
	}
	area := postcodeAreas[ai]
	code := area + itoa(district%100)
	if district >= 100 {
		code = area + itoa(district%100) + string(rune('A'+district/100%26))
	} else if londonAreas[area] && district < 10 && rng.IntN(3) == 0 {
		code += string(rune('A' + rng.IntN(26)))
	}
	oc := outcode{code: code, radius: 0.01 + rng.Float64()*0.06}
	if area == "BT" {
		oc.lon, oc.lat = -7.8+rng.Float64()*2.3, 54.1+rng.Float64()*1.1
	} else {
		oc.lon, oc.lat = -5.3+rng.Float64()*6.9, 50.2+rng.Float64()*8.5
	}
	oc.town = upper(placeName(rng.IntN(600)))
	ns := 4 + rng.IntN(16)
	for range ns {
		oc.streets = append(oc.streets, streetWords[rng.IntN(len(streetWords))]+" "+streetTypes[rng.IntN(len(streetTypes))])
	}
	return oc
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// addressWriter streams AddressBase rows. Memory is bounded by one
// outcode's postcode units and a small ring of recent rows for duplicates.
type addressWriter struct {
	w      *bufio.Writer
	rng    *rand.Rand
	lat    *lattice
	st     *Stats
	row    []byte
	addr   []byte
	uprn   int64
	recent [64][]byte
	nrec   int
}

// writeAddresses writes the addresses and returns each outcode's centre
// and address count.
func writeAddresses(w *bufio.Writer, opts Options, l *lattice, st *Stats) ([]centre, error) {
	if opts.Addresses == 0 {
		return nil, nil
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0xadd7e55))
	aw := &addressWriter{w: w, rng: rng, lat: l, st: st, uprn: 10000000 + rng.Int64N(1000000)}
	n := numOutcodes(opts.Addresses)
	// Outcode sizes: random weights, apportioned so they sum exactly.
	weights := make([]float64, n)
	var total float64
	for i := range weights {
		weights[i] = 0.3 + rng.Float64()*1.4
		total += weights[i]
	}
	var cum float64
	done := 0
	var units []unitPostcode
	var centres []centre
	for o := 0; o < n; o++ {
		cum += weights[o]
		end := int(math.Round(cum / total * float64(opts.Addresses)))
		if o == n-1 {
			end = opts.Addresses
		}
		oc := makeOutcode(rng, o)
		oc.count = end - done
		done = end
		if oc.count == 0 {
			continue
		}
		st.Outcodes++
		units = aw.makeUnits(units[:0], &oc)
		if err := aw.writeOutcode(&oc, units); err != nil {
			return nil, err
		}
		centres = append(centres, centre{lon: oc.lon, lat: oc.lat, count: oc.count})
	}
	st.UPRNs = opts.Addresses
	return centres, nil
}

// makeUnits creates about one postcode per 15 addresses (at most 3999,
// distinct by construction: sector digit and letter pair from the index).
func (aw *addressWriter) makeUnits(units []unitPostcode, oc *outcode) []unitPostcode {
	nu := max(1, min(3999, oc.count/15))
	nl := len(unitLetters)
	start := aw.rng.IntN(3999)
	for u := 0; u < nu; u++ {
		v := (start + u*397) % 3999 // 397 is coprime with 3999: distinct codes; 3999 ("9ZZ") is left for filler rows
		pc := make([]byte, 0, len(oc.code)+4)
		pc = append(pc, oc.code...)
		pc = append(pc, ' ', byte('0'+v/(nl*nl)%10), unitLetters[v/nl%nl], unitLetters[v%nl])
		r := oc.radius * math.Sqrt(aw.rng.Float64())
		th := aw.rng.Float64() * 2 * math.Pi
		units = append(units, unitPostcode{
			postcode: pc,
			lon:      oc.lon + r*math.Cos(th)*1.6, // degrees of lon are shorter
			lat:      oc.lat + r*math.Sin(th),
			street:   aw.rng.IntN(len(oc.streets)),
			next:     1 + aw.rng.IntN(20),
		})
	}
	return units
}

func (aw *addressWriter) writeOutcode(oc *outcode, units []unitPostcode) error {
	rng := aw.rng
	for a := 0; a < oc.count; a++ {
		u := &units[rng.IntN(len(units))]
		aw.uprn += 1 + rng.Int64N(40)
		lon := u.lon + (rng.Float64()-0.5)*0.003
		lat := u.lat + (rng.Float64()-0.5)*0.002
		lonE7, latE7 := int64(math.Round(lon*1e7)), int64(math.Round(lat*1e7))
		boundary := false
		if rng.IntN(20000) == 0 || aw.st.AddressRows == 50 {
			// Exactly on a lattice vertex: on the boundary of every division
			// (and split organisation piece) meeting there.
			p := aw.lat.nearestVertex(lon, lat)
			lonE7, latE7 = p.x*10, p.y*10
			boundary = true
		}
		row := aw.row[:0]
		// A filler row per about one outcode in three, using a postcode
		// that no real address of the outcode uses.
		if a == oc.count-1 && oc.count >= 2 && rng.IntN(3) == 0 {
			// Units never use sector 9 + "ZZ" (see makeUnits), so the
			// filler's postcode is one AddressBase lacks.
			pc := append(append(aw.addr[:0], oc.code...), " 9ZZ"...)
			aw.addr = pc
			row = append(row, "ONSPD-"...)
			row = append(row, oc.code...)
			row = append(row, "9ZZ,,"...)
			row = append(row, pc...)
			row = append(row, ',')
			row = aw.appendLocation(row, lonE7, latE7)
			row = append(row, ',', '\r', '\n')
			aw.st.FillerRows++
		} else {
			if rng.IntN(40) == 0 {
				// Zero-padded to AddressBase's 12 digits (the contract's
				// longest UPRN), as some rows of the real file are.
				for range 12 - digits(aw.uprn) {
					row = append(row, '0')
				}
			}
			row = appendInt(row, aw.uprn)
			row = append(row, ',')
			aw.addr = aw.address(aw.addr[:0], oc, u)
			if len(aw.addr) == 0 {
				aw.st.EmptyAddresses++
			}
			row = appendField(row, aw.addr)
			row = append(row, ',')
			row = append(row, u.postcode...)
			row = append(row, ',')
			row = aw.appendLocation(row, lonE7, latE7)
			row = append(row, ',')
			row = append(row, addressTypes[rng.IntN(len(addressTypes))]...)
			row = append(row, '\r', '\n')
		}
		if boundary {
			aw.st.BoundaryPoints++
		}
		aw.row = row
		if _, err := aw.w.Write(row); err != nil {
			return err
		}
		aw.st.AddressRows++
		aw.remember(row)
		// About 0.5% of rows repeat an earlier row identically.
		if rng.IntN(200) == 0 || aw.st.AddressRows == 100 {
			dup := aw.recent[rng.IntN(min(aw.nrec, len(aw.recent)))]
			if _, err := aw.w.Write(dup); err != nil {
				return err
			}
			aw.st.AddressRows++
			aw.st.DuplicateRows++
		}
	}
	return nil
}

func (aw *addressWriter) remember(row []byte) {
	i := aw.nrec % len(aw.recent)
	aw.recent[i] = append(aw.recent[i][:0], row...)
	aw.nrec++
}

// appendLocation writes SRID=4326;POINT(lon lat) from 1e-7 degree units,
// mostly without a leading zero for |lon| < 1, as AddressBase does.
func (aw *addressWriter) appendLocation(dst []byte, lonE7, latE7 int64) []byte {
	dst = append(dst, "SRID=4326;POINT("...)
	dst = appendFixed(dst, lonE7, 7, aw.rng.IntN(10) == 0)
	dst = append(dst, ' ')
	dst = appendFixed(dst, latE7, 7, false)
	return append(dst, ')')
}

// address appends one address line in a few AddressBase-like shapes.
func (aw *addressWriter) address(dst []byte, oc *outcode, u *unitPostcode) []byte {
	rng := aw.rng
	street := oc.streets[u.street]
	num := u.next
	u.next += 1 + rng.IntN(2)
	switch r := rng.IntN(10000); {
	case r < 6000:
		dst = appendInt(dst, int64(num))
		dst = append(dst, ' ')
		dst = append(dst, street...)
		dst = append(dst, ", "...)
		dst = append(dst, oc.town...)
	case r < 7500:
		dst = appendInt(dst, int64(num))
		dst = append(dst, ' ')
		dst = append(dst, street...)
		dst = append(dst, ", "...)
		dst = append(dst, localities[rng.IntN(len(localities))]...)
		dst = append(dst, ", "...)
		dst = append(dst, oc.town...)
	case r < 8500:
		dst = append(dst, "FLAT "...)
		dst = appendInt(dst, int64(1+rng.IntN(12)))
		dst = append(dst, ", "...)
		dst = append(dst, houseNames[rng.IntN(len(houseNames))]...)
		dst = append(dst, " HOUSE, "...)
		dst = append(dst, street...)
		dst = append(dst, ", "...)
		dst = append(dst, oc.town...)
	case r < 9300:
		dst = append(dst, houseNames[rng.IntN(len(houseNames))]...)
		dst = append(dst, " COTTAGE, "...)
		dst = append(dst, street...)
		dst = append(dst, ", "...)
		dst = append(dst, localities[rng.IntN(len(localities))]...)
		dst = append(dst, ", "...)
		dst = append(dst, oc.town...)
	case r < 9985:
		dst = appendInt(dst, int64(num))
		dst = append(dst, 'A', ' ')
		dst = append(dst, street...)
	case r < 9995:
		// empty address
	default:
		dst = append(dst, `THE "OLD" FORGE, `...)
		dst = append(dst, street...)
		dst = append(dst, ", "...)
		dst = append(dst, oc.town...)
	}
	return dst
}

// nearestVertex returns the lattice vertex nearest to (lon, lat).
func (l *lattice) nearestVertex(lon, lat float64) pt {
	i := int(math.Round((lon - boxMinLon) / l.dx))
	j := int(math.Round((lat - boxMinLat) / l.dy))
	return l.point(min(max(i, 1), l.nx-1), min(max(j, 1), l.ny-1))
}

// digits is the number of decimal digits of v > 0.
func digits(v int64) int {
	n := 1
	for ; v >= 10; v /= 10 {
		n++
	}
	return n
}
