package tables

// Named query names, as the state machines start them (run_athena_query's
// QueryName) and as the components deploy them.
const (
	QueryPartitionAddressBase = "partition-addressbase-cleaned"
	QueryABGateOneSource      = "addressbase-gate-one-source"
	QueryABGateUPRNs          = "addressbase-gate-uprns"
	QueryJoinLetter           = "uprn-to-ballots-first-letter"
	QueryCEGateOneSource      = "current-elections-gate-one-source"
	QueryCEGateUPRNs          = "current-elections-gate-uprns"
	// QueryCEGateRawUPRNs compares the joined table with the raw AddressBase
	// source, so a bad AddressBase run cannot reach the nightly publish.
	QueryCEGateRawUPRNs  = "current-elections-gate-raw-uprns"
	QueryCEGateConflicts = "current-elections-gate-conflicting-duplicates"
)

// NamedQuery is one Athena named query of a layer: the sql/ template it
// renders and its deploy-time values (the database among them).
type NamedQuery struct {
	Name     string
	Template string
	Values   map[string]string
}

// AddressBaseQueries are the AddressBase layer's named queries, with the
// values the component deploys them with.
func AddressBaseQueries(b Buckets, v Vars, database string) ([]NamedQuery, error) {
	raw, partitioned := AddressBaseCleanedRaw(b), AddressBasePartitioned(b)
	target, err := partitioned.Location(v)
	if err != nil {
		return nil, err
	}
	return withDatabase(database, []NamedQuery{
		{QueryPartitionAddressBase, partitioned.Query, map[string]string{"source_table": raw.Name, "target_location": target}},
		{QueryABGateOneSource, "gate-one-source", map[string]string{"table": partitioned.Name}},
		{QueryABGateUPRNs, "gate-uprns", map[string]string{"source_table": raw.Name, "target_table": partitioned.Name}},
	}), nil
}

// CurrentElectionsQueries are the CurrentElections layer's named queries,
// with the values the component deploys them with.
func CurrentElectionsQueries(b Buckets, v Vars, database string) ([]NamedQuery, error) {
	raw, addresses := AddressBaseCleanedRaw(b), AddressBasePartitioned(b)
	ballots, joined := CurrentBallots(b), CurrentBallotsJoined(b)
	target, err := joined.Location(v)
	if err != nil {
		return nil, err
	}
	return withDatabase(database, []NamedQuery{
		{QueryJoinLetter, joined.Query, map[string]string{"ballots_table": ballots.Name, "addressbase_table": addresses.Name, "target_location": target}},
		{QueryCEGateOneSource, "gate-one-source", map[string]string{"table": joined.Name}},
		{QueryCEGateUPRNs, "gate-uprns", map[string]string{"source_table": addresses.Name, "target_table": joined.Name}},
		{QueryCEGateRawUPRNs, "gate-uprns", map[string]string{"source_table": raw.Name, "target_table": joined.Name}},
		{QueryCEGateConflicts, "gate-conflicting-duplicates", map[string]string{"table": joined.Name}},
	}), nil
}

func withDatabase(database string, qs []NamedQuery) []NamedQuery {
	for _, q := range qs {
		q.Values["database"] = database
	}
	return qs
}
