package readapi

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/catalog"
	"github.com/cometa-es/cometa/domain/role"
)

// Seed is what Prepare puts into the store at start-up.
type Seed struct {
	// BootstrapToken, when set and no account exists yet, becomes the
	// token of the first SUPERUSER (see commands.Bootstrap). When set and
	// no SUPERUSER holds a live token any more, it lets the administrator
	// in again (see commands.RecoverAccess).
	BootstrapToken string
	// LocalBrowser is the browser_json of the installed Chromium (see
	// LocalBrowser); it is added to the catalogue unless an identical
	// entry is there. Nil adds nothing.
	LocalBrowser json.RawMessage
}

// Prepare seeds the store at start-up and waits until the read models show
// it: the bootstrap account with Cometa's "Default" department,
// application and environment, the bootstrap token's recovery of a
// SUPERUSER when nobody can administer Cometa any more, and the local
// browser. It is safe when
// several processes start at once. The projections must be running (in
// this process or another).
func Prepare(ctx context.Context, d Deps, seed Seed) error {
	if _, pos, err := commands.Bootstrap(ctx, d.Log, seed.BootstrapToken, d.Now()); err != nil {
		return err
	} else if err := d.Projections.WaitFor(ctx, pos); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := recoverAccess(ctx, d, seed.BootstrapToken); err != nil {
		return err
	}
	if seed.LocalBrowser == nil {
		return nil
	}

	// The catalogue must be current before it is asked whether the
	// browser is in it, and built at all: on an empty log (a first start
	// without a bootstrap token) waiting for the head waits for nothing.
	if err := waitCurrent(ctx, d, "catalog"); err != nil {
		return fmt.Errorf("seed browser: %w", err)
	}
	var present bool
	if err := d.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rm_catalog.browsers
		WHERE browser_json = $1::jsonb)`, string(seed.LocalBrowser)).Scan(&present); err != nil {
		return fmt.Errorf("seed browser: %w", err)
	}
	if present {
		return nil
	}
	meta := commands.Meta{Actor: "service:api", CorrelationID: "seed-browser", Now: d.Now()}
	_, res, err := commands.AddBrowser(ctx, d.IDs, meta,
		catalog.AddBrowser{Actor: access.Service(), BrowserJSON: seed.LocalBrowser})
	if err != nil {
		return fmt.Errorf("seed browser: %w", err)
	}
	if err := d.Projections.WaitFor(ctx, res.Position, "catalog"); err != nil {
		return fmt.Errorf("seed browser: %w", err)
	}
	return nil
}

// recoverAccess runs commands.RecoverAccess with the accounts that the
// accounts read model, brought up to the head of the log, lists as
// SUPERUSER or with the bootstrap address; the command reads their streams
// to decide.
func recoverAccess(ctx context.Context, d Deps, token string) error {
	if token == "" {
		return nil
	}
	if err := waitCurrent(ctx, d, "accounts"); err != nil {
		return fmt.Errorf("recover access: %w", err)
	}
	rows, err := d.Pool.Query(ctx, `SELECT account_id FROM rm_accounts.accounts
		WHERE role = $1 OR lower(email) = lower($2) ORDER BY 1`, role.Superuser, commands.BootstrapEmail)
	if err != nil {
		return fmt.Errorf("recover access: list accounts: %w", err)
	}
	candidates, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("recover access: list accounts: %w", err)
	}
	id, pos, err := commands.RecoverAccess(ctx, d.IDs, token, d.Now(), candidates)
	if err != nil || id == 0 {
		return err
	}
	if err := d.Projections.WaitFor(ctx, pos, "accounts"); err != nil {
		return fmt.Errorf("recover access: %w", err)
	}
	d.Logger.InfoContext(ctx, "bootstrap token restored SUPERUSER access", "account_id", id)
	return nil
}

// waitCurrent waits until read model name is built and shows the whole log
// as it is now.
func waitCurrent(ctx context.Context, d Deps, name string) error {
	if err := d.Projections.WaitBuilt(ctx, name); err != nil {
		return err
	}
	head, _, err := d.Log.Store().Head(ctx)
	if err != nil {
		return err
	}
	return d.Projections.WaitFor(ctx, head, name)
}
