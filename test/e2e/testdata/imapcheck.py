"""Checks shared by the imaplib scripts: each failure prints what failed
and ends the script with status 1."""

import sys


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def ok(result, what):
    typ, data = result
    check(typ == "OK", "%s: %s %r" % (what, typ, data))
    return data
