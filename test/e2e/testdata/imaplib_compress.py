"""Drive imapd with Python's imaplib through COMPRESS=DEFLATE, UNAUTHENTICATE
and REPLACE, over a stdio pipe.

Usage: imaplib_compress.py IMAPD_BINARY CONFIG_FILE

imaplib has none of the three: COMPRESS is added with zlib's raw DEFLATE
(wbits -15) around the stream's send and read, the commands are sent with
imaplib's own command machinery. Exits 0 when every check passes.
"""

import imaplib
import shlex
import sys
import zlib

from imapcheck import check, ok

imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("UNAUTHENTICATE", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("REPLACE", ("SELECTED",))


def message(subject, body):
    return ("From: Alice <alice@example.com>\r\nSubject: %s\r\n\r\n%s\r\n" % (subject, body)).encode()


class Compressed(imaplib.IMAP4_stream):
    """IMAP4_stream that compresses both ways once compress() succeeded."""

    zout = zin = None
    zbuf = b""

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK":
            self.zout = zlib.compressobj(6, zlib.DEFLATED, -15)
            self.zin = zlib.decompressobj(-15)
        return typ, data

    def send(self, data):
        if self.zout is not None:
            # One burst per write, flushed: the server must not wait.
            data = self.zout.compress(data) + self.zout.flush(zlib.Z_SYNC_FLUSH)
        super().send(data)

    def _fill(self):
        chunk = self.readfile.read1(65536)
        if not chunk:
            raise imaplib.IMAP4.abort("end of compressed stream")
        self.zbuf += self.zin.decompress(chunk)

    def readline(self):
        if self.zin is None:
            return super().readline()
        while b"\n" not in self.zbuf:
            self._fill()
        i = self.zbuf.index(b"\n") + 1
        line, self.zbuf = self.zbuf[:i], self.zbuf[i:]
        return line

    def read(self, size):
        if self.zin is None:
            return super().read(size)
        while len(self.zbuf) < size:
            self._fill()
        data, self.zbuf = self.zbuf[:size], self.zbuf[size:]
        return data


def main():
    imapd, conf = sys.argv[1], sys.argv[2]
    m = Compressed("%s -C %s" % (shlex.quote(imapd), shlex.quote(conf)))
    ok(m.login("alice", "secret"), "LOGIN")
    typ, data = m.capability()
    caps = data[0].decode().upper().split()
    for c in ("COMPRESS=DEFLATE", "UNAUTHENTICATE", "REPLACE"):
        check(c in caps, "%s not in CAPABILITY %r" % (c, caps))
    ok(m.compress(), "COMPRESS DEFLATE")

    # Through the compressed stream: APPEND (a synchronizing literal, so
    # the continuation request comes compressed), a large FETCH.
    big = message("big", "Python's zlib talks to Go's flate. " * 20000)
    ok(m.append("INBOX", None, None, message("one", "first")), "APPEND one")
    ok(m.append("INBOX", None, None, big), "APPEND big")
    data = ok(m.select("INBOX"), "SELECT")
    check(data == [b"2"], "SELECT EXISTS %r" % (data,))
    data = ok(m.fetch("2", "(BODY.PEEK[])"), "FETCH big")
    check(data[0][1] == big, "FETCH of %d bytes gave %d" % (len(big), len(data[0][1])))

    # REPLACE message 1 (RFC 8508), then UID REPLACE the new one.
    m.literal = message("one, again", "second draft")
    typ, data = m._simple_command("REPLACE", "1", "INBOX", "(\\Seen)")
    check(typ == "OK", "REPLACE: %s %r" % (typ, data))
    resp = m.untagged_responses
    check("OK" in resp and any(b"APPENDUID" in r for r in resp.get("OK", [])),
          "REPLACE without APPENDUID: %r" % (resp,))
    typ, data = m.uid("SEARCH", None, "SUBJECT", '"one, again"')
    uids = data[0].split()
    check(len(uids) == 1, "replacement not found: %r" % (data,))
    m.literal = message("one, third", "third draft")
    typ, data = m.uid("REPLACE", uids[0].decode(), "INBOX")
    check(typ == "OK", "UID REPLACE: %s %r" % (typ, data))
    data = ok(m.search(None, "ALL"), "SEARCH ALL")
    check(len(data[0].split()) == 2, "after two REPLACEs: %r" % (data,))
    data = ok(m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), "FETCH subjects")
    subjects = b"".join(d[1] for d in data if isinstance(d, tuple))
    check(b"one, third" in subjects and b"big" in subjects and b"Subject: one\r\n" not in subjects,
          "subjects after REPLACE: %r" % (subjects,))

    # UNAUTHENTICATE (RFC 8437), then bob on the same compressed stream.
    typ, data = m._simple_command("UNAUTHENTICATE")
    check(typ == "OK", "UNAUTHENTICATE: %s %r" % (typ, data))
    m.state = "NONAUTH"
    ok(m.login("bob", "secret"), "LOGIN bob")
    data = ok(m.select("INBOX"), "SELECT as bob")
    check(data == [b"0"], "bob sees alice's mail: %r" % (data,))
    m.logout()
    print("imaplib compress session passed")


if __name__ == "__main__":
    main()
