// Package drivers is the agent's one list of device drivers, keyed by the
// scheme of a device's target. Adding a driver means adding it here; nothing
// registers itself at init time.
package drivers

import (
	"github.com/bellhop/bellhop/internal/agent/driver"
	"github.com/bellhop/bellhop/internal/agent/driver/epson"
	"github.com/bellhop/bellhop/internal/agent/driver/execdrv"
	"github.com/bellhop/bellhop/internal/agent/driver/folder"
	"github.com/bellhop/bellhop/internal/agent/driver/httpdrv"
	"github.com/bellhop/bellhop/internal/agent/driver/ipp"
	"github.com/bellhop/bellhop/internal/agent/driver/socket"
)

// Registry returns the built-in drivers: ipp, ipps, socket, http, https,
// apiurl, exec, folder and epson-fiscal. Each call returns a new map, so a
// caller may add test drivers to its copy.
func Registry() driver.Registry {
	return driver.Registry{
		"ipp":          ipp.New,
		"ipps":         ipp.New,
		"socket":       socket.New,
		"http":         httpdrv.New,
		"https":        httpdrv.New,
		"apiurl":       httpdrv.NewAPIURL,
		"exec":         execdrv.New,
		"folder":       folder.New,
		"epson-fiscal": epson.New,
	}
}

// Open builds the driver for target ("ipp://printer/ipp/print",
// "folder:/srv/locks", "apiurl"...) from the built-in list. An unknown
// scheme returns an error wrapping driver.ErrUnknownScheme that lists the
// known ones; a malformed target returns the driver's own error.
func Open(target string, opts driver.Options) (driver.Driver, error) {
	return Registry().Open(target, opts)
}
