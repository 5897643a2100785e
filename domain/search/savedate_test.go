package search

import (
	"testing"
	"time"
)

func TestMatchSaveDate(t *testing.T) {
	day := time.Date(2024, 3, 9, 0, 0, 0, 0, time.UTC)
	m := &Message{SaveDate: time.Date(2024, 3, 9, 15, 0, 0, 0, time.UTC)}
	ctx := Context{Location: time.UTC}
	tests := []struct {
		k    Key
		m    *Message
		want bool
	}{
		{Key{Op: OpSavedOn, Date: day}, m, true},
		{Key{Op: OpSavedBefore, Date: day}, m, false},
		{Key{Op: OpSavedSince, Date: day}, m, true},
		{Key{Op: OpSavedSince, Date: day.AddDate(0, 0, 1)}, m, false},
		{Key{Op: OpSavedOn, Date: day}, &Message{}, false}, // no save date: never matches
		{Key{Op: OpSaveDateSupported}, &Message{}, true},
	}
	for i, tt := range tests {
		if got, err := Match(ctx, tt.k, tt.m); err != nil || got != tt.want {
			t.Errorf("%d: Match = %v, %v; want %v", i, got, err, tt.want)
		}
	}
}
