package maildir

// SetLogLimit changes the log length past which writers compact, for
// tests that want compactions to happen often; it returns the old value.
func SetLogLimit(n int64) int64 {
	old := logLimit
	logLimit = n
	return old
}
