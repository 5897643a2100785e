// Package authtest is the contract suite for ports.Auth: who may log in,
// the equal treatment of unknown users and wrong passwords, and which
// mechanisms a connection is offered by the strength of its security
// layer. An adapter proves it conforms by calling Run from its own tests
// with a function that builds it; like test/storetest, the suite uses only
// the port and the domain vocabulary.
package authtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Config is what the suite asks of the Auth it is given.
type Config struct {
	// AllowPlaintext is allowplaintext: LOGIN and PLAIN without a layer.
	AllowPlaintext bool
	// Admins is the admins option.
	Admins []string
}

// Fixture is an Auth built for the suite and what it knows about it.
type Fixture struct {
	Auth ports.Auth
	// User may log in with Password.
	User, Password string
	// AnyPassword tells that every password of every valid user name is
	// accepted (sasl_pwcheck_method: alwaystrue).
	AnyPassword bool
	// ListsUsers tells that UserExists knows which users exist; a check
	// that cannot list users (saslauthd, alwaystrue) says every valid
	// name may log in.
	ListsUsers bool
}

// Setup builds the adapter configured as c.
type Setup func(t testing.TB, c Config) Fixture

// unknownUser is a valid user name no fixture knows.
const unknownUser = "nobody-here"

// tlsSSF is the strength of a TLS layer.
const tlsSSF = 256

// Run checks every promise of ports.Auth, one subtest per promise.
func Run(t *testing.T, setup Setup) {
	tests := []struct {
		name string
		fn   func(*testing.T, Setup)
	}{
		{"WhoMayLogIn", testWhoMayLogIn},
		{"UnknownLikeWrongPassword", testUnknownLikeWrongPassword},
		{"NoTimingOracle", testNoTimingOracle},
		{"UserExists", testUserExists},
		{"Admins", testAdmins},
		{"MechanismsBySSF", testMechanismsBySSF},
		{"NewSASLOnlyOffered", testNewSASLOnlyOffered},
		{"OfferedMechanismsStart", testOfferedMechanismsStart},
		{"PlainExchange", testPlainExchange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, setup) })
	}
}

func testWhoMayLogIn(t *testing.T, setup Setup) {
	f := setup(t, Config{AllowPlaintext: true})
	ctx := context.Background()
	got, err := f.Auth.CheckPassword(ctx, f.User, f.Password)
	if err != nil {
		t.Fatalf("CheckPassword(%q, right password) = %v", f.User, err)
	}
	if got != f.User {
		t.Errorf("canonical name %q, want %q", got, f.User)
	}
	// An invalid user name never logs in, whatever the password check.
	for _, bad := range []string{"", "a/b", "x\x00y"} {
		if _, err := f.Auth.CheckPassword(ctx, bad, f.Password); !errors.Is(err, imap.ErrAuthFailed) {
			t.Errorf("CheckPassword(%q) = %v, want ErrAuthFailed", bad, err)
		}
	}
	if f.AnyPassword {
		if _, err := f.Auth.CheckPassword(ctx, unknownUser, "anything"); err != nil {
			t.Errorf("any password: CheckPassword(%q) = %v", unknownUser, err)
		}
	}
}

// testUnknownLikeWrongPassword: the port promises the two refusals are
// indistinguishable to callers: the same error kind.
func testUnknownLikeWrongPassword(t *testing.T, setup Setup) {
	f := setup(t, Config{AllowPlaintext: true})
	if f.AnyPassword {
		t.Skip("every password is accepted")
	}
	ctx := context.Background()
	_, wrong := f.Auth.CheckPassword(ctx, f.User, f.Password+"x")
	_, unknown := f.Auth.CheckPassword(ctx, unknownUser, f.Password)
	for name, err := range map[string]error{"wrong password": wrong, "unknown user": unknown} {
		if !errors.Is(err, imap.ErrAuthFailed) {
			t.Errorf("%s: %v, want an error wrapping ErrAuthFailed", name, err)
		}
		if errors.Is(err, imap.ErrCannot) || errors.Is(err, imap.ErrUnavailable) {
			t.Errorf("%s: %v is a fault, not a refusal", name, err)
		}
	}
}

// testNoTimingOracle: an unknown user is refused in about the time a
// wrong password is (the password is checked against something either
// way). The fastest of several tries is compared, which the noise of a
// shared machine only slows; a factor of four is the allowed spread.
func testNoTimingOracle(t *testing.T, setup Setup) {
	f := setup(t, Config{AllowPlaintext: true})
	if f.AnyPassword {
		t.Skip("every password is accepted")
	}
	ctx := context.Background()
	fastest := func(user string) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 7 {
			start := time.Now()
			f.Auth.CheckPassword(ctx, user, f.Password+"x")
			best = min(best, time.Since(start))
		}
		return best
	}
	wrong, unknown := fastest(f.User), fastest(unknownUser)
	if unknown*4 < wrong {
		t.Errorf("unknown user refused in %v, a wrong password in %v: the time tells them apart", unknown, wrong)
	}
}

func testUserExists(t *testing.T, setup Setup) {
	f := setup(t, Config{AllowPlaintext: true})
	ctx := context.Background()
	if ok, err := f.Auth.UserExists(ctx, f.User); err != nil || !ok {
		t.Errorf("UserExists(%q) = %v, %v", f.User, ok, err)
	}
	if ok, err := f.Auth.UserExists(ctx, unknownUser); err != nil || ok != !f.ListsUsers {
		t.Errorf("UserExists(%q) = %v, %v; lists users: %v", unknownUser, ok, err, f.ListsUsers)
	}
	if ok, err := f.Auth.UserExists(ctx, "a/b"); err != nil || ok {
		t.Errorf("UserExists(invalid name) = %v, %v", ok, err)
	}
}

