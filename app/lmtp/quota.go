package lmtp

import (
	"context"
	"errors"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// checkQuota refuses, at RCPT, a recipient whose quota root is already at
// a limit (it can take no more bytes or no more messages), as Cyrus's
// lmtpd does; with StrictQuota, one whose root cannot take the size MAIL
// declared. The Store's Append judges the message itself in any case.
func (s *Server) checkQuota(ctx context.Context, user string, declared int64) error {
	qs, ok := s.store.(ports.Quotas)
	if !ok {
		return nil
	}
	q, err := qs.Quota(ctx, user)
	if errors.Is(err, imap.ErrNonexistent) {
		return nil
	}
	if err != nil {
		return err
	}
	bytes := int64(1)
	if s.opts.StrictQuota && declared > 0 {
		bytes = declared
	}
	if !q.Limits.Admits(q.Usage, bytes, 1) {
		return imap.Errorf("deliver", imap.ErrOverQuota, "%s", user)
	}
	return nil
}
