package app

// SetContextsIncremental chooses how SORT contexts follow changes (by
// binary searches, or by sorting again), for benchmarks that compare
// the two; it returns what restores the default.
func SetContextsIncremental(on bool) (restore func()) {
	was := contextsIncremental
	contextsIncremental = on
	return func() { contextsIncremental = was }
}
