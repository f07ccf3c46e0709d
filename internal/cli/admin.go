package cli

import "context"

// AdminCmd wraps the admin API for the terminal.
type AdminCmd struct{}

// Run is a placeholder until the admin subcommands land.
func (c *AdminCmd) Run(ctx context.Context, g *Globals) error { return nil }
