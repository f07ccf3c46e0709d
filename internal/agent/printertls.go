package agent

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
)

// PinsFile is where trust_on_first_use keeps printers' certificate
// fingerprints, inside the state directory.
const PinsFile = "printer-certificates.json"

// printerTLS is the TLS configuration for a device's ipps:// or https://
// target: nil (the system's roots and the host name) unless the device
// sets ca_file or trust_on_first_use.
//
// Printers make their own certificates, for a name of their own
// (NPI1A2B3C.local) while hotels reach them by address. So with ca_file
// the chain must lead to that CA but the name is not checked; with
// trust_on_first_use the first certificate seen is pinned (its SHA-256 in
// PinsFile) and any other one is refused, with the way to accept it.
func (cfg Config) printerTLS(d DeviceConfig, pins *pinStore) (*tls.Config, error) {
	if d.CAFile == "" && !d.TrustOnFirstUse {
		return nil, nil
	}
	base := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true} // verified below
	if d.CAFile != "" {
		pool, err := loadCA(d.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		base.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the printer sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			if err != nil {
				return fmt.Errorf("the printer's certificate is not signed by ca_file %s: %w", d.CAFile, err)
			}
			return nil
		}
		return base, nil
	}
	u, err := url.Parse(d.Driver)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("trust_on_first_use needs a target with a host, got %q", d.Driver)
	}
	key := u.Host
	if u.Port() == "" {
		key = net.JoinHostPort(u.Hostname(), map[string]string{"ipps": "631", "https": "443"}[u.Scheme])
	}
	base.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the printer sent no certificate")
		}
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		return pins.check(key, "sha256:"+hex.EncodeToString(sum[:]))
	}
	return base, nil
}

// pinStore is the file of pinned printer certificates.
type pinStore struct {
	path string
	mu   sync.Mutex
}

// check pins fp for key on first use, or compares it with the pin.
func (p *pinStore) check(key, fp string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pins := map[string]string{}
	b, err := os.ReadFile(p.path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &pins); err != nil {
			return fmt.Errorf("%s is damaged: %w", p.path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	switch pinned, ok := pins[key]; {
	case ok && pinned == fp:
		return nil
	case ok:
		return fmt.Errorf("the certificate of the printer at %s changed (pinned %s, now %s): refusing it; "+
			"if the printer was replaced or renewed its certificate, delete its entry from %s", key, pinned, fp, p.path)
	}
	pins[key] = fp
	out, err := json.MarshalIndent(pins, "", "  ")
	if err != nil {
		return err
	}
	tmp := p.path + ".tmp"
	if err := writeFileSync(tmp, out); err != nil {
		return fmt.Errorf("pinning the certificate of %s: %w", key, err)
	}
	if err := os.Rename(tmp, p.path); err != nil {
		return fmt.Errorf("pinning the certificate of %s: %w", key, err)
	}
	return syncDir(filepath.Dir(p.path))
}
