package domain

import (
	"bytes"
	"encoding/json"
	"strings"
)

// RequireObject returns raw compacted when it is a JSON object, "{}" when
// it is empty, and a *FieldError for field otherwise.
func RequireObject(field string, raw json.RawMessage) (json.RawMessage, error) {
	return requireJSON(field, raw, '{', "{}", "a JSON object")
}

// RequireArray returns raw compacted when it is a JSON array, "[]" when it
// is empty, and a *FieldError for field otherwise.
func RequireArray(field string, raw json.RawMessage) (json.RawMessage, error) {
	return requireJSON(field, raw, '[', "[]", "a JSON array")
}

func requireJSON(field string, raw json.RawMessage, open byte, empty, what string) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return json.RawMessage(empty), nil
	}
	var buf bytes.Buffer
	if raw[0] != open || json.Compact(&buf, raw) != nil {
		return nil, Invalid(field, "must be %s", what)
	}
	var v any
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil || hasNUL(v) {
		return nil, Invalid(field, "must not contain NUL characters")
	}
	return json.RawMessage(buf.Bytes()), nil
}

// hasNUL reports whether a decoded JSON value holds a NUL character in a
// string or key: PostgreSQL's jsonb refuses it.
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case []any:
		for _, e := range v {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	}
	return false
}
