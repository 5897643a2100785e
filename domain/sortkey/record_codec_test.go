package sortkey

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/message"
)

// TestRecordRoundTrip: one message's record, as APPEND hands it to the
// store, reads back as it was; cut or of another version, it is refused
// with ErrRecords, never a panic.
func TestRecordRoundTrip(t *testing.T) {
	date := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, f := range []message.SortFields{
		{},
		{Date: "Fri, 1 Mar 2024 10:00:00 +0000", HasDate: true, Subject: "Re: [list] =?UTF-8?Q?=C3=89t=C3=A9?= (fwd)",
			From: `"Ann Example" <ann@example.org>`, To: "bob@example.net", Cc: "undisclosed:;",
			MessageID: "<a@b>", References: "<r1@x> <r2@x>"},
		{Subject: "Hello", InReplyTo: "<p@x>", From: "Zoë <z@example.org>"},
	} {
		want := FromFields(f, date, int64(100*i))
		data := AppendRecord(nil, &want)
		var got Record
		if _, err := DecodeRecord(data, &got, nil); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d: %+v, want %+v", i, got, want)
		}
		for n := range len(data) {
			if _, err := DecodeRecord(data[:n], &got, nil); !errors.Is(err, ErrRecords) {
				t.Errorf("%d: cut at %d: %v, want ErrRecords", i, n, err)
			}
		}
		if _, err := DecodeRecord(append([]byte{recordVersion + 1}, data[1:]...), &got, nil); !errors.Is(err, ErrRecords) {
			t.Errorf("%d: other version: %v", i, err)
		}
	}
}
