package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Stores lists the values the store option accepts in this build.
var Stores = []string{"sqlite", "maildir", "postgres"}

// PwcheckMethods lists the values sasl_pwcheck_method accepts (several may
// be given, tried in order).
var PwcheckMethods = []string{"auxprop", "saslauthd", "alwaystrue"}

// Settings are the options imapd and imapctl use, typed and defaulted.
type Settings struct {
	Path                 string        // the configuration file read
	Service              string        // the service options were looked up for
	ConfigDir            string        // configdirectory (required)
	Partition            string        // partition-default: where mail lives
	Store                string        // store: the storage backend ("sqlite", "maildir" or "postgres")
	Postgres             Postgres      // postgres_*: store: postgres's database
	ServerName           string        // servername (default: the host name)
	Admins               []string      // admins
	AllowPlaintext       bool          // allowplaintext (default no)
	SASLMechList         []string      // sasl_mech_list (default: empty, every mechanism that can work)
	SASLPwcheck          []string      // sasl_pwcheck_method: auxprop (default), saslauthd, alwaystrue
	SASLSaslauthd        string        // sasl_saslauthd_path (default /var/run/saslauthd/mux)
	Timeout              time.Duration // timeout (minutes; default 32m, at least 30m)
	FailedLoginPause     time.Duration // failedloginpause (seconds; default 3s)
	IMAPIdleTimeout      time.Duration // imapidletimeout (minutes; 0 = timeout)
	LiteralMinus         bool          // literalminus: advertise LITERAL- instead of LITERAL+
	SearchIndexOnWrite   bool          // search_index_on_write: index each write's messages at once
	MaxLoginsPerUser     int           // maxlogins_per_user: 0 = no limit
	MaxLoginsPerHost     int           // maxlogins_per_host: 0 = no limit
	TelemetryBySessionID bool          // telemetry_bysessionid
	// MultiSession is multisession (per service: <service>_multisession):
	// under master, one process serves many sessions at once.
	MultiSession bool
	// AutocreateFolders is autocreate_inbox_folders: names separated by
	// "|", created with a user's INBOX.
	AutocreateFolders []string
	// SubmitServers is submitservers: users that may fetch URLAUTH
	// URLs with a "submit+" access identifier (RFC 4467).
	SubmitServers []string
	// DefaultACL is defaultacl: the ACL of a new top-level shared
	// mailbox ("" for Cyrus's "anyone lrs").
	DefaultACL      string
	MaxMessageSize  int64  // maxmessagesize in bytes; 0 = built-in limit
	IDResponse      bool   // imapidresponse (default yes)
	DebugCommand    string // debug_command, for -D
	Debug           bool   // debug: log at debug level
	TLSServerCert   string // tls_server_cert
	TLSServerKey    string // tls_server_key
	TLSClientCAFile string // tls_client_ca_file: verify client certificates (EXTERNAL)
	TLSVersions     string // tls_versions (default "tls1_2 tls1_3")
	TLSRequired     bool   // tls_required: no authentication before TLS
	// MetadataMaxSize is metadata_maxsize: the longest METADATA value, in
	// bytes (0: the built-in limit).
	MetadataMaxSize int64
	// MetadataMaxEntries is metadata_maxentries: METADATA entries per
	// mailbox (and on the server), /shared and each user's /private
	// apart (0: the built-in limit).
	MetadataMaxEntries int
	// LoginCacheDir is logincache_dir: the tmpfs folder that holds the
	// login cache's folder (default /dev/shm).
	LoginCacheDir string
	// LoginCacheTTL is logincache_ttl: how long a successful password
	// check is remembered (minutes; default 10m; 0 = not at all).
	LoginCacheTTL time.Duration
	// QuotaWarn is quotawarn: the percent of a quota limit from which
	// SELECT alerts (default 90).
	QuotaWarn int
	// AutocreateQuota is autocreate_quota: the STORAGE limit in KB a
	// new user's quota root gets at the first login; 0 = no limit,
	// -1 (default) = none set.
	AutocreateQuota int64
	// SyslogPrefix is syslog_prefix: the syslog ident becomes
	// <prefix>/<service>, and session ids start with it.
	SyslogPrefix string
	// SyslogFacility is syslog_facility, upper case: one of
	// SyslogFacilities (default LOCAL6, Cyrus's).
	SyslogFacility string
	// SQLAuth is set by sasl_auxprop_plugin: sql: the users are in
	// PostgreSQL (see sqlauth.go); nil for the password file.
	SQLAuth *SQLAuth
}

