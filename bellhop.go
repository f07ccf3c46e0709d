// Package bellhop holds the domain of the device command hub: commands, devices,
// enterprises, integrations and subscriptions, the rules of a command's states,
// and the error codes. It imports only the standard library; every technology
// (stores, HTTP, WebSockets) lives in its own package and depends on this one.
package bellhop

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// TimeFormat is how times cross the wire: ISO 8601 UTC, whole seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

// FormatTime renders t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime parses an ISO 8601 UTC time; fractional seconds are accepted.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// Enterprise is a property (a hotel).
type Enterprise struct {
	ID         string
	Name       string
	CreatedUtc time.Time
	// TimeZone is the IANA zone (Europe/Prague) the console shows the
	// enterprise's times in; "" shows them in each browser's zone.
	TimeZone string
}

// ValidateTimeZone accepts "" and the IANA zone names this process knows
// (Europe/Prague, America/New_York, UTC).
func ValidateTimeZone(zone string) error {
	if zone == "" {
		return nil
	}
	if len(zone) > 64 || strings.ContainsAny(zone, " \\") || zone == "Local" {
		return Errorf(EINVALID, "Invalid TimeZone: an IANA zone such as Europe/Prague")
	}
	if _, err := time.LoadLocation(zone); err != nil {
		return Errorf(EINVALID, "Invalid TimeZone: an IANA zone such as Europe/Prague")
	}
	return nil
}

// Integration is a client application, identified by its ClientToken.
type Integration struct {
	ID         string
	Name       string
	CreatedUtc time.Time
}

// Subscription is an integration's access to one or more enterprises (several
// make it a portfolio token), identified by its AccessToken.
type Subscription struct {
	ID            string
	IntegrationID string
	EnterpriseIDs []string
	CreatedUtc    time.Time
	Revoked       bool
	// GenericDevices says the subscription sees generic devices (a Type
	// label of their own, such as Pbx): only then may one be connected to
	// it. Default false, so that a client that knows only the Mews types
	// never meets one.
	GenericDevices bool
}

// Portfolio reports whether s covers more than one enterprise.
func (s *Subscription) Portfolio() bool { return len(s.EnterpriseIDs) > 1 }

// Covers reports whether enterpriseID is within s's scope.
func (s *Subscription) Covers(enterpriseID string) bool {
	for _, id := range s.EnterpriseIDs {
		if id == enterpriseID {
			return true
		}
	}
	return false
}

// Caller is an authenticated Connector API caller: an integration acting
// through one of its subscriptions.
type Caller struct {
	Integration  Integration
	Subscription Subscription
}

// Reservation is the reference data addKeyCutter reads.
type Reservation struct {
	ID           string
	EnterpriseID string
	Number       string
	StartUtc     time.Time
	EndUtc       time.Time
	FirstName    string
	LastName     string
	Email        string
	Telephone    string
	LockIDs      []string
}

// Validate checks a new reservation.
func (r *Reservation) Validate() error {
	switch {
	case r.LastName == "":
		return Invalid("LastName")
	case r.StartUtc.IsZero():
		return Invalid("StartUtc")
	case r.EndUtc.IsZero() || !r.EndUtc.After(r.StartUtc):
		return Invalid("EndUtc")
	case len(r.LockIDs) == 0 || len(r.LockIDs) > 100:
		return Invalid("LockIds")
	}
	return nil
}

// Customer is an account (a customer or a company) that payments are charged
// to; addPaymentTerminal reads it.
type Customer struct {
	ID           string
	EnterpriseID string
	FirstName    string
	LastName     string
	CompanyName  string // set for a company account; then the names are empty
	Email        string
}

// IsCompany reports whether the account is a company.
func (c *Customer) IsCompany() bool { return c.CompanyName != "" }

// FullName is the account's display name.
func (c *Customer) FullName() string {
	if c.IsCompany() {
		return c.CompanyName
	}
	if c.FirstName == "" {
		return c.LastName
	}
	return c.FirstName + " " + c.LastName
}

// Validate checks a new customer.
func (c *Customer) Validate() error {
	if c.LastName == "" && c.CompanyName == "" {
		return Errorf(EINVALID, "Invalid LastName: a customer needs a last name or a company name")
	}
	return nil
}

// NewID returns a lowercase RFC 9562 version 7 UUID, the form of every id on
// the wire: 48 bits of Unix milliseconds, then 74 random bits. Ids made later
// sort later, so the stores' indexes on ids grow at their end instead of
// touching a random page for every new row; the random bits keep ids
// unguessable. Ids are opaque to clients, who treat them as any UUID.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic(fmt.Sprintf("bellhop: no randomness: %v", err))
	}
	ms := uint64(time.Now().UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// ValidID reports whether s has the form of an id (a hyphenated hex UUID).
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// ParseID returns s in the canonical form of an id (lowercase), and whether
// s is an id at all. Every id a request names goes through it: stores hold
// and compare ids only in the canonical form.
func ParseID(s string) (id string, ok bool) {
	if !ValidID(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// NewToken returns a random token of 256 bits in the documented shape (upper
// hex, a dash), and the SHA-256 hex hash under which it is stored.
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("bellhop: no randomness: %v", err))
	}
	h := fmt.Sprintf("%X", b[:])
	return h[:32] + "-" + h[32:]
}
