package config

import (
	"strings"
	"testing"
)

func TestSettingsQuota(t *testing.T) {
	for _, tt := range []struct {
		text       string
		warn       int
		autocreate int64
		err        string
	}{
		{text: "", warn: 90, autocreate: -1},
		{text: "quotawarn: 75\nautocreate_quota: 0\n", warn: 75, autocreate: 0},
		{text: "quotawarn: 0\nautocreate_quota: 102400\n", warn: 0, autocreate: 102400},
		{text: "quotawarn: 101\n", err: "/etc/imapd.conf:2: option quotawarn: 101 is not a percent"},
		{text: "quotawarn: lots\n", err: "/etc/imapd.conf:2: option quotawarn"},
		{text: "autocreate_quota: big\n", err: "/etc/imapd.conf:2: option autocreate_quota"},
	} {
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
		if s.QuotaWarn != tt.warn || s.AutocreateQuota != tt.autocreate {
			t.Errorf("%q: quotawarn %d, autocreate_quota %d; want %d, %d", tt.text, s.QuotaWarn, s.AutocreateQuota, tt.warn, tt.autocreate)
		}
	}
}
