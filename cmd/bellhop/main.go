// Command bellhop is the device command hub, its agent and its tools.
package main

import (
	"os"

	"github.com/bellhop/bellhop/internal/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr)) }
