"""Drive imapd's QUOTA (RFC 9208) with Python's imaplib over stdio pipes.

Usage: imaplib_quota.py IMAPD_BINARY CONFIG_FILE

alice is an admin (imapd.conf's admins), bob is not: alice sets bob's
limits with setquota() and reads them with getquota(), bob reads his root
with getquotaroot(), and an APPEND past the limit fails with OVERQUOTA.
Each session is an imapd process of its own; exits 0 when every check
passes.
"""

import imaplib
import shlex
import sys

from imapcheck import check, ok


def unq(data):
    """The server may send a root or mailbox name as an atom or quoted."""
    if isinstance(data, list):
        return [unq(d) for d in data]
    return data.replace(b'"', b"")


def session(imapd, conf, user):
    m = imaplib.IMAP4_stream("%s -C %s" % (shlex.quote(imapd), shlex.quote(conf)))
    ok(m.login(user, "secret"), "LOGIN " + user)
    return m


def main():
    imapd, conf = sys.argv[1], sys.argv[2]
    bob = session(imapd, conf, "bob")
    caps = ok(bob.capability(), "CAPABILITY")[0].split()
    for cap in (b"QUOTA", b"QUOTA=RES-STORAGE", b"QUOTA=RES-MESSAGE", b"QUOTASET"):
        check(cap in caps, "capability %s in %r" % (cap, caps))
    data = unq(ok(bob.getquotaroot("INBOX"), "GETQUOTAROOT"))
    check(data == [[b"INBOX INBOX"], [b"INBOX ()"]], "GETQUOTAROOT %r" % data)
    typ, data = bob.setquota("INBOX", "(STORAGE 1)")
    check(typ == "NO" and b"NOPERM" in data[0], "bob's SETQUOTA: %s %r" % (typ, data))

    alice = session(imapd, conf, "alice")
    ok(alice.setquota("user/bob", "(STORAGE 1 MESSAGE 10)"), "SETQUOTA")
    data = unq(ok(alice.getquota("user/bob"), "GETQUOTA"))
    check(data == [b"user/bob (STORAGE 0 1 MESSAGE 0 10)"], "GETQUOTA %r" % data)

    body = b"Subject: quota\r\n\r\n" + b"x" * 900 + b"\r\n"
    ok(bob.append("INBOX", None, None, body), "APPEND")
    typ, data = bob.append("INBOX", None, None, body)
    check(typ == "NO" and b"[OVERQUOTA]" in data[0], "APPEND over quota: %s %r" % (typ, data))
    data = unq(ok(bob.getquotaroot("INBOX"), "GETQUOTAROOT after"))
    check(data == [[b"INBOX INBOX"], [b"INBOX (STORAGE 0 1 MESSAGE 1 10)"]], "GETQUOTAROOT after %r" % data)
    data = unq(ok(alice.getquotaroot("user/bob"), "admin's GETQUOTAROOT"))
    check(data == [[b"user/bob user/bob"], [b"user/bob (STORAGE 0 1 MESSAGE 1 10)"]], "admin's GETQUOTAROOT %r" % data)
    bob.logout()
    alice.logout()
    print("imaplib quota session passed")


if __name__ == "__main__":
    main()
