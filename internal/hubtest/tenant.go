package hubtest

import (
	"context"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
)

// Tenant is one integration subscribed to one enterprise, with devices
// connected to the subscription and the reference data the add-operations
// read (a reservation and a customer), made through the admin API.
type Tenant struct {
	Enterprise   *admin.Enterprise
	Integration  *admin.Integration
	Subscription *admin.Subscription
	ClientToken  string
	AccessToken  string
	// Devices holds the devices that NewTenant created, one per type.
	Devices     map[bellhop.DeviceType]*admin.Device
	Reservation *admin.Reservation
	Customer    *admin.Customer

	admin *admin.Client
}

// NewTenant creates a tenant called name through the admin API of a hub
// (in this process or not): an enterprise, an integration subscribed to it,
// a device of each of the types connected to the subscription, a
// reservation of two rooms for two days from now and a customer.
func NewTenant(tb testing.TB, a *admin.Client, name string, types ...bellhop.DeviceType) *Tenant {
	tb.Helper()
	ctx := context.Background()
	ent, err := a.CreateEnterprise(ctx, name+" Hotel")
	if err != nil {
		tb.Fatal(err)
	}
	tn := subscribe(tb, a, ent, name+" integration")
	for _, typ := range types {
		tn.Devices[typ] = tn.AddDevice(tb, typ, name+" "+string(typ))
	}
	now := time.Now()
	if tn.Reservation, err = a.CreateReservation(ctx, admin.Reservation{EnterpriseId: tn.Enterprise.Id, Number: "1001",
		StartUtc: bellhop.FormatTime(now), EndUtc: bellhop.FormatTime(now.Add(48 * time.Hour)), FirstName: "Jiří",
		LastName: "Dvořák", Email: "g@example.com", Telephone: "+420 1", LockIds: []string{"101", "102"}}); err != nil {
		tb.Fatal(err)
	}
	if tn.Customer, err = a.CreateCustomer(ctx, admin.Customer{EnterpriseId: tn.Enterprise.Id, FirstName: "Ann", LastName: "Lee"}); err != nil {
		tb.Fatal(err)
	}
	return tn
}

// NewIntegration creates, through the admin API, another integration
// called name subscribed to the tenant's enterprise, with no device
// connected: a tenant of the same enterprise.
func (tn *Tenant) NewIntegration(tb testing.TB, name string) *Tenant {
	tb.Helper()
	return subscribe(tb, tn.admin, tn.Enterprise, name)
}

// subscribe creates an integration subscribed to ent.
func subscribe(tb testing.TB, a *admin.Client, ent *admin.Enterprise, name string) *Tenant {
	tb.Helper()
	ctx := context.Background()
	integ, err := a.CreateIntegration(ctx, name)
	if err != nil {
		tb.Fatal(err)
	}
	sub, err := a.CreateSubscription(ctx, integ.Id, ent.Id)
	if err != nil {
		tb.Fatal(err)
	}
	return &Tenant{Enterprise: ent, Integration: integ, Subscription: sub, ClientToken: integ.ClientToken,
		AccessToken: sub.AccessToken, Devices: map[bellhop.DeviceType]*admin.Device{}, admin: a}
}

// SDK returns a Connector client of the tenant for the hub at
// platformAddress, with retries off so that errors surface as they are.
func (tn *Tenant) SDK(platformAddress string) *client.Client {
	return sdk(client.Config{PlatformAddress: platformAddress, ClientToken: tn.ClientToken, AccessToken: tn.AccessToken})
}

// AddDevice creates a device of the tenant's enterprise, with a
// configuration that every type accepts, and connects it to the tenant's
// subscription.
func (tn *Tenant) AddDevice(tb testing.TB, typ bellhop.DeviceType, name string) *admin.Device {
	tb.Helper()
	ctx := context.Background()
	d, err := tn.admin.CreateDevice(ctx, admin.Device{EnterpriseId: tn.Enterprise.Id, Type: client.DeviceType(typ), Name: name,
		Identifier: "ID-" + string(typ), Configuration: admin.DeviceConfig{PrinterName: "P1", ApiUrl: "http://127.0.0.1:1/api",
			KeyCutterID: "KC-1", FiscalMachineID: "FM-1", TaxIdentifier: "123"}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := tn.admin.Connect(ctx, tn.Subscription.Id, d.Id); err != nil {
		tb.Fatal(err)
	}
	return d
}
