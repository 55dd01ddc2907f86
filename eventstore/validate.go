package eventstore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// ValidateAppend checks an append request before any store sees it, so
// that both implementations refuse the same requests with ErrInvalid.
func ValidateAppend(stream string, events []EventData) error {
	if stream == "" {
		return fmt.Errorf("append: empty stream name: %w", ErrInvalid)
	}
	if strings.HasPrefix(stream, "$") {
		return fmt.Errorf("append to stream %q: names starting with $ are reserved: %w", stream, ErrInvalid)
	}
	if len(events) == 0 {
		return fmt.Errorf("append to stream %q: no events: %w", stream, ErrInvalid)
	}
	for i, ev := range events {
		switch {
		case ev.ID == uuid.Nil:
			return fmt.Errorf("append to stream %q: event %d has no id: %w", stream, i, ErrInvalid)
		case ev.Type == "":
			return fmt.Errorf("append to stream %q: event %d has no type: %w", stream, i, ErrInvalid)
		case ev.SchemaVersion < 1:
			return fmt.Errorf("append to stream %q: event %d (%s) has schema version %d: %w",
				stream, i, ev.Type, ev.SchemaVersion, ErrInvalid)
		case !json.Valid(ev.Data):
			return fmt.Errorf("append to stream %q: event %d (%s) data is not JSON: %w",
				stream, i, ev.Type, ErrInvalid)
		}
	}
	return nil
}
