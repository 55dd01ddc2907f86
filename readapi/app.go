package readapi

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
)

// StepCatalogue is what the API needs of the runner's step catalogue: the
// actions it lists and the validation of step sentences on save.
type StepCatalogue interface {
	Validate(sentence string) error
}

// Deps is everything the API's handlers use. The composition root fills it.
type Deps struct {
	Log         *commands.Log
	IDs         *commands.IDs
	Projections *projections.Manager
	// Pool queries the read models (schemas rm_<name>).
	Pool   *pgxpool.Pool
	Steps  StepCatalogue
	Logger *slog.Logger
	// Now is the clock stamped on commands.
	Now func() time.Time
	// WriteWait bounds how long a write waits for the read models to reach
	// its position before it answers (read-your-writes).
	WriteWait time.Duration
	// Passphrase encrypts and decrypts variable values (cryptojs format).
	Passphrase string
	// Version is the server version shown by /backend/info/.
	Version string
}

// api holds the dependencies for the handlers of every resource file.
type api struct {
	Deps
}

// meta returns the envelope of the commands one request issues: the caller
// as actor, one correlation id per request (X-Request-Id when the client
// sends one), a fresh command id.
func (a *api) meta(c *fiber.Ctx) commands.Meta {
	m := commands.Meta{CommandID: uuid.New(), Now: a.Now()}
	if who, ok := c.Locals(callerKey).(Caller); ok && who.AccountID != 0 {
		m.Actor = "account-" + strconv.FormatInt(who.AccountID, 10)
	}
	m.CorrelationID = c.Get("X-Request-Id")
	if m.CorrelationID == "" || len(m.CorrelationID) > 100 {
		m.CorrelationID = uuid.NewString()
	}
	return m
}

// settle waits until the named read models (all when none are named) have
// applied the write at pos, so that the client's next read sees it. A read
// model that is failing, or one that does not catch up within WriteWait, is
// an error: the write happened, but the answer would be stale.
func (a *api) settle(ctx context.Context, pos eventstore.Position, models ...string) error {
	ctx, cancel := context.WithTimeout(ctx, a.WriteWait)
	defer cancel()
	if err := a.Projections.WaitFor(ctx, pos, models...); err != nil {
		return fmt.Errorf("wait for read models: %w", err)
	}
	return nil
}
