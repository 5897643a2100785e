package config

import (
	"strings"
	"testing"
)

func TestPostgresSettings(t *testing.T) {
	tests := []struct {
		text string
		want Postgres
		err  string
	}{
		{text: "store: postgres\npostgres_dsn: host=db dbname=mail user=imapd\npostgres_password_file: /etc/imapd/pg.pw\npostgres_pool_size: 12\n",
			want: Postgres{DSN: "host=db dbname=mail user=imapd", PasswordFile: "/etc/imapd/pg.pw", PoolSize: 12}},
		{text: "store: PostgreS\npostgres_dsn: postgres://imapd@db/mail\n", want: Postgres{DSN: "postgres://imapd@db/mail"}},
		// The keys are read, and ignored, with another store.
		{text: "postgres_pool_size: 3\n", want: Postgres{PoolSize: 3}},
		{text: "store: postgres\n", err: "/etc/imapd.conf:2: option store: postgres needs postgres_dsn"},
		{text: "store: postgres\npostgres_dsn: dbname=x\npostgres_pool_size: -1\n", err: "/etc/imapd.conf:4: option postgres_pool_size: must not be negative"},
		{text: "store: postgres\npostgres_dsn: dbname=x\npostgres_pool_size: many\n", err: "/etc/imapd.conf:4: option postgres_pool_size"},
		{text: "store: postgres\npostgres_dsn: dbname=x\npostgres_password_file: pw\n", err: "/etc/imapd.conf:4: option postgres_password_file: must be an absolute path"},
	}
	for _, tt := range tests {
		s, err := parse(t, tt.text).Settings()
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want prefix %q", tt.text, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.text, err)
			continue
		}
		if s.Postgres != tt.want {
			t.Errorf("%q: %+v, want %+v", tt.text, s.Postgres, tt.want)
		}
	}
}