// SyslogFacilities lists the values syslog_facility accepts, those of
// syslog.h (Cyrus's list is DAEMON, MAIL, NEWS, USER and LOCAL0 to 7).
var SyslogFacilities = []string{"KERN", "USER", "MAIL", "DAEMON", "AUTH", "SYSLOG", "LPR", "NEWS", "UUCP", "CRON",
	"AUTHPRIV", "FTP", "LOCAL0", "LOCAL1", "LOCAL2", "LOCAL3", "LOCAL4", "LOCAL5", "LOCAL6", "LOCAL7"}

// syslog reads syslog_prefix and syslog_facility. Cyrus logs an unknown
// facility and uses LOCAL6; ours refuses it, so that the lines do not go
// where nobody looks.
func (s *Settings) syslog(c *Config) error {
	s.SyslogPrefix = c.String("syslog_prefix", "")
	s.SyslogFacility = strings.ToUpper(c.String("syslog_facility", "LOCAL6"))
	if !slices.Contains(SyslogFacilities, s.SyslogFacility) {
		e, _ := c.lookup("syslog_facility")
		return e.errorf("option syslog_facility: %q is not a syslog facility (valid: %s)", s.SyslogFacility, strings.Join(SyslogFacilities, ", "))
	}
	return nil
}

// MinTimeout is the shortest idle timeout allowed: RFC 9051 section 5.4
// asks for at least 30 minutes, and Cyrus raises smaller values to it.
const MinTimeout = 30 * time.Minute

