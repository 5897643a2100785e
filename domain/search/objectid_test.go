package search

import "testing"

// EMAILID and THREADID (RFC 8474 section 6) match the message's ids
// exactly; a message without a THREADID matches no THREADID key.
func TestObjectIDKeys(t *testing.T) {
	m := &Message{EmailID: "M1", ThreadID: "T1"}
	none := &Message{EmailID: "M2"}
	for _, tc := range []struct {
		k    Key
		m    *Message
		want bool
	}{
		{Key{Op: OpEmailID, Value: "M1"}, m, true},
		{Key{Op: OpEmailID, Value: "m1"}, m, false},
		{Key{Op: OpEmailID, Value: "M2"}, m, false},
		{Key{Op: OpThreadID, Value: "T1"}, m, true},
		{Key{Op: OpThreadID, Value: "T1"}, none, false},
		{Key{Op: OpNot, Sub: []Key{{Op: OpThreadID, Value: "T1"}}}, none, true},
	} {
		if got, err := Match(Context{}, tc.k, tc.m); err != nil || got != tc.want {
			t.Errorf("Match(%+v, %+v) = %v, %v; want %v", tc.k, tc.m, got, err, tc.want)
		}
	}
}
