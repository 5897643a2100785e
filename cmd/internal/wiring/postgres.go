package wiring

import (
	"context"
	"fmt"
	"time"

	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/app/config"
	"github.com/imapd-go/imapd/ports"
)

// postgresOpenTimeout bounds connecting and migrating the schema at start.
const postgresOpenTimeout = time.Minute

// providePostgres opens store: postgres: postgres_dsn, the password read
// from postgres_password_file, postgres_pool_size.
func providePostgres(s *config.Settings) (ports.Store, func(), error) {
	c := postgres.Config{DSN: s.Postgres.DSN, PoolSize: s.Postgres.PoolSize}
	if s.Postgres.PasswordFile != "" {
		pw, err := postgres.ReadPasswordFile(s.Postgres.PasswordFile)
		if err != nil {
			return nil, nil, err
		}
		c.Password = pw
	}
	ctx, cancel := context.WithTimeout(context.Background(), postgresOpenTimeout)
	defer cancel()
	st, err := postgres.Open(ctx, c)
	if err != nil {
		return nil, nil, fmt.Errorf("open store in PostgreSQL: %w", err)
	}
	return st, func() { st.Close() }, nil
}
