package service

// Local returns the service manager of this system: systemd.
func Local() Manager { return Systemd{} }
