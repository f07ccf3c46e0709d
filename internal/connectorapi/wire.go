package connectorapi

import (
	"encoding/json"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hub"
)

// The JSON shapes of the Connector device API, exactly as the spec names them.

type base struct {
	ClientToken  *string
	AccessToken  *string
	Client       *string
	LanguageCode *string
	CultureCode  *string
}

type limitation struct {
	Count  *int
	Cursor *string
}

func (l *limitation) page() (*hub.Page, error) {
	if l == nil {
		return nil, nil
	}
	if l.Count == nil {
		return nil, bellhop.Invalid("Limitation Count")
	}
	p := &hub.Page{Count: *l.Count}
	if l.Cursor != nil {
		p.Cursor = *l.Cursor
	}
	if p.Count == 0 {
		return nil, bellhop.Invalid("Limitation Count")
	}
	return p, nil
}

type device struct {
	Id         string
	Name       string
	Type       bellhop.DeviceType
	Identifier *string
}

func deviceOf(d *bellhop.Device) device {
	var ident *string
	if d.Identifier != "" {
		ident = &d.Identifier
	}
	return device{Id: d.ID, Name: d.Name, Type: d.Type, Identifier: ident}
}

type user struct {
	FirstName *string
	LastName  string
	ImageUrl  *string
}

type command struct {
	Id         string
	State      bellhop.State
	CreatedUtc string
	Creator    *user
	Device     device
	Data       json.RawMessage
}

func commandOf(v *hub.CommandView) command {
	var first *string
	if v.Creator.FirstName != "" {
		first = &v.Creator.FirstName
	}
	return command{Id: v.ID, State: v.State, CreatedUtc: bellhop.FormatTime(v.CreatedUtc),
		Creator: &user{FirstName: first, LastName: v.Creator.LastName}, Device: deviceOf(&v.Device), Data: v.Data}
}

type commandsResponse struct {
	Commands []command
	Cursor   *string `json:",omitempty"`
}

type getAllActiveRequest struct {
	base
	Limitation *limitation
}

type getAllByIdsRequest struct {
	base
	CommandIds []string
	Limitation *limitation
}

type updateRequest struct {
	base
	CommandId                 *string
	State                     *bellhop.State
	Progress                  *float64
	Notes                     *string
	ExternalRequestIdentifier *externalRequestIdentifier
}

// externalRequestIdentifier is the caller's reference for an update: {Value}.
type externalRequestIdentifier struct {
	Value *string
}

type addPrinterRequest struct {
	base
	EnterpriseId *string
	PrinterId    *string
	Data         *string
	CopyCount    *int
}

type addKeyCutterRequest struct {
	base
	EnterpriseId  *string
	KeyCutterId   *string
	ReservationId *string
	KeyCount      *int
}

// currencyValue is "Currency value (ver 2018-06-07)".
type currencyValue struct {
	Currency *string
	Value    *float64
	Net      *float64
	Tax      *float64
	TaxRate  *float64
}

type addPaymentTerminalRequest struct {
	base
	TerminalId       *string
	CustomerId       *string
	Type             *string
	Amount           *currencyValue
	BillId           *string
	PaymentRequestId *string
	ReservationId    *string
}

type commandIDResponse struct{ CommandId string }

type timeInterval struct {
	StartUtc *string
	EndUtc   *string
}

type fiscalRequest struct {
	base
	CommandIds    []string
	DeviceIds     []string
	States        []bellhop.State
	UpdatedUtc    *timeInterval
	EnterpriseIds []string
	Limitation    *limitation
}

// fiscalCommand is "Fiscal machine command data (ver. 2025-06-23)".
type fiscalCommand struct {
	Id                string
	State             bellhop.State
	CreatedUtc        string
	Creator           *profileData
	FiscalMachineId   string
	ApiUrl            string
	FiscalMachineData string
	TaxIdentifier     *string
	Device            device
	Bill              bellhop.Bill2025
	CommandData       *fiscalAdditionalData
}

type profileData struct {
	Discriminator     string
	EnterpriseProfile *struct{ ProfileId string }
}

type fiscalAdditionalData struct {
	Discriminator               *string
	ItalianFiscalMachineData    *bellhop.ItalianFiscalMachineData
	ItalianFiscalMachinePayload *struct{ Payload string }
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// fiscalOf converts a stored FiscalMachine command (legacy Data) to the 2025
// flat shape, taking what the command's Data lacks from the device
// configuration as the hub does when it creates one.
func fiscalOf(v *hub.CommandView) fiscalCommand {
	var d bellhop.FiscalMachineData
	_ = json.Unmarshal(v.Data, &d) // stored before Data was checked: what does not fit stays empty
	f := fiscalCommand{Id: v.ID, State: v.State, CreatedUtc: bellhop.FormatTime(v.CreatedUtc),
		FiscalMachineId:   firstNonEmpty(str(d.FiscalMachineId), v.Device.Config.FiscalMachineID, v.Device.Identifier, v.Device.ID),
		ApiUrl:            firstNonEmpty(str(d.ApiUrl), v.Device.Config.ApiUrl),
		FiscalMachineData: firstNonEmpty(str(d.FiscalMachineData), v.Device.Config.FiscalMachineData, "{}"),
		TaxIdentifier:     d.TaxIdentifier, Device: deviceOf(&v.Device), Bill: d.Bill.Bill2025()}
	if f.TaxIdentifier == nil && v.Device.Config.TaxIdentifier != "" {
		f.TaxIdentifier = &v.Device.Config.TaxIdentifier
	}
	if v.Creator.IntegrationID != "" {
		f.Creator = &profileData{Discriminator: "Integration"}
	} else {
		f.Creator = &profileData{Discriminator: "Static"}
	}
	var extra fiscalAdditionalData
	if it := d.BillFiscalMachineData; it != nil && it.Discriminator == "ItalianFiscalMachineData" {
		extra.Discriminator, extra.ItalianFiscalMachineData = &it.Discriminator, &it.Value
	}
	if p := d.PayloadData; p != nil && p.Discriminator == "ItalianFiscalMachine" && p.Value != "" {
		disc := "ItalianFiscalMachinePayload"
		extra.Discriminator, extra.ItalianFiscalMachinePayload = &disc, &struct{ Payload string }{p.Value}
	}
	if extra.Discriminator != nil {
		f.CommandData = &extra
	}
	return f
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

type fiscalResponse struct {
	Commands []fiscalCommand
	Cursor   *string
}
