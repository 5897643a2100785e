package imapurl

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want URL
	}{
		// RFC 4467 section 9 / RFC 5092 examples.
		{"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038",
			URL{Kind: Absolute, User: "joe", Host: "example.com", Mailbox: "INBOX", UID: 20, Section: "1.2", Access: "submit+fred", AccessFor: "fred",
				Mechanism: "INTERNAL", Token: "91354a473744909de610943775f92038",
				Rump: "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"}},
		{"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred",
			URL{Kind: Absolute, User: "joe", Host: "example.com", Mailbox: "INBOX", UID: 20, Section: "1.2", Access: "submit+fred", AccessFor: "fred",
				Rump: "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"}},
		// RFC 4469 section 6 relative URLs.
		{"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER",
			URL{Kind: PathAbsolute, Mailbox: "Drafts", UIDValidity: 385759045, UID: 20, Section: "HEADER"}},
		{"/Drafts;UIDVALIDITY=385759045/;UID=30",
			URL{Kind: PathAbsolute, Mailbox: "Drafts", UIDValidity: 385759045, UID: 30}},
		{";UID=5/;SECTION=1.MIME", URL{Kind: UIDOnly, UID: 5, Section: "1.MIME"}},
		{"imap://minbari.example.org/gray-council;UIDVALIDITY=385759045/;UID=20/;PARTIAL=0.1024",
			URL{Kind: Absolute, Host: "minbari.example.org", Mailbox: "gray-council", UIDValidity: 385759045, UID: 20, HasPartial: true, Count: 1024}},
		{"imap://u@h:143/inbox/;UID=1/;PARTIAL=7", URL{Kind: Absolute, User: "u", Host: "h:143", Mailbox: "INBOX", UID: 1, HasPartial: true, Offset: 7}},
		{"imap://u;AUTH=*@h/a%20b/c/;UID=1", URL{Kind: Absolute, User: "u", Host: "h", Mailbox: "a b/c", UID: 1}},
		{"imap://u@h/%E2%82%AC/;UID=1/;SECTION=HEADER.FIELDS%20(FROM%20TO)", URL{Kind: Absolute, User: "u", Host: "h", Mailbox: "€", UID: 1, Section: "HEADER.FIELDS (FROM TO)"}},
		{"imap://u@h/INBOX/;UID=1;EXPIRE=2030-01-02T03:04:05Z;URLAUTH=authuser",
			URL{Kind: Absolute, User: "u", Host: "h", Mailbox: "INBOX", UID: 1, Expire: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Access: "authuser",
				Rump: "imap://u@h/INBOX/;UID=1;EXPIRE=2030-01-02T03:04:05Z;URLAUTH=authuser"}},
		{"imap://u@h/INBOX/;UID=1;URLAUTH=user+a%40b",
			URL{Kind: Absolute, User: "u", Host: "h", Mailbox: "INBOX", UID: 1, Access: "user+a%40b", AccessFor: "a@b", Rump: "imap://u@h/INBOX/;UID=1;URLAUTH=user+a%40b"}},
		{"imap://u@h/INBOX/;UID=1;URLAUTH=Anonymous", URL{Kind: Absolute, User: "u", Host: "h", Mailbox: "INBOX", UID: 1, Access: "anonymous", Rump: "imap://u@h/INBOX/;UID=1;URLAUTH=Anonymous"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if *got != tt.want {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, *got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"http://h/INBOX/;UID=1",
		"imap://h",
		"imap://h/INBOX",                       // no UID
		"imap://h/INBOX;UID=1",                 // UID needs the "/" before it
		"imap://h/;UID=1",                      // no mailbox
		"imap://h/INBOX/;UID=0",                // nz-number
		"imap://h/INBOX/;UID=01",               // nz-number
		"imap://h/INBOX/;UID=4294967296",       // out of range
		"imap://h/INBOX/;UID=1/",               // trailing slash
		"imap://h/INBOX/;UID=1/;UIDVALIDITY=3", // out of order
		"imap://h/INBOX/;UID=1/;SECTION=",
		"imap://h/INBOX/;UID=1/;SECTION=1%2",
		"imap://h/INBOX/;UID=1/;SECTION=1%00",
		"imap://h/IN BOX/;UID=1",
		"imap://h/INBOX/;UID=1/;PARTIAL=x",
		"imap://h/INBOX/;UID=1/;PARTIAL=1.0",
		"imap://h/INBOX/;UID=1/;URLAUTH=authuser", // URLAUTH after no "/"
		"imap://h/INBOX/;UID=1;URLAUTH=someone",
		"imap://h/INBOX/;UID=1;URLAUTH=user+",
		"imap://h/INBOX/;UID=1;URLAUTH=authuser:internal:abc",
		"imap://h/INBOX/;UID=1;URLAUTH=authuser:internal:" + strings.Repeat("g", 32),
		"imap://h/INBOX/;UID=1;URLAUTH=authuser:in/ternal:" + strings.Repeat("a", 32),
		"imap://h/INBOX/;UID=1;URLAUTH=authuser:internal",
		"imap://h/INBOX/;UID=1;EXPIRE=tomorrow;URLAUTH=authuser",
		"imap://h/INBOX/;UID=1;URLAUTH=authuser;EXPIRE=2030-01-02T03:04:05Z",
		"imap://h:x/INBOX/;UID=1",
		"//h/INBOX/;UID=1",
		";SECTION=1",
		"imap://h/INBOX/;UID=1;FOO=1",
	} {
		if u, err := Parse(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %+v, %v; want a syntax error", in, u, err)
		}
	}
}

func TestToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	rump := "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"
	tok := Token(key, rump)
	if len(tok) != 64 {
		t.Fatalf("token %q: want 64 hex digits", tok)
	}
	u, err := Parse(Full(rump, tok))
	if err != nil {
		t.Fatal(err)
	}
	if u.Rump != rump || u.Mechanism != Mechanism || !Verify(key, u.Rump, u.Token) {
		t.Errorf("round trip: %+v", u)
	}
	if !Verify(key, rump, strings.ToUpper(tok)) {
		t.Error("upper-case hex refused")
	}
	if Verify([]byte("another key......................"), rump, tok) || Verify(key, rump+"x", tok) || Verify(key, rump, tok[:40]) {
		t.Error("a wrong key, rump or token verified")
	}
}

func TestEncode(t *testing.T) {
	for in, want := range map[string]string{"INBOX": "INBOX", "a b/c": "a%20b/c", "€": "%E2%82%AC", "50%": "50%25", "x;y": "x%3By"} {
		if got := Encode(in, true); got != want {
			t.Errorf("Encode(%q) = %q, want %q", in, got, want)
		}
		if got, err := decode(Encode(in, true)); err != nil || got != in {
			t.Errorf("decode(Encode(%q)) = %q, %v", in, got, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038")
	f.Add("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER")
	f.Fuzz(func(t *testing.T, s string) { Parse(s) })
}
