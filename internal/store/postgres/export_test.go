package postgres

// ConnectedDevicesSQL is the query of ConnectedDevices, for TestConnectedDevicesPlan.
const ConnectedDevicesSQL = connectedDevices
