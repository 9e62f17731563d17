// Package layertest is what the tests that render or run state machines
// share: a fake ARN for each function role, and the handler name the local
// runner routes each ARN to.
package layertest

import "github.com/DemocracyClub/dc-data-baker/internal/layer"

const fnPrefix = "arn:aws:lambda:eu-west-2:123456789012:function:"

// Lambdas are the functions' ARNs, named after their sources.
var Lambdas = layer.Lambdas{
	layer.Guard:                 fnPrefix + "check_step_function_running",
	layer.TableLocation:         fnPrefix + "get_glue_table_location",
	layer.EmptyPrefix:           fnPrefix + "empty_s3_bucket_by_prefix",
	layer.Query:                 fnPrefix + "run_athena_query",
	layer.ExportBallots:         fnPrefix + "export_current_ballots",
	layer.ExportBoundaryReviews: fnPrefix + "export_boundary_reviews",
	layer.OutcodeSplit:          fnPrefix + "first_letter_to_outcode_parquet",
	layer.Publish:               fnPrefix + "publish_outcodes",
	layer.Plausibility:          fnPrefix + "plausibility_gate",
}

// Roles names the handler of each ARN in Lambdas.
var Roles = map[string]string{
	Lambdas[layer.Guard]:                 "guard",
	Lambdas[layer.TableLocation]:         "tableLocation",
	Lambdas[layer.EmptyPrefix]:           "emptyPrefix",
	Lambdas[layer.Query]:                 "query",
	Lambdas[layer.ExportBallots]:         "exportBallots",
	Lambdas[layer.ExportBoundaryReviews]: "exportBoundaryReviews",
	Lambdas[layer.OutcodeSplit]:          "outcodeSplit",
	Lambdas[layer.Publish]:               "publish",
	Lambdas[layer.Plausibility]:          "plausibility",
}
