package readapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
)

// Caller is the authenticated account behind a request.
type Caller struct {
	access.Actor
	Name  string
	Email string
}

// Authenticator resolves a bearer token to its account. An unknown or
// revoked token is domain.ErrNotFound.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Caller, error)
}

const callerKey = "cometa.caller"

// requireCaller is the authentication middleware: every request under it
// must carry "Authorization: Bearer <token>" of a live account.
func requireCaller(auth Authenticator) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token, ok := bearerToken(c)
		if !ok {
			return fmt.Errorf("send Authorization: Bearer <token>: %w", errUnauthenticated)
		}
		who, err := auth.Authenticate(c.UserContext(), token)
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("unknown or revoked token: %w", errUnauthenticated)
		}
		if err != nil {
			return fmt.Errorf("authenticate: %w", err)
		}
		c.Locals(callerKey, who)
		return c.Next()
	}
}

// bearerToken returns the token of the request's "Authorization: Bearer"
// header, false when there is none. The token is c's buffer, which fiber
// reuses: copy it to keep it past the handler.
func bearerToken(c *fiber.Ctx) (string, bool) {
	scheme, token, _ := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	token = strings.TrimSpace(token)
	return token, strings.EqualFold(scheme, "bearer") && token != ""
}

// callerOf returns the caller that requireCaller stored. It panics when a
// route was mounted without the middleware, which is a programming error.
func callerOf(c *fiber.Ctx) Caller {
	return c.Locals(callerKey).(Caller)
}
