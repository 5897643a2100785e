package sasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/imapd-go/imapd/domain/imap"
)

// Mechanism names of SCRAM (RFC 7677).
const (
	ScramSHA256     = "SCRAM-SHA-256"
	ScramSHA256Plus = "SCRAM-SHA-256-PLUS"
)

// scramKind tags SCRAM keys in the password file.
const scramKind = "scram-sha-256"

// ScramIterations is the PBKDF2 iteration count of new SCRAM keys; RFC 7677
// section 4 asks for at least 4096.
const ScramIterations = 4096

// scramSaltLen is the length of new salts, in bytes.
const scramSaltLen = 16

// ScramKeys are what a server keeps to check SCRAM-SHA-256 proofs without
// the password (RFC 5802 section 3): the salt and iteration count given to
// the client, StoredKey = H(ClientKey) and ServerKey.
type ScramKeys struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// NewScramKeys derives keys for password with a fresh random salt.
func NewScramKeys(password string, iterations int) (ScramKeys, error) {
	salt := make([]byte, scramSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return ScramKeys{}, err
	}
	return DeriveScramKeys(password, salt, iterations)
}

// DeriveScramKeys computes the keys of password with the given salt and
// iteration count (RFC 5802 section 3):
//
//	SaltedPassword = Hi(SASLprep(password), salt, i)
//	ClientKey      = HMAC(SaltedPassword, "Client Key")
//	StoredKey      = H(ClientKey)
//	ServerKey      = HMAC(SaltedPassword, "Server Key")
func DeriveScramKeys(password string, salt []byte, iterations int) (ScramKeys, error) {
	if iterations < 1 {
		return ScramKeys{}, fmt.Errorf("iteration count %d", iterations)
	}
	p, err := SASLprep(password)
	if err != nil {
		return ScramKeys{}, err
	}
	// Hi() is PBKDF2 with HMAC-SHA-256 and one block of output.
	salted, err := pbkdf2.Key(sha256.New, p, salt, iterations, sha256.Size)
	if err != nil {
		return ScramKeys{}, err
	}
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	stored := sha256.Sum256(clientKey)
	return ScramKeys{
		Iterations: iterations,
		Salt:       append([]byte(nil), salt...),
		StoredKey:  stored[:],
		ServerKey:  hmacSHA256(salted, []byte("Server Key")),
	}, nil
}

// String is the keys' form in the password file:
// scram-sha-256$<iterations>$<salt>$<StoredKey>$<ServerKey>, the last three
// in standard base64 (whose alphabet has neither '$' nor ':').
func (k ScramKeys) String() string {
	b := base64.StdEncoding
	return scramKind + "$" + strconv.Itoa(k.Iterations) + "$" + b.EncodeToString(k.Salt) + "$" +
		b.EncodeToString(k.StoredKey) + "$" + b.EncodeToString(k.ServerKey)
}

