package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// indexText builds the full-text index of existing mail: `index [-rebuild]
// [USER...]`, every user when none is named. Without -rebuild only the
// messages the index lacks are read (mail stored by a program built
// without the index, or before it existed); with it, the users' indexes
// are made again from nothing. Progress goes to standard error.
func indexText(ctx context.Context, t *tool, args []string, _ *os.File, _, stderr io.Writer) error {
	rebuild := false
	if len(args) > 0 && args[0] == "-rebuild" {
		rebuild, args = true, args[1:]
	}
	ti, ok := t.Store.(ports.TextIndex)
	if !ok {
		return fail(exitFailure, "index: the store keeps no full-text index")
	}
	users := args
	if len(users) == 0 {
		var err error
		if users, err = t.Users.List(); err != nil {
			return err
		}
	}
	for _, u := range users {
		if err := mustExist(t, u); err != nil {
			return err
		}
	}
	for _, u := range users {
		var p *progress
		err := ti.BuildTextIndex(ctx, u, rebuild, func(done, total int) {
			if p == nil {
				p = newProgress(stderr, "index "+u, total)
			}
			p.add(done - p.done)
		})
		if err != nil {
			if errors.Is(err, imap.ErrCannot) {
				return fail(exitFailure, "index %s: %v", u, err)
			}
			return fmt.Errorf("index %s: %w", u, err)
		}
		if p != nil {
			p.finish()
		}
	}
	return nil
}
