package eventschemas

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// CiphertextPrefix starts every value encrypted in Cometa's format: it is
// base64 of "Salted__", the header of OpenSSL passphrase encryption.
const CiphertextPrefix = "U2FsdGVkX1"

// ErrNotCiphertext is returned for text offered as ciphertext that is not
// in Cometa's encryption format.
var ErrNotCiphertext = errors.New("not a ciphertext in Cometa's format")

// VariableValue is the value of a variable: either plain text, or
// ciphertext when the variable is encrypted. Its fields are unexported so
// that the only ways to make one are Plaintext and Ciphertext; an encrypted
// value holding plain text cannot be built, encoded or decoded.
//
// Its JSON is {"encrypted": false, "plaintext": "..."} or {"encrypted":
// true, "ciphertext": "U2FsdGVkX1..."}. It never prints its text (String,
// LogValue), so a value that reaches a log line shows only its kind.
type VariableValue struct {
	encrypted bool
	text      string
}

// Plaintext returns an unencrypted value.
func Plaintext(s string) VariableValue { return VariableValue{text: s} }

// Ciphertext returns an encrypted value. s must be base64 of an OpenSSL
// "Salted__" header, an 8-byte salt and at least one 16-byte AES block.
func Ciphertext(s string) (VariableValue, error) {
	if err := checkCiphertext(s); err != nil {
		return VariableValue{}, err
	}
	return VariableValue{encrypted: true, text: s}, nil
}

func checkCiphertext(s string) error {
	if !strings.HasPrefix(s, CiphertextPrefix) {
		return fmt.Errorf("%w: no %q prefix", ErrNotCiphertext, CiphertextPrefix)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotCiphertext, err)
	}
	const header = 16 // "Salted__" and the salt
	if len(raw) < header+16 || (len(raw)-header)%16 != 0 {
		return fmt.Errorf("%w: %d bytes is not a header and whole AES blocks", ErrNotCiphertext, len(raw))
	}
	return nil
}

// Encrypted reports whether the value is ciphertext.
func (v VariableValue) Encrypted() bool { return v.encrypted }

// Text returns the stored text: the ciphertext of an encrypted value, the
// value itself otherwise.
func (v VariableValue) Text() string { return v.text }

// Equal reports whether two values are the same kind and text.
func (v VariableValue) Equal(o VariableValue) bool { return v == o }

// String names the kind of value without its text.
func (v VariableValue) String() string {
	if v.encrypted {
		return "[encrypted]"
	}
	return "[plaintext]"
}

// LogValue keeps the text out of structured logs.
func (v VariableValue) LogValue() slog.Value { return slog.StringValue(v.String()) }

type variableValueJSON struct {
	Encrypted  bool    `json:"encrypted"`
	Plaintext  *string `json:"plaintext,omitempty"`
	Ciphertext *string `json:"ciphertext,omitempty"`
}

// MarshalJSON writes the value with the key that names its kind.
func (v VariableValue) MarshalJSON() ([]byte, error) {
	out := variableValueJSON{Encrypted: v.encrypted}
	if v.encrypted {
		if err := checkCiphertext(v.text); err != nil {
			return nil, err
		}
		out.Ciphertext = &v.text
	} else {
		out.Plaintext = &v.text
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a value and refuses one whose kind and key disagree,
// that has both keys, or whose ciphertext is not in Cometa's format.
func (v *VariableValue) UnmarshalJSON(data []byte) error {
	var in variableValueJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("variable value: %w", err)
	}
	switch {
	case in.Encrypted && in.Plaintext != nil:
		return errors.New("variable value: encrypted value with plaintext")
	case in.Encrypted && in.Ciphertext == nil:
		return errors.New("variable value: encrypted value without ciphertext")
	case !in.Encrypted && in.Ciphertext != nil:
		return errors.New("variable value: ciphertext in a value not marked encrypted")
	case !in.Encrypted && in.Plaintext == nil:
		return errors.New("variable value: no plaintext")
	case in.Encrypted:
		c, err := Ciphertext(*in.Ciphertext)
		if err != nil {
			return fmt.Errorf("variable value: %w", err)
		}
		*v = c
	default:
		*v = Plaintext(*in.Plaintext)
	}
	return nil
}
