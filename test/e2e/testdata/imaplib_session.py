"""Drive imapd with Python's imaplib over a stdio pipe.

Usage: imaplib_session.py IMAPD_BINARY CONFIG_FILE

Runs LOGIN, SELECT, APPEND, FETCH, SEARCH, STORE, COPY, EXPUNGE and LOGOUT,
asserting each result; exits 0 when every check passes.
"""

import imaplib
import re
import shlex
import sys
import time

from imapcheck import check, ok

MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: Bob <bob@example.com>\r\n"
    b"Subject: imaplib check\r\n"
    b"Date: Tue, 4 Jun 2024 10:00:00 +0000\r\n"
    b"Message-ID: <imaplib@example.com>\r\n"
    b"\r\n"
    b"Sent from imaplib with a unique word: zanzibar.\r\n"
)


def main():
    imapd, conf = sys.argv[1], sys.argv[2]
    m = imaplib.IMAP4_stream("%s -C %s" % (shlex.quote(imapd), shlex.quote(conf)))
    check("IMAP4REV1" in m.capabilities, "capabilities %r" % (m.capabilities,))

    try:
        m.login("alice", "wrong")
        check(False, "LOGIN with a wrong password succeeded")
    except imaplib.IMAP4.error as e:
        check("AUTHENTICATIONFAILED" in str(e), "failed LOGIN: %s" % e)
    ok(m.login("alice", "secret"), "LOGIN")

    ok(m.create("Archive"), "CREATE")
    data = ok(m.list(), "LIST")
    names = b" ".join(data)
    check(b"Archive" in names and b"INBOX" in names, "LIST %r" % data)

    date = imaplib.Time2Internaldate(time.mktime((2024, 6, 4, 12, 0, 0, 0, 0, -1)))
    data = ok(m.append("INBOX", r"(\Flagged)", date, MESSAGE), "APPEND")
    check(b"APPENDUID" in data[0], "APPEND response %r" % data)
    ok(m.append("INBOX", None, None, MESSAGE.replace(b"zanzibar", b"other")), "APPEND 2")

    data = ok(m.select("INBOX"), "SELECT")
    check(data == [b"2"], "SELECT count %r" % data)

    typ, data = m.fetch("1", "(FLAGS RFC822.SIZE BODY.PEEK[])")
    check(typ == "OK", "FETCH %s" % typ)
    head, body = data[0]
    check(body == MESSAGE, "BODY[] differs: %r" % body)
    check(b"\\Flagged" in head and b"\\Seen" not in head, "FETCH flags %r" % head)
    check(b"RFC822.SIZE %d" % len(MESSAGE) in head, "RFC822.SIZE in %r" % head)

    data = ok(m.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])"), "FETCH header")
    check(data[0][1] == b"Subject: imaplib check\r\n\r\n", "header field %r" % data)
    data = ok(m.fetch("1", "(FLAGS)"), "FETCH FLAGS")
    check(b"\\Seen" in data[0], "BODY[] did not set \\Seen: %r" % data)

    data = ok(m.search(None, "BODY", "zanzibar"), "SEARCH BODY")
    check(data == [b"1"], "SEARCH BODY %r" % data)
    data = ok(m.uid("SEARCH", "UNFLAGGED"), "UID SEARCH")
    check(len(data[0].split()) == 1, "UID SEARCH UNFLAGGED %r" % data)
    data = ok(m.search(None, "ALL"), "SEARCH ALL")
    check(data == [b"1 2"], "SEARCH ALL %r" % data)

    data = ok(m.store("2", "+FLAGS", r"(\Deleted $Junk)"), "STORE")
    check(b"$Junk" in data[0] and b"\\Deleted" in data[0], "STORE %r" % data)

    typ, data = m.copy("1:2", "Archive")
    check(typ == "OK", "COPY %s %r" % (typ, data))
    typ, data = m.copy("1", "Nosuch")
    check(typ == "NO" and b"TRYCREATE" in data[0], "COPY to a missing mailbox %s %r" % (typ, data))

    data = ok(m.expunge(), "EXPUNGE")
    check(data == [b"2"], "EXPUNGE %r" % data)
    data = ok(m.status("Archive", "(MESSAGES UNSEEN)"), "STATUS")
    check(b"MESSAGES 2" in data[0] and b"UNSEEN 1" in data[0], "STATUS %r" % data)

    # OBJECTID (RFC 8474) and PREVIEW (RFC 8970) through imaplib's generic
    # fetch and status.
    data = ok(m.fetch("1", "(EMAILID THREADID PREVIEW)"), "FETCH EMAILID THREADID PREVIEW")
    check(re.search(rb"EMAILID \(M[0-9a-f]+\)", data[0]) and re.search(rb"THREADID \(T[0-9a-f]+\)", data[0])
          and b"PREVIEW \"Sent from imaplib with a unique word: zanzibar.\"" in data[0], "FETCH EMAILID THREADID PREVIEW %r" % data)
    data = ok(m.status("Archive", "(MAILBOXID)"), "STATUS MAILBOXID")
    check(re.search(rb"MAILBOXID \(F[0-9a-f]+\)", data[0]), "STATUS MAILBOXID %r" % data)

    ok(m.close(), "CLOSE")
    typ, data = m.logout()
    check(typ == "BYE", "LOGOUT %s %r" % (typ, data))
    print("imaplib session passed")


if __name__ == "__main__":
    main()
