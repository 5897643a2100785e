package config

import (
	"strings"
)

// AuxpropPlugins lists the values sasl_auxprop_plugin accepts: sasldb is
// the password file in configdirectory (imapd.passwd, what libsasl's
// sasldb is to Cyrus), sql a table in PostgreSQL.
var AuxpropPlugins = []string{"sasldb", "sql"}

// SQLEngines lists the values sql_engine accepts.
var SQLEngines = []string{"pgsql"}

// SQLAuth is the sql auxprop plugin's configuration (sasl_auxprop_plugin:
// sql), in libsasl's option names; sql_delete and sql_list are ours.
type SQLAuth struct {
	Engine    string   // sql_engine (default pgsql, the only one)
	Hostnames []string // sql_hostnames: comma-separated host[:port], or a socket directory[:port]
	User      string   // sql_user
	Passwd    string   // sql_passwd
	Database  string   // sql_database
	UseSSL    bool     // sql_usessl
	Select    string   // sql_select (default: imapd's own table)
	Insert    string   // sql_insert
	Update    string   // sql_update
	Delete    string   // sql_delete
	List      string   // sql_list
}

// sqlAuth reads sasl_auxprop_plugin and, for sql, the sql_* options.
func (s *Settings) sqlAuth(c *Config) error {
	plugins := c.List("sasl_auxprop_plugin", nil)
	if len(plugins) == 0 {
		return nil
	}
	e, _ := c.lookup("sasl_auxprop_plugin")
	// libsasl queries a list of plugins in turn; one source of users is
	// enough here, and two would make imapctl's writes ambiguous.
	if len(plugins) > 1 {
		return e.errorf("option sasl_auxprop_plugin: one plugin only (valid: %s)", strings.Join(AuxpropPlugins, ", "))
	}
	switch p := strings.ToLower(plugins[0]); p {
	case "sasldb":
		return nil
	case "sql":
	default:
		return e.errorf("option sasl_auxprop_plugin: %q is not available (valid: %s)", plugins[0], strings.Join(AuxpropPlugins, ", "))
	}
	a := &SQLAuth{
		Engine:   strings.ToLower(c.String("sql_engine", "pgsql")),
		User:     c.String("sql_user", ""),
		Passwd:   c.String("sql_passwd", ""),
		Database: c.String("sql_database", ""),
		Select:   c.String("sql_select", ""),
		Insert:   c.String("sql_insert", ""),
		Update:   c.String("sql_update", ""),
		Delete:   c.String("sql_delete", ""),
		List:     c.String("sql_list", ""),
	}
	if a.Engine != "pgsql" {
		e, _ := c.lookup("sql_engine")
		return e.errorf("option sql_engine: %q is not available (valid: %s)", a.Engine, strings.Join(SQLEngines, ", "))
	}
	for _, h := range strings.Split(c.String("sql_hostnames", ""), ",") {
		if h = strings.TrimSpace(h); h != "" {
			a.Hostnames = append(a.Hostnames, h)
		}
	}
	var err error
	if a.UseSSL, err = c.Bool("sql_usessl", false); err != nil {
		return err
	}
	s.SQLAuth = a
	return nil
}
