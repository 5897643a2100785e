//go:build wireinject

package main

import (
	"github.com/google/wire"

	"github.com/imapd-go/imapd/app/config"
	"github.com/imapd-go/imapd/cmd/internal/wiring"
)

// initTool assembles what the commands need.
func initTool(s *config.Settings, f wiring.Flags) (*tool, func(), error) {
	wire.Build(wiring.ServerSet, wire.Struct(new(tool), "*"))
	return nil, nil, nil
}
