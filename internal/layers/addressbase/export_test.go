package addressbase

// ReadBatchesSize is ReadBatches with a chunk size, so tests can make
// records straddle chunk boundaries.
var ReadBatchesSize = readBatches
