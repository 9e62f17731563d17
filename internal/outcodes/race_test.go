//go:build race

package outcodes_test

// raceDetector is true when the tests run with -race, which changes memory
// use and is several times slower.
const raceDetector = true