// ParseScramKeys reads the form String writes.
func ParseScramKeys(s string) (ScramKeys, error) {
	f := strings.Split(s, "$")
	if len(f) != 5 || !strings.EqualFold(f[0], scramKind) {
		return ScramKeys{}, errors.New("malformed SCRAM keys")
	}
	var k ScramKeys
	var err error
	if k.Iterations, err = strconv.Atoi(f[1]); err != nil || k.Iterations < 1 {
		return ScramKeys{}, errors.New("malformed SCRAM iteration count")
	}
	b := base64.StdEncoding
	if k.Salt, err = b.DecodeString(f[2]); err != nil || len(k.Salt) == 0 {
		return ScramKeys{}, errors.New("malformed SCRAM salt")
	}
	if k.StoredKey, err = b.DecodeString(f[3]); err != nil || len(k.StoredKey) != sha256.Size {
		return ScramKeys{}, errors.New("malformed SCRAM StoredKey")
	}
	if k.ServerKey, err = b.DecodeString(f[4]); err != nil || len(k.ServerKey) != sha256.Size {
		return ScramKeys{}, errors.New("malformed SCRAM ServerKey")
	}
	return k, nil
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// SASLprep prepares a password as RFC 4013 asks: non-ASCII spaces become
// SPACE, characters "commonly mapped to nothing" are removed, the result is
// in NFKC, and control, private-use, non-character and surrogate code points
// are refused. (The bidirectional rule and unassigned code points are not
// checked; stored strings are treated as queries, as RFC 5802 permits for
// passwords that were never prepared elsewhere.) ASCII passwords without
// control characters are left unchanged.
func SASLprep(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("password is not UTF-8")
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case mappedToNothing(r):
			continue
		case r != ' ' && unicode.Is(unicode.Zs, r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	out := norm.NFKC.String(b.String())
	for _, r := range out {
		if unicode.IsControl(r) || unicode.Is(unicode.Co, r) || unicode.Is(unicode.Cs, r) ||
			r == 0xfffe || r == 0xffff || (r >= 0xfdd0 && r <= 0xfdef) ||
			(r >= 0x2ff0 && r <= 0x2ffb) || r == 0xfff9 || r == 0xfffa || r == 0xfffb ||
			r == 0xfffc || r == 0xfffd || (r >= 0xe0001 && r <= 0xe007f) ||
			r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x206a && r <= 0x206f) {
			return "", fmt.Errorf("password contains prohibited character %U", r)
		}
	}
	return out, nil
}

// mappedToNothing is RFC 3454 table B.1.
func mappedToNothing(r rune) bool {
	switch r {
	case 0x00ad, 0x034f, 0x1806, 0x180b, 0x180c, 0x180d, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff:
		return true
	}
	return r >= 0xfe00 && r <= 0xfe0f
}

// Channel binding types (RFC 5929, RFC 9266).
const (
	cbTLSUnique   = "tls-unique"
	cbTLSExporter = "tls-exporter"
)

// channelBinding returns the channel binding type this server uses on the
// TLS connection st and its data: tls-exporter on TLS 1.3 (RFC 9266; RFC
// 9266 section 3 forbids tls-unique there), tls-unique on earlier versions
// (RFC 5929 section 3). ok is false without TLS.
func channelBinding(st *tls.ConnectionState) (name string, data []byte, ok bool) {
	if st == nil || !st.HandshakeComplete {
		return "", nil, false
	}
	if st.Version >= tls.VersionTLS13 {
		d, err := st.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
		if err != nil {
			return "", nil, false
		}
		return cbTLSExporter, d, true
	}
	if len(st.TLSUnique) == 0 {
		return "", nil, false
	}
	return cbTLSUnique, st.TLSUnique, true
}

// scramServer is the server side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS
// (RFC 5802 section 5, RFC 7677). The exchange is:
//
//	C: n,,n=user,r=cnonce                        (client-first-message)
//	S: r=cnonce+snonce,s=salt,i=4096             (server-first-message)
//	C: c=biws,r=cnonce+snonce,p=proof            (client-final-message)
//	S: v=signature                               (server-final-message)
//	C: (empty)
//
// The server-final message goes out as a last challenge, since IMAP has no
// additional data with success (RFC 9051 section 6.2.2).
type scramServer struct {
	plus bool // the mechanism is SCRAM-SHA-256-PLUS
	// cbName and cbData are the connection's channel binding, "" and nil
	// without TLS; plusOffered tells whether -PLUS was offered here.
	cbName      string
	cbData      []byte
	plusOffered bool
	keys        func(user string) (ScramKeys, bool, error)
	newNonce    func() (string, error)

	step            int
	user            string
	ident           string
	gs2Header       string
	clientFirstBare string
	serverFirst     string
	nonce           string
	k               ScramKeys
	haveKeys        bool
	serverFinal     string
}

func scramFail(format string, args ...any) error {
	return imap.Errorf("authenticate", imap.ErrAuthFailed, "SCRAM: "+format, args...)
}

// randomNonce is the server's part of the nonce: 24 random bytes in base64,
// printable and without ','.
func randomNonce() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawStdEncoding.EncodeToString(b), nil
}

func (s *scramServer) Next(response []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		if response == nil {
			// No initial response: an empty challenge asks for the
			// client-first-message.
			s.step = 1
			return []byte{}, false, nil
		}
		s.step = 1
		return s.first(string(response))
	case 1:
		return s.first(string(response))
	case 2:
		return s.final(string(response))
	case 3:
		s.step = 4
		if len(response) != 0 {
			return nil, false, scramFail("unexpected data after the server's final message")
		}
		s.ident = s.user
		return nil, true, nil
	}
	return nil, false, scramFail("exchange already finished")
}

func (s *scramServer) Identity() string { return s.ident }

