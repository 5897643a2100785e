package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestSettingsSQLAuth(t *testing.T) {
	tests := []struct {
		name string
		text string
		want *SQLAuth
		err  string // prefix of the error; "" for none
	}{
		{name: "unset", text: "", want: nil},
		{name: "sasldb", text: "sasl_auxprop_plugin: sasldb\nsql_user: ignored\n", want: nil},
		{name: "defaults", text: "sasl_auxprop_plugin: sql\n", want: &SQLAuth{Engine: "pgsql"}},
		{name: "cyrus keys",
			text: "sasl_pwcheck_method: auxprop\nsasl_auxprop_plugin: SQL\nsql_engine: PgSQL\n" +
				"sql_hostnames: db1.example:5433, /run/postgresql ,db2\nsql_user: cyrus\nsql_passwd: s3cr%t\n" +
				"sql_database: mail\nsql_usessl: yes\n" +
				"sql_select: SELECT pw FROM users WHERE user = '%u' AND realm = '%r'\n" +
				"sql_insert: INSERT INTO users (user, realm, pw) VALUES ('%u', '%r', '%v')\n" +
				"sql_update: UPDATE users SET pw = '%v' WHERE user = '%u' AND realm = '%r'\n" +
				"sql_delete: DELETE FROM users WHERE user = '%u' AND realm = '%r'\n" +
				"sql_list: SELECT user FROM users\n",
			want: &SQLAuth{Engine: "pgsql", Hostnames: []string{"db1.example:5433", "/run/postgresql", "db2"},
				User: "cyrus", Passwd: "s3cr%t", Database: "mail", UseSSL: true,
				Select: "SELECT pw FROM users WHERE user = '%u' AND realm = '%r'",
				Insert: "INSERT INTO users (user, realm, pw) VALUES ('%u', '%r', '%v')",
				Update: "UPDATE users SET pw = '%v' WHERE user = '%u' AND realm = '%r'",
				Delete: "DELETE FROM users WHERE user = '%u' AND realm = '%r'",
				List:   "SELECT user FROM users"}},
		{name: "ldapdb", text: "sasl_auxprop_plugin: ldapdb\n",
			err: `/etc/imapd.conf:2: option sasl_auxprop_plugin: "ldapdb" is not available (valid: sasldb, sql)`},
		{name: "two plugins", text: "sasl_auxprop_plugin: sql sasldb\n",
			err: "/etc/imapd.conf:2: option sasl_auxprop_plugin: one plugin only"},
		{name: "mysql", text: "sasl_auxprop_plugin: sql\nsql_engine: mysql\n",
			err: `/etc/imapd.conf:3: option sql_engine: "mysql" is not available (valid: pgsql)`},
		{name: "usessl", text: "sasl_auxprop_plugin: sql\nsql_usessl: maybe\n",
			err: "/etc/imapd.conf:3: option sql_usessl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parse(t, tt.text).Settings()
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("err = %v, want prefix %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.SQLAuth, tt.want) {
				t.Errorf("SQLAuth = %+v, want %+v", s.SQLAuth, tt.want)
			}
		})
	}
}
