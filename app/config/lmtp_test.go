package config

import (
	"testing"
	"time"
)

func TestLMTP(t *testing.T) {
	for _, tc := range []struct {
		text string
		want LMTP
		bad  bool
	}{
		{text: "", want: LMTP{DuplicateSuppression: true, DowncaseRcpt: true, DuplicateExpire: 72 * time.Hour, Timeout: 5 * time.Minute}},
		{text: "duplicatesuppression: no\nlmtp_downcase_rcpt: 0\nlmtp_over_quota_perm_failure: yes\nlmtp_duplicate_expire: 7\nlmtptxn_timeout: 30\n",
			want: LMTP{OverQuotaPermFailure: true, DuplicateExpire: 7 * 24 * time.Hour, Timeout: 30 * time.Second}},
		{text: "lmtp_duplicate_expire: 12h\n", want: LMTP{DuplicateSuppression: true, DowncaseRcpt: true, DuplicateExpire: 12 * time.Hour, Timeout: 5 * time.Minute}},
		{text: "lmtptxn_timeout: 0\n", bad: true},
		{text: "lmtp_strict_quota: yes\n", want: LMTP{DuplicateSuppression: true, DowncaseRcpt: true, StrictQuota: true, DuplicateExpire: 72 * time.Hour, Timeout: 5 * time.Minute}},
		{text: "lmtp_duplicate_expire: 0\n", bad: true},
		{text: "duplicatesuppression: maybe\n", bad: true},
	} {
		got, err := parse(t, tc.text).LMTP()
		if tc.bad != (err != nil) || (!tc.bad && *got != tc.want) {
			t.Errorf("%q: %+v, %v; want %+v (bad %v)", tc.text, got, err, tc.want, tc.bad)
		}
	}
}
