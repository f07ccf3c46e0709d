package postgres

// ConnectedDevicesSQL is the query of ConnectedDevices, for TestConnectedDevicesPlan.
const ConnectedDevicesSQL = connectedDevices

// ConnConfig is the configuration of the store's connections, for
// TestLoopbackPlain.
var ConnConfig = connConfig
