//go:build wireinject

package main

import (
	"github.com/google/wire"

	"github.com/imapd-go/imapd/app/config"
	"github.com/imapd-go/imapd/app/lmtp"
	"github.com/imapd-go/imapd/cmd/internal/wiring"
)

// initServer assembles the LMTP server for the settings and flags.
func initServer(s *config.Settings, l *config.LMTP, f wiring.Flags) (*lmtp.Server, func(), error) {
	wire.Build(wiring.LMTPSet)
	return nil, nil, nil
}
