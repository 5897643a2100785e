package config

import (
	"time"
)

// LMTP are lmtpd's own options.
type LMTP struct {
	// DuplicateSuppression is duplicatesuppression (default on): a
	// message whose Message-ID and Date were delivered to a mailbox
	// before is not stored there again.
	DuplicateSuppression bool
	// DuplicateExpire is lmtp_duplicate_expire (ours; days without a
	// unit; default 3d): how long a delivery is remembered for that.
	// Cyrus has no key and prunes with cyr_expire -E <days>.
	DuplicateExpire time.Duration
	// DowncaseRcpt is lmtp_downcase_rcpt (default on): recipients' user
	// and domain are lower-cased.
	DowncaseRcpt bool
	// OverQuotaPermFailure is lmtp_over_quota_perm_failure (default
	// off): over quota is 552 5.2.2 rather than 452 4.2.2.
	OverQuotaPermFailure bool
	// StrictQuota is lmtp_strict_quota (default off): RCPT also refuses
	// a recipient whose quota cannot take the size MAIL declared.
	StrictQuota bool
	// Timeout is lmtptxn_timeout (seconds without a unit; default 5m):
	// the longest wait for the client before the connection is closed.
	Timeout time.Duration
}

// DefaultDuplicateExpire is lmtp_duplicate_expire's default: three days,
// what Debian's cyrus.conf gives cyr_expire -E.
const DefaultDuplicateExpire = 3 * 24 * time.Hour

// LMTP extracts lmtpd's options.
func (c *Config) LMTP() (*LMTP, error) {
	l := &LMTP{}
	var err error
	if l.DuplicateSuppression, err = c.Bool("duplicatesuppression", true); err != nil {
		return nil, err
	}
	if l.DowncaseRcpt, err = c.Bool("lmtp_downcase_rcpt", true); err != nil {
		return nil, err
	}
	if l.OverQuotaPermFailure, err = c.Bool("lmtp_over_quota_perm_failure", false); err != nil {
		return nil, err
	}
	if l.StrictQuota, err = c.Bool("lmtp_strict_quota", false); err != nil {
		return nil, err
	}
	if l.Timeout, err = c.Duration("lmtptxn_timeout", time.Second, 5*time.Minute); err != nil {
		return nil, err
	}
	if l.Timeout <= 0 {
		e, _ := c.lookup("lmtptxn_timeout")
		return nil, e.errorf("option lmtptxn_timeout: must be positive")
	}
	if l.DuplicateExpire, err = c.Duration("lmtp_duplicate_expire", 24*time.Hour, DefaultDuplicateExpire); err != nil {
		return nil, err
	}
	if l.DuplicateExpire <= 0 {
		e, _ := c.lookup("lmtp_duplicate_expire")
		return nil, e.errorf("option lmtp_duplicate_expire: must be positive")
	}
	return l, nil
}
