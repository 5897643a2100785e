package sasl

import (
	"testing"

	"github.com/imapd-go/imapd/test/authtest"
)

// contractUser is the user every fixture knows.
const contractUser, contractPassword = "alice", "wonderland"

func contractOptions(c authtest.Config, methods ...string) Options {
	return Options{AllowPlaintext: c.AllowPlaintext, Admins: c.Admins, PwcheckMethods: methods}
}

// The user database (sasl_pwcheck_method: auxprop).
func TestContractUserDB(t *testing.T) {
	authtest.Run(t, func(t testing.TB, c authtest.Config) authtest.Fixture {
		db := Open(t.TempDir())
		if err := db.Add(contractUser, contractPassword); err != nil {
			t.Fatal(err)
		}
		return authtest.Fixture{Auth: New(contractOptions(c, PwcheckAuxprop), db),
			User: contractUser, Password: contractPassword, ListsUsers: true}
	})
}

// saslauthd, over the fake that speaks its protocol.
func TestContractSaslauthd(t *testing.T) {
	authtest.Run(t, func(t testing.TB, c authtest.Config) authtest.Fixture {
		f := startFakeSaslauthd(t.(*testing.T), map[string]string{contractUser: contractPassword}, nil)
		o := contractOptions(c, PwcheckSaslauthd)
		o.SaslauthdPath = f.path
		return authtest.Fixture{Auth: New(o, Open(t.TempDir())),
			User: contractUser, Password: contractPassword}
	})
}

// alwaystrue: any password for any valid name.
func TestContractAlwaysTrue(t *testing.T) {
	authtest.Run(t, func(t testing.TB, c authtest.Config) authtest.Fixture {
		return authtest.Fixture{Auth: New(contractOptions(c, PwcheckAlwaysTrue), Open(t.TempDir())),
			User: contractUser, Password: contractPassword, AnyPassword: true}
	})
}
