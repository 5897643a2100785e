package e2e

import (
	"strings"
	"testing"
)

// RFC 4314 and Cyrus's namespaces: alice shares a folder with bob, who
// reads, flags and searches it, with his own \Seen, and is refused what
// he has no right to; an admin sees the standard namespace.

func TestACLNamespace(t *testing.T) {
	e := newEnv(t)
	alice := e.rawLogin("alice")
	alice.ok("n1 NAMESPACE")
	alice.mustHave(`* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared Folders/" "/"))`)
	admin := e.rawLogin(testAdmin)
	admin.ok("n2 NAMESPACE")
	admin.mustHave(`* NAMESPACE (("INBOX/" "/")) (("user/" "/")) (("" "/"))`)
}

// The RFC 4314 section 3 examples, as transcripts on alice's own
// mailbox.
func TestACLRFCExamples(t *testing.T) {
	e := newEnv(t)
	tc := e.rawLogin("alice")
	tc.ok("c1 CREATE Team")
	// 3.3: the owner's default ACL.
	tc.ok("A002 GETACL Team")
	tc.exactly(`* ACL Team alice lrswipkxtecdan`)
	// 3.1: SETACL, replacing, adding, removing.
	tc.ok("A035 SETACL Team bob lrswi")
	tc.ok("A036 SETACL Team -bob w")
	tc.ok("A037 SETACL Team anyone +l")
	tc.ok("A038 SETACL Team bob -i")
	tc.ok("A039 GETACL Team")
	tc.exactly(`* ACL Team alice lrswipkxtecdan bob lrsw -bob w anyone l`)
	// 3.2: DELETEACL.
	tc.ok("A040 DELETEACL Team -bob")
	tc.ok("A041 GETACL Team")
	tc.exactly(`* ACL Team alice lrswipkxtecdan bob lrsw anyone l`)
	// 3.4: LISTRIGHTS.
	tc.ok("a LISTRIGHTS Team bob")
	tc.exactly(`* LISTRIGHTS Team bob "" l r s w i p k x t e c d a n`)
	tc.ok("a LISTRIGHTS Team alice")
	tc.exactly(`* LISTRIGHTS Team alice lkxcan r s w i p t e d`)
	// 3.5: MYRIGHTS.
	tc.ok("A003 MYRIGHTS Team")
	tc.exactly(`* MYRIGHTS Team lrswipkxtecdan`)
	// Unknown rights letters are BAD (3.1); a missing mailbox is NO.
	tc.bad("b1 SETACL Team bob lrz")
	tc.bad("b2 SETACL Team")
	tc.no("b3 GETACL Nope", "NONEXISTENT")
	tc.no("b4 SETACL Nope bob lr", "NONEXISTENT")
	tc.no("b5 MYRIGHTS Nope", "NONEXISTENT")
	// "c" and "d" mean their groups.
	tc.ok("d1 SETACL Team carol c")
	tc.ok("d2 SETACL Team dave d")
	tc.ok("d3 GETACL Team")
	tc.exactly(`* ACL Team alice lrswipkxtecdan bob lrsw anyone l carol kxc dave ted`)
	// The capability is advertised.
	tc.ok("e1 CAPABILITY")
	if caps := tc.withPrefix("* CAPABILITY"); len(caps) != 1 || !strings.Contains(caps[0], " ACL RIGHTS=kxten LIST-MYRIGHTS") {
		t.Errorf("CAPABILITY: %q", caps)
	}
}

