package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/bellhop/bellhop/internal/service"
)

// UnitsCmd writes the systemd units the packages ship, from the same
// template as `bellhop agent install`.
type UnitsCmd struct {
	Dir string `arg:"" help:"Directory to write bellhop-hub.service and bellhop-agent.service into." type:"path"`
}

// Run writes the units and names them.
func (c *UnitsCmd) Run(_ context.Context, g *Globals) error {
	units := service.PackageUnits()
	names := make([]string, 0, len(units))
	for name := range units {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		unit, err := service.Unit(units[name])
		if err != nil {
			return err
		}
		path := filepath.Join(c.Dir, name)
		if err := os.WriteFile(path, unit, 0o644); err != nil {
			return fmt.Errorf("units: %w", err)
		}
		fmt.Fprintln(g.stdout, path)
	}
	return nil
}
