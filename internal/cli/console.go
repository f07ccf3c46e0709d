package cli

import "net/http"

// consoleHandler mounts the web console; nil until it exists.
var consoleHandler func(h *Hub) http.Handler
