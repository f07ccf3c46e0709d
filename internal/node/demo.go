package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
	"github.com/bellhop/bellhop/internal/pdf"
)

// DevInfo is what `serve --dev` seeds, as written to DIR/dev.json.
type DevInfo struct {
	PlatformAddress  string
	WebSocketAddress string
	AdminToken       string
	ClientToken      string
	AccessToken      string
	EnterpriseId     string
	IntegrationId    string
	SubscriptionId   string
	Devices          []DevDevice
	ReservationIds   []string
	CustomerIds      []string
	// Users are console users to try the roles with.
	Users []DevUser `json:",omitempty"`
}

// DevUser is one seeded console user.
type DevUser struct {
	Name     string
	Role     bellhop.Role
	Password string
}

// DevDevice is one seeded device.
type DevDevice struct {
	Id   string
	Name string
	Type bellhop.DeviceType
}

// SeedDev seeds the demo data once: on a later start with the same data
// directory it reads dev.json back, so tokens and ids stay the same.
func SeedDev(ctx context.Context, h *Node, dir string) (*DevInfo, error) {
	path := filepath.Join(dir, "dev.json")
	info, err := readDev(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if info == nil {
		if info, err = seed(ctx, h); err != nil {
			return nil, fmt.Errorf("seed demo data: %w", err)
		}
	} else if err := EnsureAdminToken(ctx, h.Store, "dev", info.AdminToken); err != nil {
		return nil, err
	}
	info.PlatformAddress, info.WebSocketAddress = h.PlatformAddress(), h.WebSocketAddress()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	if err := writeFileAtomic(path, append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return info, nil
}

func readDev(path string) (*DevInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var info DevInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &info, nil
}

func seed(ctx context.Context, h *Node) (*DevInfo, error) {
	svc := h.Service
	info := &DevInfo{AdminToken: bellhop.NewToken()}
	if err := EnsureAdminToken(ctx, h.Store, "dev", info.AdminToken); err != nil {
		return nil, err
	}
	ent, err := svc.CreateEnterprise(ctx, "Demo Hotel")
	if err != nil {
		return nil, err
	}
	info.EnterpriseId = ent.ID
	integ, clientToken, err := svc.CreateIntegration(ctx, "Demo integration")
	if err != nil {
		return nil, err
	}
	sub, accessToken, err := svc.CreateSubscription(ctx, integ.ID, []string{ent.ID})
	if err != nil {
		return nil, err
	}
	info.IntegrationId, info.SubscriptionId, info.ClientToken, info.AccessToken = integ.ID, sub.ID, clientToken, accessToken
	devices := []bellhop.Device{
		{Type: bellhop.Printer, Name: "Front desk printer", Identifier: "PRN-1",
			Config: bellhop.DeviceConfig{PrinterName: "Front desk printer", PrinterDriverName: "IPP Everywhere", PrinterPortName: "ipp"}},
		{Type: bellhop.PaymentTerminal, Name: "Reception terminal", Identifier: "TERM-1",
			Config: bellhop.DeviceConfig{PaymentTerminalID: "TERM-1"}},
		{Type: bellhop.KeyCutter, Name: "Key encoder", Identifier: "KC-1",
			Config: bellhop.DeviceConfig{KeyCutterID: "KC-1", ApiUrl: "http://127.0.0.1:9000/encode", KeyCutterData: `{"Site":"Demo"}`}},
		{Type: bellhop.FiscalMachine, Name: "Fiscal printer", Identifier: "FM-001",
			Config: bellhop.DeviceConfig{FiscalMachineID: "FM-001", ApiUrl: "http://127.0.0.1:9001/cgi-bin/fpmate.cgi",
				FiscalMachineData: `{"printerPort":"COM1"}`, TaxIdentifier: "12345678901"}},
		{Type: bellhop.PassportScanner, Name: "Passport scanner", Identifier: "PS-1",
			Config: bellhop.DeviceConfig{PassportScannerID: "PS-1"}},
	}
	for i := range devices {
		d := &devices[i]
		d.EnterpriseID = ent.ID
		if err := svc.CreateDevice(ctx, d); err != nil {
			return nil, err
		}
		if err := svc.Connect(ctx, sub.ID, d.ID); err != nil {
			return nil, err
		}
		info.Devices = append(info.Devices, DevDevice{Id: d.ID, Name: d.Name, Type: d.Type})
	}
	day := svc.Now().Truncate(24 * time.Hour)
	guests := []struct{ first, last, email, phone, room string }{
		{"Anna", "Novák", "anna.novak@example.com", "+420 601 000 001", "101"},
		{"Luca", "Rossi", "luca.rossi@example.com", "+39 320 000 0002", "102"},
		{"Émile", "Dubois", "emile.dubois@example.com", "+33 6 00 00 00 03", "201"},
	}
	for i, g := range guests {
		r := &bellhop.Reservation{EnterpriseID: ent.ID, Number: fmt.Sprintf("%d", 1001+i),
			StartUtc: day.Add(14 * time.Hour), EndUtc: day.Add(time.Duration(24*(i+1)+10) * time.Hour),
			FirstName: g.first, LastName: g.last, Email: g.email, Telephone: g.phone, LockIDs: []string{g.room}}
		if err := svc.CreateReservation(ctx, r); err != nil {
			return nil, err
		}
		info.ReservationIds = append(info.ReservationIds, r.ID)
		c := &bellhop.Customer{EnterpriseID: ent.ID, FirstName: g.first, LastName: g.last, Email: g.email}
		if err := svc.CreateCustomer(ctx, c); err != nil {
			return nil, err
		}
		info.CustomerIds = append(info.CustomerIds, c.ID)
	}
	for _, u := range []struct {
		name string
		role bellhop.Role
	}{{"desk", bellhop.Operator}, {"viewer", bellhop.Viewer}} {
		_, pw, err := svc.AddUser(ctx, hub.TokenActor("dev", ""), u.name, u.role, "")
		if err != nil {
			return nil, err
		}
		info.Users = append(info.Users, DevUser{Name: u.name, Role: u.role, Password: pw})
	}
	return info, nil
}

// Print writes the demo data ready to paste.
func (d *DevInfo) Print(w io.Writer) {
	fmt.Fprintf(w, "bellhop dev hub: demo data (also in dev.json)\n\n")
	fmt.Fprintf(w, "  PlatformAddress   %s\n  WebSocketAddress  %s\n", d.PlatformAddress, d.WebSocketAddress)
	fmt.Fprintf(w, "  AdminToken        %s\n  ClientToken       %s\n  AccessToken       %s\n", d.AdminToken, d.ClientToken, d.AccessToken)
	fmt.Fprintf(w, "  EnterpriseId      %s\n\n", d.EnterpriseId)
	for _, dev := range d.Devices {
		fmt.Fprintf(w, "  %-16s %s  %s\n", dev.Type, dev.Id, dev.Name)
	}
	fmt.Fprintf(w, "\n  ReservationIds    %v\n  CustomerIds       %v\n\n", d.ReservationIds, d.CustomerIds)
	printer := ""
	for _, dev := range d.Devices {
		if dev.Type == bellhop.Printer {
			printer = dev.Id
		}
	}
	fmt.Fprintf(w, "Try it:\n  curl -s %s/api/connector/v1/commands/addPrinter -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"ClientToken\":\"%s\",\"AccessToken\":\"%s\",\"Client\":\"curl\",\"PrinterId\":\"%s\",\"Data\":\"%s\",\"CopyCount\":1}'\n",
		d.PlatformAddress, d.ClientToken, d.AccessToken, printer, base64.StdEncoding.EncodeToString(pdf.Text("Hello from bellhop")))
	fmt.Fprintf(w, "  Console: %s/ (sign in as a user below, or with the AdminToken as an admin)\n", d.PlatformAddress)
	for _, u := range d.Users {
		fmt.Fprintf(w, "    %-8s %-9s password %s\n", u.Name, u.Role, u.Password)
	}
	fmt.Fprintln(w)
}

// writeFileAtomic writes a file so that a crash leaves the old or the new
// content, never a torn one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
