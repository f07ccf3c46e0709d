package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults applied by [New] to the zero fields of a [Config].
const (
	DefaultMaxRetries = 4
	DefaultMinBackoff = 200 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

// Config configures a [Client]. PlatformAddress, ClientToken, AccessToken
// and Client are required; every other field has a default.
type Config struct {
	// PlatformAddress is the base URL of the API, without the
	// /api/connector/v1 suffix: e.g. "https://api.mews-demo.com" for the
	// Mews demo, or "http://localhost:8080" for a local bellhop hub.
	// A path prefix (for a hub behind a reverse proxy) is kept.
	PlatformAddress string

	// WebSocketAddress is the base URL of the WebSocket, without the
	// /ws/connector suffix. Optional: by default it is PlatformAddress with
	// http turned into ws and https into wss, except for the two Mews
	// platforms, whose WebSockets live on other hosts: api.mews.com maps
	// to wss://ws.mews.com and api.mews-demo.com to wss://ws.mews-demo.com.
	WebSocketAddress string

	// ClientToken identifies the integration, AccessToken the connection to
	// one or more enterprises. Both are sent in every request body and as
	// cookies on the WebSocket handshake. Tokens are opaque and not checked.
	ClientToken string
	AccessToken string

	// Client is the name and version of the calling application, sent in
	// every request body, e.g. "Sample Client 1.0.0".
	Client string

	// HTTPClient sends the requests and the WebSocket handshake.
	// Default: [http.DefaultClient]. Prefer deadlines on the context to
	// a Timeout here: a Timeout also bounds every WebSocket handshake.
	HTTPClient *http.Client

	// MaxRetries is how many times a failed request is retried after the
	// first attempt. Default (0): 4. A negative value disables retries.
	MaxRetries int

	// MinBackoff and MaxBackoff bound the exponential backoff between
	// retries and WebSocket reconnects: the n-th wait is a random duration
	// in [0, min(MaxBackoff, MinBackoff*2^n)) ("full jitter").
	// Defaults: 200ms and 10s. A Retry-After header overrides the backoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration

	// Logger receives debug records for retries and reconnects.
	// Default: a logger that discards everything.
	Logger *slog.Logger
}

// mewsWebSockets maps the documented Mews platform hosts to their
// WebSocket addresses (spec 1.1).
var mewsWebSockets = map[string]string{
	"api.mews.com":      "wss://ws.mews.com",
	"api.mews-demo.com": "wss://ws.mews-demo.com",
}

// withDefaults returns cfg with every zero field set to its default and the
// addresses trimmed of trailing slashes.
func (cfg Config) withDefaults() Config {
	cfg.PlatformAddress = strings.TrimRight(cfg.PlatformAddress, "/")
	cfg.WebSocketAddress = strings.TrimRight(cfg.WebSocketAddress, "/")
	if cfg.WebSocketAddress == "" {
		cfg.WebSocketAddress = deriveWebSocketAddress(cfg.PlatformAddress)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

func deriveWebSocketAddress(platform string) string {
	u, err := url.Parse(platform)
	if err != nil {
		return ""
	}
	if ws, ok := mewsWebSockets[strings.ToLower(u.Host)]; ok && u.Scheme == "https" {
		return ws
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return ""
	}
	return u.String()
}

// Validate reports every problem of cfg, joined with [errors.Join], or nil.
// Zero fields that have defaults are valid. It checks that the required
// fields are set, that PlatformAddress is an absolute http or https URL,
// that WebSocketAddress (when set) is an absolute ws, wss, http or https
// URL, and that the backoff bounds are not negative and in order.
func (cfg Config) Validate() error {
	var errs []error
	if cfg.PlatformAddress == "" {
		errs = append(errs, errors.New("client: PlatformAddress is required"))
	} else if err := checkURL(cfg.PlatformAddress, "http", "https"); err != nil {
		errs = append(errs, fmt.Errorf("client: PlatformAddress: %w", err))
	}
	if cfg.WebSocketAddress != "" {
		if err := checkURL(cfg.WebSocketAddress, "ws", "wss", "http", "https"); err != nil {
			errs = append(errs, fmt.Errorf("client: WebSocketAddress: %w", err))
		}
	}
	if cfg.ClientToken == "" {
		errs = append(errs, errors.New("client: ClientToken is required"))
	}
	if cfg.AccessToken == "" {
		errs = append(errs, errors.New("client: AccessToken is required"))
	}
	if cfg.Client == "" {
		errs = append(errs, errors.New("client: Client is required"))
	}
	if cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 {
		errs = append(errs, errors.New("client: MinBackoff and MaxBackoff must not be negative"))
	} else if d := cfg.withDefaults(); d.MinBackoff > d.MaxBackoff {
		errs = append(errs, fmt.Errorf("client: MinBackoff %v is above MaxBackoff %v", d.MinBackoff, d.MaxBackoff))
	}
	return errors.Join(errs...)
}

func checkURL(s string, schemes ...string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	for _, scheme := range schemes {
		if u.Scheme == scheme {
			if u.Host == "" {
				return fmt.Errorf("%q has no host", s)
			}
			if u.RawQuery != "" || u.Fragment != "" {
				return fmt.Errorf("%q must not have a query or fragment", s)
			}
			return nil
		}
	}
	return fmt.Errorf("%q: scheme must be one of %s", s, strings.Join(schemes, ", "))
}