// Settings extracts the typed settings; a value of the wrong type is an
// *Error naming the line that set it.
func (c *Config) Settings() (*Settings, error) {
	s := &Settings{Path: c.path, Service: c.service}
	s.ConfigDir = c.String("configdirectory", "")
	if s.ConfigDir == "" {
		return nil, &Error{File: c.path, Msg: "configdirectory is not set"}
	}
	if !filepath.IsAbs(s.ConfigDir) {
		e, _ := c.lookup("configdirectory")
		return nil, e.errorf("configdirectory must be an absolute path")
	}
	s.Partition = c.String("partition-default", configDirToken+"/spool")
	s.Store = strings.ToLower(c.String("store", "sqlite"))
	valid := false
	for _, v := range Stores {
		valid = valid || v == s.Store
	}
	if !valid {
		e, _ := c.lookup("store")
		return nil, e.errorf("option store: %q is not available (valid: %s)", s.Store, strings.Join(Stores, ", "))
	}
	if err := s.postgres(c); err != nil {
		return nil, err
	}
	s.ServerName = c.String("servername", "")
	if s.ServerName == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		s.ServerName = h
	}
	s.Admins = c.List("admins", nil)
	s.SASLMechList = c.List("sasl_mech_list", nil)
	for i, m := range s.SASLMechList {
		s.SASLMechList[i] = strings.ToUpper(m)
	}
	s.SASLPwcheck = c.List("sasl_pwcheck_method", []string{"auxprop"})
	for i, m := range s.SASLPwcheck {
		s.SASLPwcheck[i] = strings.ToLower(m)
		if !slices.Contains(PwcheckMethods, s.SASLPwcheck[i]) {
			e, _ := c.lookup("sasl_pwcheck_method")
			return nil, e.errorf("option sasl_pwcheck_method: %q is not available (valid: %s)", m, strings.Join(PwcheckMethods, ", "))
		}
	}
	s.SASLSaslauthd = c.String("sasl_saslauthd_path", "/var/run/saslauthd/mux")
	s.DebugCommand = c.String("debug_command", "")
	s.TLSServerCert = c.String("tls_server_cert", "")
	s.TLSServerKey = c.String("tls_server_key", "")
	s.TLSClientCAFile = c.String("tls_client_ca_file", "")
	s.TLSVersions = c.String("tls_versions", "tls1_2 tls1_3")

	var err error
	if s.AllowPlaintext, err = c.Bool("allowplaintext", false); err != nil {
		return nil, err
	}
	if s.TLSRequired, err = c.Bool("tls_required", false); err != nil {
		return nil, err
	}
	if s.Debug, err = c.Bool("debug", false); err != nil {
		return nil, err
	}
	if s.IDResponse, err = c.Bool("imapidresponse", true); err != nil {
		return nil, err
	}
	if s.Timeout, err = c.Duration("timeout", time.Minute, 32*time.Minute); err != nil {
		return nil, err
	}
	if s.Timeout < MinTimeout {
		s.Timeout = MinTimeout
	}
	if s.IMAPIdleTimeout, err = c.Duration("imapidletimeout", time.Minute, 0); err != nil {
		return nil, err
	}
	if s.LiteralMinus, err = c.Bool("literalminus", false); err != nil {
		return nil, err
	}
	if s.SearchIndexOnWrite, err = c.Bool("search_index_on_write", false); err != nil {
		return nil, err
	}
	for _, k := range []struct {
		key string
		dst *int
	}{{"maxlogins_per_user", &s.MaxLoginsPerUser}, {"maxlogins_per_host", &s.MaxLoginsPerHost}} {
		n, err := c.Int(k.key, 0)
		if err != nil {
			return nil, err
		}
		*k.dst = int(n)
	}
	if s.TelemetryBySessionID, err = c.Bool("telemetry_bysessionid", false); err != nil {
		return nil, err
	}
	if s.MultiSession, err = c.Bool("multisession", false); err != nil {
		return nil, err
	}
	s.SubmitServers = c.List("submitservers", nil)
	s.DefaultACL = c.String("defaultacl", "") // "": Cyrus's "anyone lrs"
	for _, f := range strings.Split(c.String("autocreate_inbox_folders", ""), "|") {
		if f = strings.TrimSpace(f); f != "" {
			s.AutocreateFolders = append(s.AutocreateFolders, f)
		}
	}
	if s.FailedLoginPause, err = c.Duration("failedloginpause", time.Second, 3*time.Second); err != nil {
		return nil, err
	}
	if s.FailedLoginPause < 0 {
		e, _ := c.lookup("failedloginpause")
		return nil, e.errorf("option failedloginpause: must not be negative")
	}
	if s.MaxMessageSize, err = c.Size("maxmessagesize", 0); err != nil {
		return nil, err
	}
	if err := s.quota(c); err != nil {
		return nil, err
	}
	if err := s.loginCache(c); err != nil {
		return nil, err
	}
	if err := s.metadata(c); err != nil {
		return nil, err
	}
	if err := s.syslog(c); err != nil {
		return nil, err
	}
	if err := s.sqlAuth(c); err != nil {
		return nil, err
	}
	return s, nil
}

// metadata reads metadata_maxsize and metadata_maxentries (ours: Cyrus
// bounds METADATA by its annotation quota only).
func (s *Settings) metadata(c *Config) error {
	var err error
	if s.MetadataMaxSize, err = c.Size("metadata_maxsize", 0); err != nil {
		return err
	}
	n, err := c.Int("metadata_maxentries", 0)
	if err != nil {
		return err
	}
	if s.MetadataMaxSize < 0 || n < 0 {
		return &Error{File: c.path, Msg: "metadata_maxsize and metadata_maxentries must not be negative"}
	}
	s.MetadataMaxEntries = int(n)
	return nil
}

// loginCache reads logincache_dir and logincache_ttl.
func (s *Settings) loginCache(c *Config) error {
	s.LoginCacheDir = c.String("logincache_dir", "/dev/shm")
	if !filepath.IsAbs(s.LoginCacheDir) {
		e, _ := c.lookup("logincache_dir")
		return e.errorf("option logincache_dir: must be an absolute path")
	}
	var err error
	if s.LoginCacheTTL, err = c.Duration("logincache_ttl", time.Minute, 10*time.Minute); err != nil {
		return err
	}
	if s.LoginCacheTTL < 0 {
		e, _ := c.lookup("logincache_ttl")
		return e.errorf("option logincache_ttl: must not be negative")
	}
	return nil
}

// String describes the settings in one line, for debug logs.
func (s *Settings) String() string {
	return fmt.Sprintf("configdirectory=%s store=%s partition=%s servername=%s", s.ConfigDir, s.Store, s.Partition, s.ServerName)
}
