package storebench

import (
	"context"
	"fmt"
	"os"

	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/pgtest"
)

// pgServer is the run's PostgreSQL server, with fsync on: a durable APPEND
// pays for its WAL flush as on a production server. Each store directory
// gets a database of its own.
var pgServer *pgtest.Server

// addPostgres starts the server and adds the postgres adapter; without
// PostgreSQL it says so in one line and measures the other stores (and
// fails when IMAPD_REQUIRE_POSTGRES is set).
func addPostgres() error {
	s, err := pgtest.Start(pgtest.Options{Durable: true})
	if err != nil {
		if os.Getenv("IMAPD_REQUIRE_POSTGRES") != "" {
			return fmt.Errorf("PostgreSQL: %v (IMAPD_REQUIRE_POSTGRES is set)", err)
		}
		fmt.Fprintf(os.Stderr, "storebench: not measuring store postgres: %v\n", err)
		return nil
	}
	pgServer = s
	adapters = append(adapters, adapter{"postgres", func(string) (ports.Store, error) {
		db, err := pgServer.CreateDatabase()
		if err != nil {
			return nil, err
		}
		return postgres.Open(context.Background(), postgres.Config{DSN: pgServer.DSN(db)})
	}})
	return nil
}

// stopPostgres stops the server and removes its files.
func stopPostgres() {
	if pgServer != nil {
		pgServer.Kill()
		os.RemoveAll(pgServer.Dir)
	}
}
