package sortkey

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
)

func TestRecordsRoundTrip(t *testing.T) {
	date := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	fields := []message.SortFields{
		{},
		{Date: "Fri, 1 Mar 2024 10:00:00 +0000", HasDate: true, Subject: "Re: [list] =?UTF-8?Q?=C3=89t=C3=A9?= (fwd)",
			From: `"Ann Example" <ann@example.org>`, To: "bob@example.net", Cc: "undisclosed:;",
			MessageID: "<a@b>", References: "<r1@x> <r2@x>"},
		{Subject: "Hello", InReplyTo: "<p@x>", From: "Zoë <z@example.org>"},
	}
	uids := []imap.UID{3, 4, 4000000000}
	var recs []*Record
	for i, f := range fields {
		r := FromFields(f, date.Add(time.Duration(i)*time.Hour), int64(100*i))
		recs = append(recs, &r)
	}
	gotUIDs, got, err := DecodeRecords(AppendRecords(nil, uids, recs))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotUIDs, uids) {
		t.Fatalf("uids %v, want %v", gotUIDs, uids)
	}
	for i := range recs {
		if !reflect.DeepEqual(got[i], *recs[i]) {
			t.Errorf("record %d: %+v, want %+v", i, got[i], *recs[i])
		}
	}
	if u, r, err := DecodeRecords(AppendRecords(nil, nil, nil)); err != nil || len(u) != 0 || len(r) != 0 {
		t.Errorf("empty list: %v %v %v", u, r, err)
	}
}

// TestRecordsDamaged: data cut anywhere, of another version, or with
// bytes changed is refused with ErrRecords (or read), never a panic.
func TestRecordsDamaged(t *testing.T) {
	r := FromFields(message.SortFields{Subject: "s", From: "a@b", MessageID: "<m@x>", References: "<r@x>"}, time.Unix(1e9, 0), 42)
	data := AppendRecords(nil, []imap.UID{1, 2}, []*Record{&r, &r})
	for n := range len(data) {
		if _, _, err := DecodeRecords(data[:n]); !errors.Is(err, ErrRecords) {
			t.Errorf("cut at %d: %v, want ErrRecords", n, err)
		}
	}
	other := append([]byte{recordsVersion + 1}, data[1:]...)
	if _, _, err := DecodeRecords(other); !errors.Is(err, ErrRecords) {
		t.Errorf("other version: %v", err)
	}
	for i := 1; i < len(data); i++ {
		for _, c := range []byte{0, 0x7f, 0x80, 0xff} {
			d := append([]byte(nil), data...)
			d[i] = c
			DecodeRecords(d)
		}
	}
	// Two records of one UID.
	if _, _, err := DecodeRecords(AppendRecords(nil, []imap.UID{1, 1}, []*Record{&r, &r})); !errors.Is(err, ErrRecords) {
		t.Errorf("repeated uid: %v", err)
	}
}

// TestSortPrefixes: Sort's inline prefixes order strings as the strings
// do, around their 8th and 16th bytes, zero bytes and lengths included.
func TestSortPrefixes(t *testing.T) {
	subjects := []string{"", "a", "a\x00", "a\x00\x00", "abcdefgh", "abcdefg", "abcdefgh\x00", "abcdefghi",
		"abcdefghijklmnop", "abcdefghijklmno", "abcdefghijklmnopq", "abcdefghijklmnopa", "abcdefghijklmnop\x00",
		"\xff", "\xc3\xa9", "b"}
	recs := make([]Record, len(subjects))
	items := make([]Item, len(subjects))
	for i, s := range subjects {
		recs[i].Subject = s
		items[i] = Item{Seq: uint32(i + 1), Rec: &recs[i]}
	}
	Sort(items, []Criterion{{Key: Subject}})
	for i := 1; i < len(items); i++ {
		if items[i-1].Rec.Subject >= items[i].Rec.Subject {
			t.Errorf("%q sorted before %q", items[i-1].Rec.Subject, items[i].Rec.Subject)
		}
	}
	Sort(items, []Criterion{{Key: Subject, Reverse: true}})
	for i := 1; i < len(items); i++ {
		if items[i-1].Rec.Subject <= items[i].Rec.Subject {
			t.Errorf("reverse: %q sorted before %q", items[i-1].Rec.Subject, items[i].Rec.Subject)
		}
	}
}