func testAdmins(t *testing.T, setup Setup) {
	f := setup(t, Config{Admins: []string{"root"}})
	if !f.Auth.IsAdmin("root") {
		t.Error("IsAdmin(root) = false with admins: root")
	}
	if f.Auth.IsAdmin(f.User) || f.Auth.IsAdmin("ROOT") {
		t.Error("IsAdmin true for a user not listed (names are exact)")
	}
}

// exposesPassword tells the mechanisms that send the password itself.
func exposesPassword(m string) bool { return m == "PLAIN" || m == "LOGIN" }

// testMechanismsBySSF: no layer, no password-exposing mechanism unless
// allowplaintext; a TLS-strength layer allows them; names are upper-case;
// nothing that needs TLS state (-PLUS, EXTERNAL) is offered without it.
func testMechanismsBySSF(t *testing.T, setup Setup) {
	for _, allow := range []bool{false, true} {
		a := setup(t, Config{AllowPlaintext: allow}).Auth
		if got := a.PlaintextAllowed(0); got != allow {
			t.Errorf("allowplaintext %v: PlaintextAllowed(0) = %v", allow, got)
		}
		if !a.PlaintextAllowed(tlsSSF) {
			t.Errorf("allowplaintext %v: PlaintextAllowed(%d) = false", allow, tlsSSF)
		}
		for _, ssf := range []int{0, tlsSSF} {
			mechs := a.Mechanisms(ports.ConnInfo{SSF: ssf, TLS: ssf > 0})
			for _, m := range mechs {
				if m != strings.ToUpper(m) {
					t.Errorf("mechanism %q is not upper-case", m)
				}
				if exposesPassword(m) && !a.PlaintextAllowed(ssf) {
					t.Errorf("allowplaintext %v, SSF %d: %s offered", allow, ssf, m)
				}
				if strings.HasSuffix(m, "-PLUS") || m == "EXTERNAL" {
					t.Errorf("SSF %d without TLS state: %s offered", ssf, m)
				}
			}
			if a.PlaintextAllowed(ssf) && !slices.Contains(mechs, "PLAIN") {
				t.Errorf("allowplaintext %v, SSF %d: PLAIN allowed but not offered: %v", allow, ssf, mechs)
			}
		}
	}
}

func testNewSASLOnlyOffered(t *testing.T, setup Setup) {
	a := setup(t, Config{}).Auth
	ctx := context.Background()
	for _, c := range []struct {
		mech string
		conn ports.ConnInfo
	}{
		{"PLAIN", ports.ConnInfo{}},
		{"LOGIN", ports.ConnInfo{}},
		{"X-NO-SUCH-MECHANISM", ports.ConnInfo{SSF: tlsSSF, TLS: true}},
		{"EXTERNAL", ports.ConnInfo{SSF: tlsSSF, TLS: true}},
	} {
		if _, err := a.NewSASL(ctx, c.mech, c.conn); !errors.Is(err, imap.ErrCannot) {
			t.Errorf("NewSASL(%s, SSF %d) = %v, want ErrCannot", c.mech, c.conn.SSF, err)
		}
	}
}

// testOfferedMechanismsStart: every mechanism offered on a connection can
// be started on it.
func testOfferedMechanismsStart(t *testing.T, setup Setup) {
	ctx := context.Background()
	for _, allow := range []bool{false, true} {
		a := setup(t, Config{AllowPlaintext: allow}).Auth
		for _, conn := range []ports.ConnInfo{{}, {SSF: tlsSSF, TLS: true}} {
			for _, m := range a.Mechanisms(conn) {
				if _, err := a.NewSASL(ctx, m, conn); err != nil {
					t.Errorf("allowplaintext %v, SSF %d: %s offered but NewSASL = %v", allow, conn.SSF, m, err)
				}
			}
		}
	}
}

// plain runs one PLAIN exchange (RFC 4616) with an initial response.
func plain(t *testing.T, a ports.Auth, user, password string) (string, error) {
	t.Helper()
	s, err := a.NewSASL(context.Background(), "plain", ports.ConnInfo{SSF: tlsSSF, TLS: true})
	if err != nil {
		t.Fatalf("NewSASL(plain) = %v", err)
	}
	_, done, err := s.Next([]byte("\x00" + user + "\x00" + password))
	if err == nil && !done {
		t.Fatalf("PLAIN not done after its only message")
	}
	return s.Identity(), err
}

// testPlainExchange: the SASL path admits and refuses as LOGIN does, and
// names the user it refused for the log.
func testPlainExchange(t *testing.T, setup Setup) {
	f := setup(t, Config{})
	if id, err := plain(t, f.Auth, f.User, f.Password); err != nil || id != f.User {
		t.Errorf("PLAIN right password: identity %q, %v", id, err)
	}
	if f.AnyPassword {
		return
	}
	for _, c := range []struct{ user, password string }{{f.User, f.Password + "x"}, {unknownUser, f.Password}} {
		id, err := plain(t, f.Auth, c.user, c.password)
		if !errors.Is(err, imap.ErrAuthFailed) {
			t.Errorf("PLAIN %s: %v, want ErrAuthFailed", c.user, err)
		}
		if id != c.user {
			t.Errorf("PLAIN %s refused: identity %q, want the name given", c.user, id)
		}
	}
}
