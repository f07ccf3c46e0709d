#!/bin/sh
# After install and upgrade (deb: configure; rpm: %post): the bellhop
# system user, the configuration readable by its group only, the state
# directories it owns. Nothing is enabled or started: the administrator
# chooses the hub, the agent or both.
set -e
if ! getent group bellhop >/dev/null; then
	groupadd --system bellhop
fi
if ! getent passwd bellhop >/dev/null; then
	useradd --system --gid bellhop --home-dir /var/lib/bellhop --no-create-home \
		--shell /usr/sbin/nologin --comment "bellhop hub and agent" bellhop
fi
chown root:bellhop /etc/bellhop /etc/bellhop/agent.yaml /etc/bellhop/hub.env
chmod 0750 /etc/bellhop
chmod 0640 /etc/bellhop/agent.yaml /etc/bellhop/hub.env
for dir in /var/lib/bellhop /var/lib/bellhop/hub /var/lib/bellhop/agent; do
	install -d -o bellhop -g bellhop -m 0750 "$dir"
done
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
