package config

// quota reads Cyrus's quota keys: quotawarn (default 90, a percent) and
// autocreate_quota (default -1).
func (s *Settings) quota(c *Config) error {
	warn, err := c.Int("quotawarn", 90)
	if err != nil {
		return err
	}
	if warn < 0 || warn > 100 {
		e, _ := c.lookup("quotawarn")
		return e.errorf("option quotawarn: %d is not a percent", warn)
	}
	s.QuotaWarn = int(warn)
	if s.AutocreateQuota, err = c.Int("autocreate_quota", -1); err != nil {
		return err
	}
	return nil
}
