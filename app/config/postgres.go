package config

import "path/filepath"

// Postgres holds the keys of store: postgres.
type Postgres struct {
	// DSN is postgres_dsn: a libpq connection string or URL, without
	// its password.
	DSN string
	// PasswordFile is postgres_password_file: a file holding the
	// password alone, read when the store opens ("": none, or
	// whatever the DSN's other means give, such as ~/.pgpass).
	PasswordFile string
	// PoolSize is postgres_pool_size: the most connections one process
	// opens for operations (0: the store's default).
	PoolSize int
}

// postgres reads the postgres_* keys; store: postgres needs postgres_dsn.
func (s *Settings) postgres(c *Config) error {
	s.Postgres.DSN = c.String("postgres_dsn", "")
	s.Postgres.PasswordFile = c.String("postgres_password_file", "")
	n, err := c.Int("postgres_pool_size", 0)
	if err != nil {
		return err
	}
	if n < 0 {
		e, _ := c.lookup("postgres_pool_size")
		return e.errorf("option postgres_pool_size: must not be negative")
	}
	s.Postgres.PoolSize = int(n)
	if s.Store != "postgres" {
		return nil
	}
	if s.Postgres.DSN == "" {
		e, _ := c.lookup("store")
		return e.errorf("option store: postgres needs postgres_dsn")
	}
	if f := s.Postgres.PasswordFile; f != "" && !filepath.IsAbs(f) {
		e, _ := c.lookup("postgres_password_file")
		return e.errorf("option postgres_password_file: must be an absolute path")
	}
	return nil
}
