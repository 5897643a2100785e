"""Drive imapd's SORT and THREAD with Python's imaplib over a stdio pipe.

Usage: imaplib_sort.py IMAPD_BINARY CONFIG_FILE

Appends three messages (a thread of two and one alone), then checks
sort() and thread() in their sequence and UID forms; exits 0 when every
check passes.
"""

import imaplib
import shlex
import sys

from imapcheck import check, ok


def msg(subject, sender, date, mid, refs=None):
    h = "Subject: %s\r\nFrom: %s\r\nDate: %s\r\nMessage-ID: %s\r\n" % (subject, sender, date, mid)
    if refs:
        h += "References: %s\r\n" % refs
    return (h + "\r\nbody\r\n").encode()


def main():
    imapd, conf = sys.argv[1], sys.argv[2]
    m = imaplib.IMAP4_stream("%s -C %s" % (shlex.quote(imapd), shlex.quote(conf)))
    ok(m.login("alice", "secret"), "LOGIN")
    caps = ok(m.capability(), "CAPABILITY")[0].split()
    for cap in (b"SORT", b"SORT=DISPLAY", b"THREAD=REFERENCES", b"THREAD=ORDEREDSUBJECT", b"THREAD=REFS"):
        check(cap in caps, "capability %s in %r" % (cap, caps))
    ok(m.append("INBOX", None, None, msg("Re: plan", "zoe@example.com", "Wed, 3 Jan 2024 10:00:00 +0000", "<2@x>", "<1@x>")), "APPEND 1")
    ok(m.append("INBOX", None, None, msg("plan", "amy@example.com", "Mon, 1 Jan 2024 10:00:00 +0000", "<1@x>")), "APPEND 2")
    ok(m.append("INBOX", None, None, msg("alone", "bea@example.com", "Tue, 2 Jan 2024 10:00:00 +0000", "<3@x>")), "APPEND 3")
    ok(m.select("INBOX"), "SELECT")

    data = ok(m.sort("(DATE)", "UTF-8", "ALL"), "SORT DATE")
    check(data == [b"2 3 1"], "SORT DATE %r" % data)
    data = ok(m.sort("(REVERSE FROM)", "UTF-8", "ALL"), "SORT REVERSE FROM")
    check(data == [b"1 3 2"], "SORT REVERSE FROM %r" % data)
    data = ok(m.sort("(SUBJECT DATE)", "US-ASCII", "SUBJECT", "plan"), "SORT SUBJECT")
    check(data == [b"2 1"], "SORT SUBJECT %r" % data)
    data = ok(m.uid("SORT", "(DISPLAYFROM)", "UTF-8", "ALL"), "UID SORT")
    check(data == [b"2 3 1"], "UID SORT %r" % data)
    data = ok(m.sort("(DATE)", "UTF-8", "SUBJECT", "nothing"), "empty SORT")
    check(data in ([None], [b""]), "empty SORT %r" % data)
    typ, data = m.sort("(DATE)", "KOI8-R", "ALL")
    check(typ == "NO" and b"BADCHARSET" in data[0], "SORT KOI8-R: %s %r" % (typ, data))

    data = ok(m.thread("REFERENCES", "UTF-8", "ALL"), "THREAD REFERENCES")
    check(data == [b"(2 1)(3)"], "THREAD REFERENCES %r" % data)
    data = ok(m.thread("ORDEREDSUBJECT", "UTF-8", "ALL"), "THREAD ORDEREDSUBJECT")
    check(data == [b"(2 1)(3)"], "THREAD ORDEREDSUBJECT %r" % data)
    data = ok(m.uid("THREAD", "REFS", "UTF-8", "ALL"), "UID THREAD REFS")
    check(data == [b"(2 1)(3)"], "UID THREAD REFS %r" % data)
    m.logout()
    print("imaplib sort session passed")


if __name__ == "__main__":
    main()
