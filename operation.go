package bellhop

// Operations lists the Connector device operations by the path that names
// them under /api/connector/v1/.
var Operations = []string{
	"devices/getAll",
	"commands/getAllActive",
	"commands/getAllByIds",
	"commands/update",
	"commands/addPrinter",
	"commands/addKeyCutter",
	"commands/addPaymentTerminal",
	"fiscalMachineCommands/getAll",
}

// OperationWebSocket names the opening of a WebSocket (/ws/connector) where
// a Connector operation is expected: in the request log and in the
// operations a fault applies to.
const OperationWebSocket = "websocket"

// ValidOperation reports whether op is one of Operations or
// OperationWebSocket.
func ValidOperation(op string) bool {
	if op == OperationWebSocket {
		return true
	}
	for _, o := range Operations {
		if o == op {
			return true
		}
	}
	return false
}
