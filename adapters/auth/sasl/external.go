package sasl

import (
	"crypto/tls"

	"github.com/imapd-go/imapd/domain/imap"
)

// External is the EXTERNAL mechanism's name (RFC 4422 appendix A).
const External = "EXTERNAL"

// certIdentity is the user a verified TLS client certificate names: the
// subject's common name, as Cyrus maps it. ok is false without TLS, without
// a client certificate, when the transport did not verify it against
// tls_client_ca_file (no verified chain), or when the CN is not a valid user
// name.
func certIdentity(st *tls.ConnectionState) (string, bool) {
	if st == nil || !st.HandshakeComplete || len(st.PeerCertificates) == 0 || len(st.VerifiedChains) == 0 {
		return "", false
	}
	cn := st.PeerCertificates[0].Subject.CommonName
	if ValidName(cn) != nil {
		return "", false
	}
	return cn, true
}

// externalServer is the server side of EXTERNAL: the client sends only an
// authorization identity (empty: "the one you already know"), and the
// identity comes from the certificate.
type externalServer struct {
	certUser string
	step     int
	ident    string
}

func (s *externalServer) Next(response []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		s.step = 1
		if response == nil {
			// No initial response: ask for the authzid.
			return []byte{}, false, nil
		}
		return s.finish(string(response))
	case 1:
		return s.finish(string(response))
	}
	return nil, false, imap.Errorf("authenticate", imap.ErrAuthFailed, "EXTERNAL: exchange already finished")
}

func (s *externalServer) finish(authzid string) ([]byte, bool, error) {
	s.step = 2
	if authzid != "" && authzid != s.certUser {
		return nil, false, imap.Errorf("authenticate", imap.ErrAuthFailed, "EXTERNAL: %s may not act as %s", s.certUser, authzid)
	}
	s.ident = s.certUser
	return nil, true, nil
}

func (s *externalServer) Identity() string { return s.ident }
