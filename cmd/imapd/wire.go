//go:build wireinject

package main

import (
	"github.com/google/wire"

	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/app/config"
	"github.com/imapd-go/imapd/cmd/internal/wiring"
)

// initServer assembles the server for the settings and flags.
func initServer(s *config.Settings, f wiring.Flags) (*app.Server, func(), error) {
	wire.Build(wiring.ServerSet)
	return nil, nil, nil
}
