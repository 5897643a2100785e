package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/test/pgtest"
)

// TestUsersSQLSiteTable: with a site's own sql_select, imapctl user add,
// passwd, del and list are refused (configuration error, 78) until their
// statements are set, and user del then keeps the user's mail; with them,
// the verbs write through them.
func TestUsersSQLSiteTable(t *testing.T) {
	e := setup(t)
	srv := pgtest.Shared(t)
	dsn := srv.NewDatabase(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `CREATE TABLE accounts (login text PRIMARY KEY, pw text)`); err != nil {
		t.Fatal(err)
	}
	base := "configdirectory: " + e.dir + "\nsasl_auxprop_plugin: sql\n" +
		"sql_hostnames: " + srv.SocketDir + ":" + strconv.Itoa(srv.Port) + "\nsql_user: " + srv.User +
		"\nsql_database: " + pgtest.DatabaseOf(dsn) + "\n" +
		"sql_select: SELECT pw FROM accounts WHERE login = '%u'\n"
	write := func(extra string) {
		if err := os.WriteFile(e.conf, []byte(base+extra), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	e.run("secret\n", exitConfig, "user", "add", "ann")
	e.run("", exitConfig, "user", "list")

	// ann is added by the site; her mail must survive a refused del.
	write("sql_insert: INSERT INTO accounts VALUES ('%u', '%v')\n")
	e.run("secret\n", 0, "user", "add", "ann")
	e.run("hello\n", 0, "deliver", "ann")
	e.run("", exitConfig, "user", "del", "ann")
	e.run("x\n", exitConfig, "user", "passwd", "ann")
	if out := e.run("", 0, "mailbox", "list", "ann"); !strings.Contains(out, "INBOX") {
		t.Fatalf("ann's mailboxes after a refused del: %q", out)
	}

	write("sql_insert: INSERT INTO accounts VALUES ('%u', '%v')\n" +
		"sql_update: UPDATE accounts SET pw = '%v' WHERE login = '%u'\n" +
		"sql_delete: DELETE FROM accounts WHERE login = '%u'\n" +
		"sql_list: SELECT login FROM accounts\n")
	e.run("secret\n", 0, "user", "add", "bob")
	var before, after string
	c.QueryRow(ctx, `SELECT pw FROM accounts WHERE login = 'ann'`).Scan(&before)
	e.run("changed\n", 0, "user", "passwd", "ann")
	c.QueryRow(ctx, `SELECT pw FROM accounts WHERE login = 'ann'`).Scan(&after)
	if before == after || !strings.HasPrefix(after, "$2a$") || !strings.Contains(after, ":scram-sha-256$") {
		t.Errorf("ann's value after passwd: %q (before %q)", after, before)
	}
	if out := e.run("", 0, "user", "list"); out != "ann\nbob\n" {
		t.Errorf("list = %q", out)
	}
	e.run("", 0, "user", "del", "ann")
	e.run("", exitNoUser, "user", "del", "ann")
	if out := e.run("", 0, "user", "list"); out != "bob\n" {
		t.Errorf("list after del = %q", out)
	}
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