// first handles the client-first-message and answers the server-first.
func (s *scramServer) first(msg string) ([]byte, bool, error) {
	s.step = 5 // any error ends the exchange
	// gs2-header = gs2-cbind-flag "," [ authzid ] ","
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return nil, false, scramFail("malformed client-first-message")
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, false, scramFail("malformed client-first-message")
	}
	s.gs2Header = flag + "," + authz + ","
	s.clientFirstBare = bare

	// RFC 5802 section 6: the channel binding flag against the mechanism.
	switch {
	case flag == "n":
		if s.plus {
			return nil, false, scramFail("%s without channel binding", ScramSHA256Plus)
		}
	case flag == "y":
		// The client can bind but thought the server could not: if
		// the server offered -PLUS, this is a downgrade.
		if s.plus || s.plusOffered {
			return nil, false, scramFail("channel binding downgrade refused")
		}
	case strings.HasPrefix(flag, "p="):
		if !s.plus {
			return nil, false, scramFail("channel binding requested with %s", ScramSHA256)
		}
		if s.cbName == "" || flag[2:] != s.cbName {
			return nil, false, scramFail("unsupported channel binding type %q", flag[2:])
		}
	default:
		return nil, false, scramFail("bad channel binding flag %q", flag)
	}

	var authzid string
	if authz != "" {
		if !strings.HasPrefix(authz, "a=") {
			return nil, false, scramFail("malformed authzid")
		}
		var err error
		if authzid, err = decodeSaslname(authz[2:]); err != nil {
			return nil, false, err
		}
	}

	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 {
		return nil, false, scramFail("malformed client-first-message")
	}
	if strings.HasPrefix(attrs[0], "m=") {
		// RFC 5802 section 5.1: mandatory extensions we do not know.
		return nil, false, scramFail("unsupported mandatory extension")
	}
	if !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, false, scramFail("malformed client-first-message")
	}
	user, err := decodeSaslname(attrs[0][2:])
	if err != nil {
		return nil, false, err
	}
	cnonce := attrs[1][2:]
	if !validNonce(cnonce) {
		return nil, false, scramFail("malformed client nonce")
	}
	for _, a := range attrs[2:] {
		if len(a) < 2 || a[1] != '=' {
			return nil, false, scramFail("malformed extension")
		}
	}
	if ValidName(user) != nil {
		return nil, false, scramFail("invalid user name")
	}
	// Acting as another user is not offered (as with PLAIN).
	if authzid != "" && authzid != user {
		return nil, false, scramFail("%s may not act as %s", user, authzid)
	}
	s.user = user

	k, ok, err := s.keys(user)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		// RFC 5802 section 9: do not reveal whether the user exists (or
		// has SCRAM keys): go on with keys no proof can match, and fail
		// at the end like a wrong password.
		k = mockScramKeys(user)
	}
	s.k, s.haveKeys = k, ok

	snonce, err := s.newNonce()
	if err != nil {
		return nil, false, err
	}
	s.nonce = cnonce + snonce
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(k.Salt) + ",i=" + strconv.Itoa(k.Iterations)
	s.step = 2
	return []byte(s.serverFirst), false, nil
}

// final checks the client-final-message and answers the server-final.
func (s *scramServer) final(msg string) ([]byte, bool, error) {
	s.step = 5
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return nil, false, scramFail("missing proof")
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, false, scramFail("malformed client-final-message")
	}
	for _, a := range attrs[2:] {
		if len(a) < 2 || a[1] != '=' {
			return nil, false, scramFail("malformed extension")
		}
	}
	cb, err := base64.StdEncoding.DecodeString(attrs[0][2:])
	if err != nil {
		return nil, false, scramFail("malformed channel binding")
	}
	// c= is base64(gs2-header [cbind-data]): the header must repeat the
	// first message's, and the data must be this connection's (RFC 5802
	// section 6). A mismatch means a man in the middle.
	want := []byte(s.gs2Header)
	if strings.HasPrefix(s.gs2Header, "p=") {
		want = append(want, s.cbData...)
	}
	if subtle.ConstantTimeCompare(cb, want) != 1 {
		return nil, false, scramFail("channel binding mismatch")
	}
	if subtle.ConstantTimeCompare([]byte(attrs[1][2:]), []byte(s.nonce)) != 1 {
		return nil, false, scramFail("nonce mismatch")
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return nil, false, scramFail("malformed proof")
	}

	authMessage := []byte(s.clientFirstBare + "," + s.serverFirst + "," + withoutProof)
	clientSig := hmacSHA256(s.k.StoredKey, authMessage)
	clientKey := make([]byte, sha256.Size)
	for j := range clientKey {
		clientKey[j] = proof[j] ^ clientSig[j]
	}
	stored := sha256.Sum256(clientKey)
	good := subtle.ConstantTimeCompare(stored[:], s.k.StoredKey) == 1
	if !good || !s.haveKeys {
		return nil, false, scramFail("proof refused for %s", s.user)
	}
	s.serverFinal = "v=" + base64.StdEncoding.EncodeToString(hmacSHA256(s.k.ServerKey, authMessage))
	s.step = 3
	return []byte(s.serverFinal), false, nil
}

// decodeSaslname undoes RFC 5802's escapes: "=2C" is ',' and "=3D" is '=';
// any other '=' is an error.
func decodeSaslname(s string) (string, error) {
	if s == "" || !utf8.ValidString(s) {
		return "", scramFail("malformed name")
	}
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", scramFail("malformed name escape")
		}
		i += 2
	}
	return b.String(), nil
}

// validNonce: printable ASCII except ',' (RFC 5802 section 7).
func validNonce(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 0x21 || n[i] > 0x7e || n[i] == ',' {
			return false
		}
	}
	return true
}

// mockSecret makes the fake salts of unknown users stable within a process
// and unpredictable from outside.
var mockSecret = func() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}()

// mockScramKeys are keys for a user who has none: the salt is the same at
// every attempt (a changing salt would tell the user does not exist), and
// the keys match no password.
func mockScramKeys(user string) ScramKeys {
	return ScramKeys{
		Iterations: ScramIterations,
		Salt:       hmacSHA256(mockSecret, []byte("salt\x00"+user))[:scramSaltLen],
		StoredKey:  hmacSHA256(mockSecret, []byte("stored\x00"+user)),
		ServerKey:  hmacSHA256(mockSecret, []byte("server\x00"+user)),
	}
}
