package bellhop

import (
	"strings"
	"testing"
)

func TestDeviceTypes(t *testing.T) {
	for _, tt := range []struct {
		t                    DeviceType
		mews, generic, valid bool
	}{
		{Printer, true, false, true},
		{PassportScanner, true, false, true},
		{"Pbx", false, true, true},
		{"Tv", false, true, true},
		{"DoorController2", false, true, true},
		{"X", false, true, true},
		{DeviceType(strings.Repeat("a", MaxTypeLabel)), false, true, true},
		{DeviceType(strings.Repeat("a", MaxTypeLabel+1)), false, false, false},
		{"printer", false, false, false}, // a Mews type in another case passes for none
		{"KEYCUTTER", false, false, false},
		{"", false, false, false},
		{"1Tv", false, false, false},
		{"Pbx-1", false, false, false},
		{"Pbx 1", false, false, false},
		{"Télé", false, false, false},
	} {
		if tt.t.Mews() != tt.mews || tt.t.Generic() != tt.generic || tt.t.Valid() != tt.valid {
			t.Errorf("%q: Mews %v Generic %v Valid %v", tt.t, tt.t.Mews(), tt.t.Generic(), tt.t.Valid())
		}
	}
	d := Device{Type: "pbx-1", Name: "x"}
	if err := d.Validate(); err != ErrInvalidType {
		t.Fatalf("validate: %v", err)
	}
}

func TestGenericData(t *testing.T) {
	d := &Device{ID: NewID(), Type: "Pbx", Name: "Lobby PBX"}
	raw := []byte(`{"Extension":"101","Ring":[1,2],"Anything":{"goes":true}}`)
	got, err := CompleteData(d, raw)
	if err != nil || string(MarshalData(got)) != string(raw) {
		t.Fatalf("CompleteData: %s %v", MarshalData(got), err)
	}
	for _, bad := range []string{`[1]`, `"x"`, `null`, ``, `{`} {
		if _, err := CompleteData(d, []byte(bad)); ErrorCode(err) != EINVALID {
			t.Errorf("Data %q: %v", bad, err)
		}
	}
}
