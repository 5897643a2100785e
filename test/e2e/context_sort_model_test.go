package e2e

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sortedUIDs reads an ordered UID list as ESEARCH writes it ("4,1:3,9").
func sortedUIDs(t *testing.T, set string) []int {
	t.Helper()
	var out []int
	for _, part := range strings.Split(set, ",") {
		a, b, rng := strings.Cut(part, ":")
		lo, err := strconv.Atoi(a)
		if err != nil {
			t.Fatalf("bad set %q", set)
		}
		hi := lo
		if rng {
			if hi, err = strconv.Atoi(b); err != nil {
				t.Fatalf("bad set %q", set)
			}
		}
		for u := lo; ; {
			out = append(out, u)
			if u == hi {
				break
			}
			if lo < hi {
				u++
			} else {
				u--
			}
		}
	}
	return out
}

var (
	esearchAll    = regexp.MustCompile(`^\* ESEARCH \(TAG "([^"]+)"\) UID ALL (\S+)$`)
	esearchUpdate = regexp.MustCompile(`(ADDTO|REMOVEFROM) \((\d+) ([^)]+)\)`)
)

// TestContextSortModel: a client that applies every ADDTO and REMOVEFROM
// of its CONTEXT=SORT results (RFC 5267 section 4.3), at the positions
// given, holds exactly what the same SORT answers afresh, after each of
// many random changes by another session: messages that arrive with
// dates before, among (equal dates: UID order decides, RFC 5256 section
// 3) and after the others, expunges, and \Seen set and cleared, for
// ascending and REVERSE keys and criteria that flags decide.
func TestContextSortModel(t *testing.T) {
	e := newEnv(t)
	a := e.rawLogin("alice")
	b := e.rawLogin("alice")
	r := rand.New(rand.NewPCG(7, 8))
	base := time.Date(2024, 6, 4, 10, 0, 0, 0, time.UTC)
	n := 0
	msg := func() string {
		n++
		date := base.Add(time.Duration(r.IntN(8)) * time.Hour) // many equal dates
		return fmt.Sprintf("From: S%d <s%d@example.com>\r\nSubject: %c topic\r\nDate: %s\r\nMessage-ID: <m%d@example.com>\r\n\r\nx\r\n",
			r.IntN(5), r.IntN(5), 'a'+r.IntN(6), date.Format(time.RFC1123Z), n)
	}
	for range 30 {
		a.ok("a APPEND INBOX " + literalPlus(msg()))
	}
	a.ok("s1 SELECT INBOX")
	b.ok("s2 SELECT INBOX")
	queries := map[string]string{
		"d":  "(DATE) UTF-8 ALL",
		"rd": "(REVERSE DATE SUBJECT) UTF-8 ALL",
		"us": "(ARRIVAL) UTF-8 UNSEEN",
		"sf": "(SUBJECT REVERSE FROM) UTF-8 NOT SEEN",
	}
	model := map[string][]int{}
	for tag, q := range queries {
		a.ok(tag + " UID SORT RETURN (UPDATE ALL) " + q)
		for _, l := range a.untagged {
			if m := esearchAll.FindStringSubmatch(l); m != nil && m[1] == tag {
				model[tag] = sortedUIDs(t, m[2])
			}
		}
	}
	apply := func() {
		t.Helper()
		for _, l := range a.untagged {
			if !strings.HasPrefix(l, `* ESEARCH (TAG "`) {
				continue
			}
			tag := strings.SplitN(l, `"`, 3)[1]
			for _, m := range esearchUpdate.FindAllStringSubmatch(l, -1) {
				pos, _ := strconv.Atoi(m[2])
				uids := sortedUIDs(t, m[3])
				cur := model[tag]
				if m[1] == "ADDTO" {
					if pos < 1 || pos > len(cur)+1 {
						t.Fatalf("%s: ADDTO at %d of %d: %q", tag, pos, len(cur), l)
					}
					model[tag] = slices.Insert(cur, pos-1, uids...)
					continue
				}
				if pos < 1 || pos+len(uids)-1 > len(cur) || !slices.Equal(cur[pos-1:pos-1+len(uids)], uids) {
					t.Fatalf("%s: REMOVEFROM (%d %v) does not match the result %v: %q", tag, pos, uids, cur, l)
				}
				model[tag] = slices.Delete(cur, pos-1, pos-1+len(uids))
			}
		}
	}
	for step := range 40 {
		b.ok("f UID SEARCH ALL")
		var uids []string
		for _, l := range b.untagged {
			if strings.HasPrefix(l, "* SEARCH") {
				uids = strings.Fields(l)[2:]
			}
		}
		pick := func() string { return uids[r.IntN(len(uids))] }
		for k := range 1 + r.IntN(3) {
			switch x := r.IntN(5); {
			case x < 2 || len(uids) < 5:
				b.ok("p APPEND INBOX " + literalPlus(msg()))
			case x == 2:
				u := pick()
				b.ok(`x UID STORE ` + u + ` +FLAGS.SILENT (\Deleted)`)
				b.ok("y UID EXPUNGE " + u)
			default:
				op := "+"
				if k%2 == 1 {
					op = "-"
				}
				b.ok(`z UID STORE ` + pick() + ` ` + op + `FLAGS.SILENT (\Seen)`)
			}
		}
		a.ok("n NOOP")
		apply()
		for tag, q := range queries {
			a.ok("c UID SORT RETURN (ALL) " + q)
			var fresh []int
			for _, l := range a.untagged {
				if m := esearchAll.FindStringSubmatch(l); m != nil {
					fresh = sortedUIDs(t, m[2])
				}
			}
			if !slices.Equal(model[tag], fresh) {
				t.Fatalf("step %d, %s (%s): updates give %v, SORT gives %v", step, tag, q, model[tag], fresh)
			}
		}
	}
}
