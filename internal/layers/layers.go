// Package layers lists the layers that databaker bake runs, in order: each
// one's local engine comes from its own package. Adding a layer is one line
// here (and one in program.go, which deploys it).
package layers

import (
	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
)

// Bake are the layers' local engines, each after those it reads.
var Bake = []bake.Layer{
	addressbase.Bake,
	currentelections.Bake,
}
