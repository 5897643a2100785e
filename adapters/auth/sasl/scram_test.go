package sasl

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// scramClient is the client side of SCRAM-SHA-256 written from RFC 5802
// section 3 and 5 for the tests, sharing nothing with the server's code.
// The fields after nonce tamper with the exchange.
type scramClient struct {
	user, password, authzid string
	flag                    string // "n", "y" or "p=<cb-name>"
	cbData                  []byte // channel binding data when flag is p=
	nonce                   string

	firstOverride string                   // sent instead of the client-first-message
	tamperNonce   bool                     // change the nonce in the final message
	tamperProof   bool                     // flip a bit of the proof
	cHeader       string                   // gs2 header to send in c= instead of the first one
	afterFinal    []byte                   // the response to the server-final-message
	onServerFirst func(serverFirst string) // sees the server-first-message
}

func saslnameEscape(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// hiPBKDF2 is Hi() of RFC 5802 section 2.2, spelled out.
func hiPBKDF2(password, salt []byte, i int) []byte {
	mac := func(key, msg []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		return m.Sum(nil)
	}
	u := mac(password, append(append([]byte{}, salt...), 0, 0, 0, 1))
	out := append([]byte{}, u...)
	for n := 2; n <= i; n++ {
		u = mac(password, u)
		for j := range out {
			out[j] ^= u[j]
		}
	}
	return out
}

func clientHMAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// run drives the exchange against srv; ir sends the client-first-message
// as an initial response. It returns the server's identity, or the server's
// error; a wrong server signature fails the test.
func (c *scramClient) run(t *testing.T, srv ports.SASLServer, ir bool) (string, error) {
	t.Helper()
	gs2 := c.flag + ","
	if c.authzid != "" {
		gs2 += "a=" + saslnameEscape(c.authzid)
	}
	gs2 += ","
	bare := "n=" + saslnameEscape(c.user) + ",r=" + c.nonce
	first := gs2 + bare
	if c.firstOverride != "" {
		first = c.firstOverride
	}

	var chal []byte
	var done bool
	var err error
	if ir {
		chal, done, err = srv.Next([]byte(first))
	} else {
		chal, done, err = srv.Next(nil)
		if err != nil || done || len(chal) != 0 {
			t.Fatalf("start without initial response: %q %v %v", chal, done, err)
		}
		chal, done, err = srv.Next([]byte(first))
	}
	if err != nil {
		return "", err
	}
	if done {
		t.Fatal("done after the first message")
	}
	serverFirst := string(chal)
	if c.onServerFirst != nil {
		c.onServerFirst(serverFirst)
	}
	attrs := map[string]string{}
	for _, a := range strings.Split(serverFirst, ",") {
		k, v, _ := strings.Cut(a, "=")
		attrs[k] = v
	}
	if !strings.HasPrefix(attrs["r"], c.nonce) || len(attrs["r"]) <= len(c.nonce) {
		t.Fatalf("server nonce %q does not extend %q", attrs["r"], c.nonce)
	}
	salt, err := base64.StdEncoding.DecodeString(attrs["s"])
	if err != nil {
		t.Fatalf("salt: %v", err)
	}
	iter, err := strconv.Atoi(attrs["i"])
	if err != nil || iter < 4096 {
		t.Fatalf("iteration count %q", attrs["i"])
	}

	cbInput := []byte(gs2)
	if c.cHeader != "" {
		cbInput = []byte(c.cHeader)
	}
	if strings.HasPrefix(c.flag, "p=") {
		cbInput = append(cbInput, c.cbData...)
	}
	nonce := attrs["r"]
	if c.tamperNonce {
		nonce += "x"
	}
	withoutProof := "c=" + base64.StdEncoding.EncodeToString(cbInput) + ",r=" + nonce
	authMessage := bare + "," + serverFirst + "," + withoutProof

	salted := hiPBKDF2([]byte(c.password), salt, iter)
	clientKey := clientHMAC(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	clientSig := clientHMAC(storedKey[:], authMessage)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ clientSig[i]
	}
	if c.tamperProof {
		proof[0] ^= 1
	}
	final := withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)
	chal, done, err = srv.Next([]byte(final))
	if err != nil {
		return "", err
	}
	if done {
		t.Fatal("done without a server-final-message")
	}
	serverKey := clientHMAC(salted, "Server Key")
	wantV := "v=" + base64.StdEncoding.EncodeToString(clientHMAC(serverKey, authMessage))
	if string(chal) != wantV {
		t.Fatalf("server-final %q, want %q", chal, wantV)
	}
	last := c.afterFinal
	if last == nil {
		last = []byte{}
	}
	chal, done, err = srv.Next(last)
	if err != nil {
		return "", err
	}
	if !done || len(chal) != 0 {
		t.Fatalf("after final: %q %v", chal, done)
	}
	return srv.Identity(), nil
}