func TestACLSharedFolder(t *testing.T) {
	e := newEnv(t)
	alice := e.rawLogin("alice")
	bob := e.rawLogin("bob")
	alice.ok("a1 CREATE Team")
	alice.ok("a2 CREATE Private")
	for i := 0; i < 3; i++ {
		alice.ok("a3 APPEND Team (\\Seen) " + literalPlus("Subject: note "+string(rune('A'+i))+"\r\n\r\nbody "+string(rune('a'+i))+"\r\n"))
	}

	// Before sharing: bob sees nothing of alice's, and cannot tell a
	// mailbox he may not see from one that does not exist.
	bob.ok("b1 LIST \"\" \"*\"")
	bob.mustNotContain("alice")
	bob.no("b2 SELECT \"Other Users/alice/Team\"", "NONEXISTENT")
	bob.no("b3 SELECT \"Other Users/alice/Nope\"", "NONEXISTENT")
	bob.no("b4 STATUS \"Other Users/alice/Team\" (MESSAGES)", "NONEXISTENT")
	bob.no("b5 GETACL \"Other Users/alice/Team\"", "NONEXISTENT")

	// alice gives bob lookup, read, seen and write.
	alice.ok("a4 SETACL Team bob lrsw")
	bob.ok("b6 LIST \"\" \"*\"")
	bob.mustHave(`* LIST (\Noselect \HasChildren) "/" "Other Users"`,
		`* LIST (\Noselect \HasChildren) "/" "Other Users/alice"`,
		`* LIST (\HasNoChildren) "/" "Other Users/alice/Team"`)
	bob.mustNotContain("Private")
	bob.ok("b7 MYRIGHTS \"Other Users/alice/Team\"")
	bob.exactly(`* MYRIGHTS "Other Users/alice/Team" lrsw`)
	bob.ok(`b8 LIST "" "Other Users/alice/%" RETURN (MYRIGHTS)`)
	bob.mustHave(`* MYRIGHTS "Other Users/alice/Team" lrsw`)
	// He has "l" but not "a": NOPERM.
	bob.no("b9 GETACL \"Other Users/alice/Team\"", "NOPERM")
	bob.no("b10 SETACL \"Other Users/alice/Team\" bob lrswipkxtecdan", "NOPERM")

	// He may subscribe to it, and LSUB and LIST (SUBSCRIBED) show it.
	bob.ok(`s1 SUBSCRIBE "Other Users/alice/Team"`)
	bob.no(`s2 SUBSCRIBE "Other Users/alice/Private"`, "NONEXISTENT")
	bob.ok(`s3 LSUB "" "*"`)
	bob.mustHave(`* LSUB () "/" "Other Users/alice/Team"`)
	bob.ok(`s4 LIST (SUBSCRIBED) "" "Other Users/*"`)
	bob.mustHave(`* LIST (\HasNoChildren \Subscribed) "/" "Other Users/alice/Team"`)

	// Reading: alice's \Seen is not his.
	bob.ok("c1 SELECT \"Other Users/alice/Team\"")
	bob.mustHave("* 3 EXISTS", "* OK [UNSEEN 1] First unseen message")
	bob.ok("c2 FETCH 1:3 (FLAGS)")
	bob.mustHave("* 1 FETCH (FLAGS ())", "* 3 FETCH (FLAGS ())")
	bob.ok("c3 FETCH 1 (BODY[TEXT])")
	if got := bob.withPrefix("* 1 FETCH"); len(got) != 1 || !strings.Contains(got[0], "FLAGS (\\Seen)") {
		t.Errorf("FETCH BODY[TEXT]: %q, want \\Seen set", got)
	}
	bob.ok("c4 STORE 2 +FLAGS (\\Flagged)")
	bob.mustHave("* 2 FETCH (FLAGS (\\Flagged))")
	// Replacing his flags leaves alice's \Seen on the message alone.
	bob.ok("c4a STORE 3 FLAGS ($Label)")
	bob.mustHave("* 3 FETCH (FLAGS ($Label))")
	bob.ok("c4b STORE 3 FLAGS ()")
	bob.ok("c5 SEARCH SEEN")
	bob.mustHave("* SEARCH 1")
	bob.ok("c6 SEARCH UNSEEN FLAGGED")
	bob.mustHave("* SEARCH 2")
	bob.ok("c7 SEARCH BODY \"body c\"")
	bob.mustHave("* SEARCH 3")
	// Refused: no "t", "e", "i" for him.
	bob.no("c8 STORE 1 +FLAGS (\\Deleted)", "NOPERM")
	bob.no("c9 EXPUNGE", "NOPERM")
	bob.no("c10 COPY 1 \"Other Users/alice/Team\"", "NOPERM")
	bob.no("c11 MOVE 1 INBOX", "NOPERM")
	bob.no("c12 APPEND \"Other Users/alice/Team\" "+literalPlus("Subject: x\r\n\r\nx\r\n"), "NOPERM")
	bob.no("c13 DELETE \"Other Users/alice/Team\"", "NOPERM")
	bob.no("c14 CREATE \"Other Users/alice/Team/sub\"", "NOPERM")
	// He may copy to his own mailboxes.
	bob.ok("c15 COPY 1:2 INBOX")
	bob.ok("c16 STATUS INBOX (MESSAGES)")
	bob.mustHave("* STATUS INBOX (MESSAGES 2)")

	// alice still has her \Seen on every message, and sees bob's flag.
	alice.ok("d1 SELECT Team")
	alice.ok("d2 FETCH 1:3 (FLAGS)")
	alice.mustHave("* 1 FETCH (FLAGS (\\Seen \\Recent))", "* 3 FETCH (FLAGS (\\Seen \\Recent))")
	if got := alice.withPrefix("* 2 FETCH"); len(got) != 1 || !strings.Contains(got[0], "\\Flagged") || !strings.Contains(got[0], "\\Seen") {
		t.Errorf("alice's message 2: %q, want \\Seen and bob's \\Flagged", got)
	}
	// and clearing hers does not change bob's.
	alice.ok("d3 STORE 1 -FLAGS (\\Seen)")
	alice.ok("d4 STATUS INBOX (UNSEEN)")
	bob.ok("c17 STATUS \"Other Users/alice/Team\" (UNSEEN MESSAGES)")
	bob.mustHave(`* STATUS "Other Users/alice/Team" (UNSEEN 2 MESSAGES 3)`)
	bob.ok("c18 FETCH 1 (FLAGS)")
	bob.mustHave("* 1 FETCH (FLAGS (\\Seen))")

	// More rights: "i" lets him append, "te" delete.
	alice.ok("a5 SETACL Team bob +ite")
	bob.ok("c19 APPEND \"Other Users/alice/Team\" " + literalPlus("Subject: from bob\r\n\r\nhi\r\n"))
	bob.mustHave("* 4 EXISTS")
	bob.ok("c21 STORE 4 +FLAGS (\\Deleted)")
	bob.ok("c22 EXPUNGE")
	bob.mustHave("* 4 EXPUNGE")

	// Taking "l" and "r" away hides it again.
	alice.ok("a6 DELETEACL Team bob")
	bob.ok("c23 LIST \"\" \"*\"")
	bob.mustNotContain("alice")
	bob.no("c24 EXAMINE \"Other Users/alice/Team\"", "NONEXISTENT")
}

