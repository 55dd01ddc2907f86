package eventschemas_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/eventschemas"
)

func TestCiphertextRefusesPlainText(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"",
		"12345",
		"U2FsdGVkX1",                   // the prefix alone
		"U2FsdGVkX1+X8pvfbirj2eVHFfTa", // salt, no whole block
		"U2FsdGVkX1!!not-base64!!",
	} {
		if _, err := eventschemas.Ciphertext(s); !errors.Is(err, eventschemas.ErrNotCiphertext) {
			t.Errorf("Ciphertext(%q): got %v, want ErrNotCiphertext", s, err)
		}
	}
	v, err := eventschemas.Ciphertext(sampleCiphertext)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Encrypted() || v.Text() != sampleCiphertext {
		t.Errorf("Ciphertext gives encrypted=%v text=%q", v.Encrypted(), v.Text())
	}
}

func TestVariableValueJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json    string
		want    eventschemas.VariableValue
		wantErr bool
	}{
		{json: `{"encrypted":false,"plaintext":"p\u00e4ss"}`, want: eventschemas.Plaintext("päss")},
		{json: `{"encrypted":false,"plaintext":""}`, want: eventschemas.Plaintext("")},
		{json: fmt.Sprintf(`{"encrypted":true,"ciphertext":%q}`, sampleCiphertext), want: mustCipher(t)},
		{json: `{"encrypted":true,"plaintext":"12345"}`, wantErr: true},
		{json: `{"encrypted":true,"ciphertext":"12345"}`, wantErr: true},
		{json: `{"encrypted":true}`, wantErr: true},
		{json: fmt.Sprintf(`{"encrypted":false,"ciphertext":%q}`, sampleCiphertext), wantErr: true},
		{json: fmt.Sprintf(`{"encrypted":true,"plaintext":"x","ciphertext":%q}`, sampleCiphertext), wantErr: true},
		{json: `{"encrypted":false}`, wantErr: true},
		{json: `{"encrypted":false,"plaintext":"x","value":"y"}`, wantErr: true},
		{json: `"12345"`, wantErr: true},
	}
	for _, tt := range tests {
		var got eventschemas.VariableValue
		err := json.Unmarshal([]byte(tt.json), &got)
		if tt.wantErr {
			if err == nil {
				t.Errorf("%s: decoded to %v, want an error", tt.json, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.json, err)
			continue
		}
		if !got.Equal(tt.want) || got.Text() != tt.want.Text() {
			t.Errorf("%s: got encrypted=%v %q, want encrypted=%v %q", tt.json,
				got.Encrypted(), got.Text(), tt.want.Encrypted(), tt.want.Text())
		}
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != strings.ReplaceAll(tt.json, `\u00e4`, "ä") {
			t.Errorf("%s: re-encodes as %s", tt.json, again)
		}
	}
}

func TestVariableValueNeverPrintsItsText(t *testing.T) {
	t.Parallel()
	for _, v := range []eventschemas.VariableValue{eventschemas.Plaintext("hunter2"), mustCipher(t)} {
		var buf strings.Builder
		slog.New(slog.NewTextHandler(&buf, nil)).Info("set", "value", v)
		printed := fmt.Sprintf("%v %s %+v", v, v, v) + buf.String()
		if strings.Contains(printed, "hunter2") || strings.Contains(printed, sampleCiphertext) {
			t.Errorf("value text printed: %s", printed)
		}
	}
}

func mustCipher(t *testing.T) eventschemas.VariableValue {
	t.Helper()
	v, err := eventschemas.Ciphertext(sampleCiphertext)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
