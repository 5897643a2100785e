package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// OpenTraced is Open with a tracer that sees every statement.
func OpenTraced(ctx context.Context, c Config, tracer pgx.QueryTracer) (*Store, error) {
	return open(ctx, c, tracer)
}

// SetListenLinger changes how long the listening connection outlives its
// last watcher, and returns the old value.
func SetListenLinger(d time.Duration) time.Duration {
	old := listenLinger
	listenLinger = d
	return old
}
