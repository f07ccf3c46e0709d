package bellhop

import "time"

// The questions the hub asks of its store, in the domain's words, so that
// the service and the adapters above it never need the store package.

// CommandFilter selects commands. Zero fields do not filter; a non-nil empty
// slice matches nothing. Ids are in canonical form (ParseID).
type CommandFilter struct {
	IDs           []string
	EnterpriseIDs []string
	DeviceIDs     []string
	States        []State
	DeviceType    DeviceType
	// GenericTypes selects the commands of generic devices only (a
	// DeviceType none of DeviceTypes).
	GenericTypes         bool
	CreatorIntegrationID string
	// Search matches commands whose id or notes contain it (notes without
	// regard to case; SQLite folds ASCII letters only) or whose device is
	// among SearchDeviceIDs. "" does not filter.
	Search          string
	SearchDeviceIDs []string
	// Half-open intervals [From, To).
	CreatedFrom, CreatedTo time.Time
	UpdatedFrom, UpdatedTo time.Time
	// Paging by Seq, exclusive: ascending order takes Seq > AfterSeq,
	// descending order takes Seq < BeforeSeq (when non-zero).
	AfterSeq   int64
	BeforeSeq  int64
	Descending bool
	Limit      int // 0 = no limit
}

// Idempotency identifies a create request that a client may repeat: a
// second create with the same Scope and Key gives the first command when
// RequestHash matches, and a conflict when it does not.
type Idempotency struct {
	Scope       string // who may repeat it: a subscription id, or "admin"
	Key         string // the Idempotency-Key header
	RequestHash string // hash of the operation and body
}

// DeviceStats is what waits on a device and when it last finished something.
type DeviceStats struct {
	Waiting          int // Pending or Received
	Processing       int
	OldestWaitingUtc time.Time // zero when nothing waits
	LastProcessedUtc time.Time // zero when nothing was processed
}

// PaymentFilter selects payment records. Zero fields do not filter.
type PaymentFilter struct {
	EnterpriseID string
	CommandID    string
	Limit        int // 0 = no limit
}
