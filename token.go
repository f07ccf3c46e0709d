package bellhop

import (
	"crypto/sha256"
	"encoding/hex"
)

// HashToken returns the hex SHA-256 of a token. Tokens are stored only as
// hashes; a lookup by hash is a constant-time comparison in effect, since an
// attacker cannot choose the hash's prefix.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
