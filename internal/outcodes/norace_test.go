//go:build !race

package outcodes_test

const raceDetector = false