// Shared folders, and the admin's view.
func TestACLAdmin(t *testing.T) {
	e := newEnv(t)
	alice := e.rawLogin("alice")
	alice.ok("a1 CREATE Team")
	admin := e.rawLogin(testAdmin)
	admin.ok(`x1 LIST "" "*"`)
	admin.mustHave(`* LIST (\HasChildren) "/" user/alice`, `* LIST (\HasNoChildren) "/" user/alice/Team`)
	// Admins administer without rights, but SELECT follows the ACL.
	admin.ok("x2 GETACL user/alice/Team")
	admin.exactly(`* ACL user/alice/Team alice lrswipkxtecdan`)
	admin.no("x3 SELECT user/alice/Team", "NONEXISTENT")
	admin.ok("x4 SETACL user/alice/Team " + testAdmin + " lr")
	admin.ok("x5 EXAMINE user/alice/Team")
	// A shared folder: top level for the admin, with defaultacl.
	admin.ok("x6 CREATE news")
	admin.ok("x7 GETACL news")
	admin.exactly(`* ACL news anyone lrs`)
	admin.ok("x8 CREATE news/local")
	admin.ok("x9 GETACL news/local")
	admin.exactly(`* ACL news/local anyone lrs`)
	// Users see it under Shared Folders, may read but not post.
	alice.ok(`a2 LIST "" "*"`)
	alice.mustHave(`* LIST (\Noselect \HasChildren) "/" "Shared Folders"`,
		`* LIST (\HasChildren) "/" "Shared Folders/news"`)
	alice.ok(`a3 SELECT "Shared Folders/news"`)
	alice.no(`a4 APPEND "Shared Folders/news" `+literalPlus("Subject: x\r\n\r\nx\r\n"), "NOPERM")
	alice.no(`a5 CREATE "Shared Folders/mine"`, "NOPERM")
	admin.ok("x10 SETACL news anyone +i")
	alice.ok(`a6 APPEND "Shared Folders/news" ` + literalPlus("Subject: x\r\n\r\nx\r\n"))
	// RENAME and DELETE of shared and user mailboxes by the admin.
	admin.ok("x11 RENAME news/local news/here")
	admin.ok("x12 GETACL news/here")
	admin.exactly(`* ACL news/here anyone lrs`)
	admin.ok("x13 DELETE news/here")
	admin.ok("x14 DELETE user/alice/Team")
	alice.ok(`a7 LIST "" "*"`)
	alice.mustNotContain("Team")
}

// METADATA on another user's folder follows the ACL (RFC 5464 3.3): "r"
// reads /shared entries, "w" writes them; the reader has no /private
// entries there.
func TestACLMetadata(t *testing.T) {
	e := newEnv(t)
	alice := e.rawLogin("alice")
	bob := e.rawLogin("bob")
	alice.ok("a1 CREATE Team")
	alice.ok(`a2 SETMETADATA Team (/shared/comment "team folder" /private/comment "mine")`)
	bob.no(`b1 GETMETADATA "Other Users/alice/Team" /shared/comment`, "NONEXISTENT")
	alice.ok("a3 SETACL Team bob lr")
	bob.ok(`b2 GETMETADATA "Other Users/alice/Team" (/shared/comment /private/comment)`)
	bob.exactly(`* METADATA "Other Users/alice/Team" ("/shared/comment" "team folder")`)
	bob.no(`b3 SETMETADATA "Other Users/alice/Team" (/shared/comment "bob's")`, "NOPERM")
	alice.ok("a4 SETACL Team bob +w")
	bob.ok(`b4 SETMETADATA "Other Users/alice/Team" (/shared/comment "bob's")`)
	alice.ok("a5 GETMETADATA Team (/shared/comment /private/comment)")
	alice.exactly(`* METADATA Team ("/shared/comment" "bob's" "/private/comment" "mine")`)
}
