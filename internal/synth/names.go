package synth

// Word lists for names. Only their order matters for determinism.
var (
	// postcodeAreas are real UK postcode areas; BT is Northern Ireland.
	postcodeAreas = []string{
		"AB", "AL", "B", "BA", "BB", "BD", "BH", "BL", "BN", "BR", "BS", "BT", "CA", "CB", "CF", "CH",
		"CM", "CO", "CR", "CT", "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL", "DN", "DT", "DY", "E",
		"EC", "EH", "EN", "EX", "FK", "FY", "G", "GL", "GU", "HA", "HD", "HG", "HP", "HR", "HS", "HU",
		"HX", "IG", "IP", "IV", "KA", "KT", "KW", "KY", "L", "LA", "LD", "LE", "LL", "LN", "LS", "LU",
		"M", "ME", "MK", "ML", "N", "NE", "NG", "NN", "NP", "NR", "NW", "OL", "OX", "PA", "PE", "PH",
		"PL", "PO", "PR", "RG", "RH", "RM", "S", "SA", "SE", "SG", "SK", "SL", "SM", "SN", "SO", "SP",
		"SR", "SS", "ST", "SW", "SY", "TA", "TD", "TF", "TN", "TQ", "TR", "TS", "TW", "UB", "W", "WA",
		"WC", "WD", "WF", "WN", "WR", "WS", "WV", "YO", "ZE",
	}
	// londonAreas may have a letter after a one-digit district (SW1A, EC1M).
	londonAreas = map[string]bool{"E": true, "EC": true, "N": true, "NW": true, "SE": true, "SW": true, "W": true, "WC": true}

	// unitLetters are the letters allowed in the last two characters of a postcode.
	unitLetters = "ABDEFGHJLNPQRSTUWXYZ"

	placeStarts = []string{
		"ash", "bar", "brad", "bur", "chel", "dar", "east", "ex", "glou", "hart", "kings", "lan",
		"mald", "mid", "new", "north", "ox", "ports", "red", "ryde", "shef", "south", "stam", "tam",
		"wake", "west", "wey", "wim", "win", "york",
	}
	placeEnds = []string{
		"ford", "ham", "ton", "bury", "field", "ley", "worth", "wick", "mouth", "stone", "ington",
		"borough", "minster", "caster", "by", "chester", "dale", "mere", "well", "hurst",
	}
	divisionWords = []string{
		"north", "south", "east", "west", "central", "park", "castle", "abbey", "hill", "bridge",
		"green", "heath", "marsh", "vale", "downs", "priory",
	}
	streetWords = []string{
		"HIGH", "CHURCH", "MILL", "STATION", "VICTORIA", "MANOR", "SCHOOL", "QUEENS", "KINGS", "GREEN",
		"PARK", "NEW", "MAIN", "CHAPEL", "ORCHARD", "BRIDGE", "ALBERT", "WINDSOR", "GROVE", "MEADOW",
		"COX", "FRINSBURY", "DETLING", "OAK", "ELM", "BEECH", "WILLOW", "CASTLE", "ABBEY", "MARKET",
	}
	streetTypes = []string{"STREET", "ROAD", "LANE", "AVENUE", "CLOSE", "DRIVE", "WAY", "GARDENS", "CRESCENT", "HILL"}
	houseNames  = []string{"FRINSBURY", "ROSE", "IVY", "OAK", "MEADOW", "ORCHARD", "HOLLY", "WILLOW", "STONE", "BRAMBLE"}
	localities  = []string{"DETLING", "BEARSTED", "THURNHAM", "BOXLEY", "HOLLINGBOURNE", "LEEDS", "OTHAM", "DOWNSWOOD"}
	// addressTypes are AddressBase postal address flags, D most common.
	addressTypes = []string{"D", "D", "D", "D", "D", "D", "D", "S", "C", "L", "N"}
)

// placeName returns a distinct lower-case place slug for each i.
func placeName(i int) string {
	n := len(placeStarts) * len(placeEnds)
	j := (i * 7919) % n // a permutation of 0..n-1 (7919 is prime and does not divide n)
	s := placeStarts[j%len(placeStarts)] + placeEnds[j/len(placeStarts)]
	if i >= n {
		s += "-" + itoa(i/n+1)
	}
	return s
}

func itoa(v int) string {
	var b [20]byte
	return string(appendInt(b[:0], int64(v)))
}
