#!/bin/sh
# Before removal (deb: remove; rpm: %preun with no package left), not
# before an upgrade: stop and disable the services.
set -e
case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now bellhop-hub.service bellhop-agent.service || true
	fi
	;;
esac
