package readapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/readapi"
)

// TestServerErrorsHideTheirCause answers errors of every category through
// ErrorHandler: a 5xx keeps its status but sends a generic message, never
// the cause (database and store texts), which goes to the log; a 4xx
// names its problem.
func TestServerErrorsHideTheirCause(t *testing.T) {
	t.Parallel()
	const secret = `ERROR: string too long to represent as jsonb string (SQLSTATE 54000)`
	tests := []struct {
		name   string
		err    error
		status int
		// shown says whether the cause reaches the client.
		shown bool
	}{
		{"store unavailable", fmt.Errorf("append to stream \"feature-1\": %s: %w", secret, eventstore.ErrUnavailable), 503, false},
		{"store closed", fmt.Errorf("wait for run 84: subscription: %s: %w", secret, eventstore.ErrUnavailable), 503, false},
		{"read model failing", fmt.Errorf("read model features at %s: %w", secret, projections.ErrFailing), 503, false},
		{"deadline", fmt.Errorf("query %s: %w", secret, context.DeadlineExceeded), 503, false},
		{"uncategorised", errors.New(secret), 500, false},
		{"invalid", domain.Invalid("name", "%s", secret), 400, true},
		{"conflict", fmt.Errorf("%s: %w", secret, domain.ErrConflict), 409, true},
		{"no such dead letter", fmt.Errorf("skip event 1: %s: %w", secret, projections.ErrNotFound), 404, true},
		{"dead letter resolved", fmt.Errorf("skip event 1: %s: %w", secret, projections.ErrConflict), 409, true},
		// PostgreSQL refusing a NUL or bad UTF-8 is the client's text.
		{"text PostgreSQL refuses", fmt.Errorf("list variables: %w",
			&pgconn.PgError{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0x00`}), 400, false},
		{"untranslatable text", &pgconn.PgError{Code: "22P05", Message: "untranslatable character"}, 400, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			app := fiber.New(fiber.Config{ErrorHandler: readapi.ErrorHandler(slog.New(slog.NewTextHandler(&logs, nil)))})
			app.Get("/", func(*fiber.Ctx) error { return tc.err })
			resp, err := app.Test(httptest.NewRequest("GET", "/", nil))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Success *bool  `json:"success"`
				Error   string `json:"error"`
			}
			if err := json.Unmarshal(raw, &body); err != nil || body.Success == nil || *body.Success || body.Error == "" {
				t.Fatalf("body %q, want {\"success\": false, \"error\": ...}", raw)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := strings.Contains(body.Error, "SQLSTATE"); got != tc.shown {
				t.Errorf("error %q: cause shown %v, want %v", body.Error, got, tc.shown)
			}
			if !tc.shown && tc.status >= 500 && !strings.Contains(logs.String(), "SQLSTATE") {
				t.Errorf("the cause of a %d is not logged; log %q", tc.status, logs.String())
			}
		})
	}
}

// TestErrorMessagesDropTheirCategory: a 4xx message ends with what went
// wrong, not with the name of its category (the status says that), except
// a not-found, whose "not found" is the message.
func TestErrorMessagesDropTheirCategory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{domain.Conflict("environment 7 is used by 2 features: move them first"), "environment 7 is used by 2 features: move them first"},
		{domain.Forbidden("not a member of department 2"), "not a member of department 2"},
		{fmt.Errorf("skip: no dead letter for this event: %w", projections.ErrNotFound), "skip: no dead letter for this event"},
		{domain.NotFound("feature", 12), "feature 12: not found"},
		{fmt.Errorf("the conflict: details"), "internal server error"},
	} {
		app := fiber.New(fiber.Config{ErrorHandler: readapi.ErrorHandler(slog.New(slog.DiscardHandler))})
		app.Get("/", func(*fiber.Ctx) error { return tc.err })
		resp, err := app.Test(httptest.NewRequest("GET", "/", nil))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error string `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if body.Error != tc.want {
			t.Errorf("%v: error %q, want %q", tc.err, body.Error, tc.want)
		}
	}
}
