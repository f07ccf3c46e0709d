#!/bin/sh
# After removal: systemd forgets the units. The state (/var/lib/bellhop:
# the hub's database, the agent's journal) and the bellhop user stay, even
# on purge: delete them by hand once they are surely not needed.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
