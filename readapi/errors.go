// Package readapi is Cometa's REST API on fiber: one file per resource, an
// authentication middleware, and one table from error categories to HTTP
// statuses. Reads query the read models; writes call commands and wait for
// the read models to catch up before answering.
package readapi

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
)

// statusTable maps error categories to HTTP statuses. The first match
// wins, so the more specific categories come first.
var statusTable = []struct {
	err    error
	status int
}{
	{errUnauthenticated, fiber.StatusUnauthorized},
	{domain.ErrInvalid, fiber.StatusBadRequest},
	{errBadRequest, fiber.StatusBadRequest},
	{domain.ErrForbidden, fiber.StatusForbidden},
	{domain.ErrNotFound, fiber.StatusNotFound},
	{domain.ErrConflict, fiber.StatusConflict},
	{eventstore.ErrConflict, fiber.StatusConflict},
	{projections.ErrNotFound, fiber.StatusNotFound},
	{projections.ErrConflict, fiber.StatusConflict},
	{errUnsupportedMedia, fiber.StatusUnsupportedMediaType},
	{eventstore.ErrUnavailable, fiber.StatusServiceUnavailable},
	// The write happened but a read model it waits for is stuck: the
	// answer would be stale, and the operator must look.
	{projections.ErrFailing, fiber.StatusServiceUnavailable},
	{context.DeadlineExceeded, fiber.StatusServiceUnavailable},
}

var (
	// errUnauthenticated: no or an unknown bearer token.
	errUnauthenticated = errors.New("authentication required")
	// errBadRequest: the request cannot be read (malformed JSON, a value
	// of the wrong type, a missing body).
	errBadRequest = errors.New("bad request")
	// errUnsupportedMedia: a body that is not JSON.
	errUnsupportedMedia = errors.New("unsupported media type")
	// errPending: a write was recorded but the read models do not show it
	// yet; not a failure, so it answers 202 with success true.
	errPending = errors.New("pending")
)

// badTextCodes are the SQLSTATEs of text PostgreSQL cannot hold or compare:
// character_not_in_repertoire (a NUL or a byte sequence that is not UTF-8)
// and untranslatable_character.
var badTextCodes = map[string]bool{"22021": true, "22P05": true}

// badTextError turns a PostgreSQL error about bad text into errBadRequest.
// It is a safety net: the API checks the fields it knows (path and query
// parameters, lookup fields of bodies) before any query and names them, so
// this answers only for text that slipped through, without a field name.
func badTextError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && badTextCodes[pgErr.Code] {
		return badRequestf("text is not valid UTF-8 or contains NUL")
	}
	return err
}

// fieldProblem is one invalid field in a 400 answer.
type fieldProblem struct {
	Field string `json:"field"`
	Step  int    `json:"step,omitempty"`
	Error string `json:"error"`
}

// serverErrorMessages are what a 5xx answer says instead of its cause:
// the cause of a server-side failure names databases, stores, hosts or SQL
// (a PostgreSQL error text, "the store is closed"), which is for the
// operator's log, not for the client.
var serverErrorMessages = map[int]string{
	fiber.StatusInternalServerError: "internal server error",
	fiber.StatusServiceUnavailable: "service unavailable: the event store or the read models " +
		"cannot serve this request now; try again later",
}

// ErrorHandler answers every error as JSON in Cometa's shape,
// {"success": false, "error": "..."}, with the status of its category. A
// 400 also lists the invalid fields. The cause of a 5xx is logged and never
// sent: the answer carries a generic message for its status. It is the
// fiber app's ErrorHandler, so no text/plain page (not even fiber's own for
// malformed bodies or unknown routes) reaches a client.
func ErrorHandler(logger *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, body := errorBody(err)
		switch {
		case status == fiber.StatusInternalServerError:
			logger.ErrorContext(c.UserContext(), "request failed",
				"method", c.Method(), "path", c.Path(), "status", status, "err", err)
		case status >= fiber.StatusInternalServerError:
			logger.WarnContext(c.UserContext(), "request not served",
				"method", c.Method(), "path", c.Path(), "status", status, "err", err)
		}
		return c.Status(status).JSON(body)
	}
}

func errorBody(err error) (int, fiber.Map) {
	err = badTextError(err)
	var ferr *fiber.Error
	if errors.As(err, &ferr) {
		return ferr.Code, fiber.Map{"success": false, "error": ferr.Message}
	}

	if errors.Is(err, errPending) {
		return fiber.StatusAccepted, fiber.Map{"success": true, "pending": true, "message": err.Error()}
	}

	var perm *domain.PermissionError
	if errors.As(err, &perm) {
		// Cometa's exact wording, which its UI shows as it is.
		return fiber.StatusForbidden, fiber.Map{
			"success": false, "error": "Missing permission '" + perm.Flags + "'.",
		}
	}

	status := fiber.StatusInternalServerError
	var category error
	for _, row := range statusTable {
		if errors.Is(err, row.err) {
			status, category = row.status, row.err
			break
		}
	}
	if status >= fiber.StatusInternalServerError {
		msg, ok := serverErrorMessages[status]
		if !ok {
			msg = serverErrorMessages[fiber.StatusInternalServerError]
		}
		return status, fiber.Map{"success": false, "error": msg}
	}

	body := fiber.Map{"success": false, "error": clientMessage(err, category)}
	if fields := domain.Fields(err); len(fields) > 0 {
		problems := make([]fieldProblem, 0, len(fields))
		for _, f := range fields {
			problems = append(problems, fieldProblem{Field: f.Field, Step: f.Step, Error: f.Err.Error()})
		}
		body["fields"] = problems
	}
	return status, body
}

// clientMessage is err's text for the client, less the name of its
// category when that ends it ("... first: conflict", "...: forbidden"):
// the status already says it. "feature 12: not found" keeps its ending,
// which is the message itself.
func clientMessage(err, category error) string {
	msg := err.Error()
	if category == nil || category == domain.ErrNotFound {
		return msg
	}
	return strings.TrimSuffix(msg, ": "+category.Error())
}