// The RFC 7677 section 3 example, message by message.
func TestScramRFC7677Vector(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	keys, err := DeriveScramKeys("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	s := &scramServer{
		keys: func(user string) (ScramKeys, bool, error) {
			return keys, user == "user", nil
		},
		newNonce: func() (string, error) { return "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", nil },
	}
	steps := []struct{ in, out string }{
		{"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"},
		{"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
	}
	for i, st := range steps {
		out, done, err := s.Next([]byte(st.in))
		if err != nil || done || string(out) != st.out {
			t.Fatalf("step %d: %q %v %v, want %q", i, out, done, err, st.out)
		}
	}
	if _, done, err := s.Next([]byte{}); !done || err != nil || s.Identity() != "user" {
		t.Fatalf("end: %v %v %q", done, err, s.Identity())
	}

	// The test client's arithmetic against the same example.
	salted := hiPBKDF2([]byte("pencil"), salt, 4096)
	ck := clientHMAC(salted, "Client Key")
	sk := sha256.Sum256(ck)
	if !bytes.Equal(sk[:], keys.StoredKey) || !bytes.Equal(clientHMAC(salted, "Server Key"), keys.ServerKey) {
		t.Error("client and server derive different keys")
	}
}

func TestScramKeysFormat(t *testing.T) {
	k, err := NewScramKeys("pencil", ScramIterations)
	if err != nil {
		t.Fatal(err)
	}
	s := k.String()
	if !strings.HasPrefix(s, "scram-sha-256$4096$") || strings.ContainsAny(s, ": \n") {
		t.Fatalf("String() = %q", s)
	}
	back, err := ParseScramKeys(s)
	if err != nil || back.Iterations != k.Iterations || !bytes.Equal(back.Salt, k.Salt) ||
		!bytes.Equal(back.StoredKey, k.StoredKey) || !bytes.Equal(back.ServerKey, k.ServerKey) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	k2, _ := NewScramKeys("pencil", ScramIterations)
	if bytes.Equal(k.Salt, k2.Salt) {
		t.Error("two salts are equal")
	}
	for _, bad := range []string{
		"", "scram-sha-256", "scram-sha-256$0$AA==$" + strings.Repeat("A", 43) + "=$" + strings.Repeat("A", 43) + "=",
		"scram-sha-256$4096$!!$x$y", "scram-sha-1$4096$AA==$AA==$AA==",
		"scram-sha-256$4096$AA==$AA==$AA==",
	} {
		if _, err := ParseScramKeys(bad); err == nil {
			t.Errorf("ParseScramKeys(%q) accepted", bad)
		}
	}
}

func TestSASLprep(t *testing.T) {
	tests := []struct {
		in, out string
		ok      bool
	}{
		{"pencil", "pencil", true},
		{"I\u00adX", "IX", true},          // RFC 4013 section 3: soft hyphen mapped to nothing
		{"user", "user", true},            // unchanged
		{"\u00aa", "a", true},             // NFKC
		{"\u2168", "IX", true},            // NFKC
		{"a\u00a0b", "a b", true},         // non-ASCII space
		{"\u0007", "", false},             // control character
		{"a\ue000", "", false},            // private use
		{"tab\there", "", false},          // ASCII control
		{"caf\u00e9", "caf\u00e9", true},  // already NFKC
		{"cafe\u0301", "caf\u00e9", true}, // composed
	}
	for _, tt := range tests {
		got, err := SASLprep(tt.in)
		if (err == nil) != tt.ok || got != tt.out {
			t.Errorf("SASLprep(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func scramAuth(t *testing.T) (*Auth, *UserDB) {
	t.Helper()
	db := Open(t.TempDir())
	for u, p := range map[string]string{"alice": "wonderland", "x=y,z": "odd name", "zoë": "caf\u00e9"} {
		if err := db.Add(u, p); err != nil {
			t.Fatal(err)
		}
	}
	return New(Options{}, db), db
}

func TestScramExchanges(t *testing.T) {
	a, db := scramAuth(t)
	// A line written before SCRAM keys were kept: bcrypt only.
	old := "legacy:$2a$04$abcdefghijklmnopqrstuu5Hh0pWUNcVtAXbMzk8lVpgGv0iVn6R6\n"
	f, err := os.OpenFile(db.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(old)
	f.Close()

	noTLS := ports.ConnInfo{}
	tests := []struct {
		name string
		c    scramClient
		ir   bool
		want string // identity; "" = refused
	}{
		{"good", scramClient{user: "alice", password: "wonderland", flag: "n"}, false, "alice"},
		{"good with initial response", scramClient{user: "alice", password: "wonderland", flag: "n"}, true, "alice"},
		{"escaped name", scramClient{user: "x=y,z", password: "odd name", flag: "n"}, true, "x=y,z"},
		{"non-ASCII name and password", scramClient{user: "zoë", password: "caf\u00e9", flag: "n"}, true, "zoë"},
		{"authzid equal", scramClient{user: "alice", authzid: "alice", password: "wonderland", flag: "n"}, true, "alice"},
		{"y flag without -PLUS offered", scramClient{user: "alice", password: "wonderland", flag: "y"}, true, "alice"},
		{"wrong password", scramClient{user: "alice", password: "looking-glass", flag: "n"}, true, ""},
		{"unknown user", scramClient{user: "mallory", password: "wonderland", flag: "n"}, true, ""},
		{"user without SCRAM keys", scramClient{user: "legacy", password: "anything", flag: "n"}, true, ""},
		{"bad proof", scramClient{user: "alice", password: "wonderland", flag: "n", tamperProof: true}, true, ""},
		{"bad nonce", scramClient{user: "alice", password: "wonderland", flag: "n", tamperNonce: true}, true, ""},
		{"authzid other", scramClient{user: "alice", authzid: "bob", password: "wonderland", flag: "n"}, true, ""},
		{"p flag on SCRAM-SHA-256", scramClient{user: "alice", password: "wonderland", flag: "p=tls-unique"}, true, ""},
		{"gs2 header changed in c=", scramClient{user: "alice", password: "wonderland", flag: "n", cHeader: "y,,"}, true, ""},
		{"data after server-final", scramClient{user: "alice", password: "wonderland", flag: "n", afterFinal: []byte("x")}, true, ""},
		{"mandatory extension", scramClient{firstOverride: "n,,m=ext,n=alice,r=abc", nonce: "abc"}, true, ""},
		{"bad flag", scramClient{firstOverride: "q,,n=alice,r=abc"}, true, ""},
		{"bad authzid", scramClient{firstOverride: "n,b=alice,n=alice,r=abc"}, true, ""},
		{"bad escape", scramClient{firstOverride: "n,,n=al=2Xce,r=abc"}, true, ""},
		{"comma-free nonce missing", scramClient{firstOverride: "n,,n=alice,r="}, true, ""},
		{"no nonce", scramClient{firstOverride: "n,,n=alice"}, true, ""},
		{"empty", scramClient{firstOverride: ""}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.c.nonce == "" {
				tt.c.nonce = "fyko+d2lbbFgONRv9qkxdawL"
			}
			srv, err := a.NewSASL(context.Background(), "scram-sha-256", noTLS)
			if err != nil {
				t.Fatal(err)
			}
			var id string
			if tt.name == "empty" {
				_, _, err = srv.Next([]byte{})
			} else {
				id, err = tt.c.run(t, srv, tt.ir)
			}
			if tt.want == "" {
				if !errors.Is(err, imap.ErrAuthFailed) {
					t.Fatalf("err = %v, want ErrAuthFailed", err)
				}
				if srv.Identity() != "" {
					t.Errorf("Identity() = %q after a failure", srv.Identity())
				}
				return
			}
			if err != nil || id != tt.want {
				t.Fatalf("identity %q, err %v; want %q", id, err, tt.want)
			}
		})
	}
}

// An unknown user gets the same salt at every attempt, as a real one does,
// so the answer does not tell whether the user exists.
func TestScramUnknownUserStableSalt(t *testing.T) {
	a, _ := scramAuth(t)
	salts := map[string]int{}
	for _, user := range []string{"mallory", "mallory", "alice", "alice"} {
		srv, _ := a.NewSASL(context.Background(), ScramSHA256, ports.ConnInfo{})
		chal, _, err := srv.Next([]byte("n,,n=" + user + ",r=abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Split(string(chal), ",") {
			if strings.HasPrefix(f, "s=") {
				salts[user+" "+f]++
			}
		}
	}
	if len(salts) != 2 {
		t.Errorf("salts: %v", salts)
	}
}

// tls-unique and tls-exporter from a real TLS connection: the client takes
// its binding from its own side of the connection.
func TestScramPlus(t *testing.T) {
	pki := newTestPKI(t)
	a, _ := scramAuth(t)
	tls13s, tls13c := pki.tlsPair(t, tls.VersionTLS13, nil, tls.NoClientCert)
	tls12s, tls12c := pki.tlsPair(t, tls.VersionTLS12, nil, tls.NoClientCert)
	otherS, otherC := pki.tlsPair(t, tls.VersionTLS13, nil, tls.NoClientCert)
	_ = otherS

	exporter := func(st tls.ConnectionState) []byte {
		d, err := st.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if len(tls12c.TLSUnique) == 0 || bytes.Equal(exporter(tls13c), exporter(otherC)) {
		t.Fatal("test connections give no usable binding")
	}

	conn := func(st tls.ConnectionState) ports.ConnInfo {
		return ports.ConnInfo{SSF: 256, TLS: true, TLSState: &st}
	}
	tests := []struct {
		name string
		mech string
		conn ports.ConnInfo
		c    scramClient
		ok   bool
	}{
		{"TLS 1.3 tls-exporter", ScramSHA256Plus, conn(tls13s),
			scramClient{flag: "p=tls-exporter", cbData: exporter(tls13c)}, true},
		{"TLS 1.2 tls-unique", ScramSHA256Plus, conn(tls12s),
			scramClient{flag: "p=tls-unique", cbData: tls12c.TLSUnique}, true},
		{"exporter of another connection", ScramSHA256Plus, conn(tls13s),
			scramClient{flag: "p=tls-exporter", cbData: exporter(otherC)}, false},
		{"tls-unique on TLS 1.3", ScramSHA256Plus, conn(tls13s),
			scramClient{flag: "p=tls-unique", cbData: exporter(tls13c)}, false},
		{"tls-exporter on TLS 1.2", ScramSHA256Plus, conn(tls12s),
			scramClient{flag: "p=tls-exporter", cbData: tls12c.TLSUnique}, false},
		{"flipped binding bit", ScramSHA256Plus, conn(tls12s),
			scramClient{flag: "p=tls-unique", cbData: flip(tls12c.TLSUnique)}, false},
		{"-PLUS without binding", ScramSHA256Plus, conn(tls13s), scramClient{flag: "n"}, false},
		{"-PLUS with y", ScramSHA256Plus, conn(tls13s), scramClient{flag: "y"}, false},
		{"plain SCRAM over TLS", ScramSHA256, conn(tls13s), scramClient{flag: "n"}, true},
		// RFC 5802 section 6: "y" while the server offers -PLUS is a
		// downgrade by a man in the middle.
		{"y while -PLUS offered", ScramSHA256, conn(tls13s), scramClient{flag: "y"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.user, tt.c.password, tt.c.nonce = "alice", "wonderland", "rOprNGfwEbeRWgbNEkqO"
			srv, err := a.NewSASL(context.Background(), tt.mech, tt.conn)
			if err != nil {
				t.Fatal(err)
			}
			id, err := tt.c.run(t, srv, true)
			if tt.ok && (err != nil || id != "alice") {
				t.Fatalf("identity %q, err %v", id, err)
			}
			if !tt.ok && !errors.Is(err, imap.ErrAuthFailed) {
				t.Fatalf("err = %v, want ErrAuthFailed", err)
			}
		})
	}

	// -PLUS is refused outright where there is no binding.
	for _, ci := range []ports.ConnInfo{{}, {SSF: 2}, {SSF: 256, TLS: true}} {
		if _, err := a.NewSASL(context.Background(), ScramSHA256Plus, ci); !errors.Is(err, imap.ErrCannot) {
			t.Errorf("NewSASL(-PLUS, %+v) = %v, want ErrCannot", ci, err)
		}
	}
}

func flip(b []byte) []byte {
	c := append([]byte{}, b...)
	c[len(c)-1] ^= 0x80
	return c
}

// Users added by this version have both credentials; lines of the old
// format still load and check their password; unknown credential kinds
// survive a rewrite.
func TestUserDBFormatCompat(t *testing.T) {
	dir := t.TempDir()
	db := Open(dir)
	if err := db.Add("alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(db.Path())
	fields := strings.Split(strings.TrimSpace(string(data)), ":")
	if len(fields) != 3 || fields[0] != "alice" || !strings.HasPrefix(fields[1], "$2a$") || !strings.HasPrefix(fields[2], "scram-sha-256$4096$") {
		t.Fatalf("line = %q", data)
	}
	k, ok, err := db.ScramKeys("alice")
	if err != nil || !ok {
		t.Fatalf("ScramKeys = %v %v", ok, err)
	}
	want, _ := DeriveScramKeys("wonderland", k.Salt, k.Iterations)
	if !bytes.Equal(k.StoredKey, want.StoredKey) || !bytes.Equal(k.ServerKey, want.ServerKey) {
		t.Error("stored keys do not match the password")
	}

	// An old line (bcrypt only) and a line with a future kind.
	hash := fields[1]
	lines := "bob:" + hash + "\ncarol:" + hash + ":argon2$whatever\n" + string(data)
	if err := os.WriteFile(filepath.Join(dir, PasswdFile), []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.Verify("bob", "wonderland"); err != nil {
		t.Errorf("old line: %v", err)
	}
	if _, ok, err := db.ScramKeys("bob"); ok || err != nil {
		t.Errorf("old line has keys: %v %v", ok, err)
	}
	if err := db.Add("dave", "pw"); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(db.Path())
	if !strings.Contains(string(data), "\ncarol:"+hash+":argon2$whatever\n") || !strings.Contains(string(data), "\nbob:"+hash+"\n") {
		t.Errorf("rewrite lost data:\n%s", data)
	}
	// Setting the password gives an old user SCRAM keys.
	if err := db.SetPassword("bob", "new"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.ScramKeys("bob"); !ok {
		t.Error("SetPassword did not add SCRAM keys")
	}

	for _, bad := range []string{"x:$2a$:\n", "x:$2a$:scram-sha-256$1$AA==\n", "x:\n"} {
		os.WriteFile(filepath.Join(dir, PasswdFile), []byte(bad), 0o600)
		if err := Open(dir).Verify("x", "y"); err == nil || errors.Is(err, imap.ErrAuthFailed) {
			t.Errorf("file %q: %v, want a fault", bad, err)
		}
	}
}
