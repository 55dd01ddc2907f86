package readapi

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/catalog"
)

// Seed is what Prepare puts into the store at start-up.
type Seed struct {
	// BootstrapToken, when set and no account exists yet, becomes the
	// token of the first SUPERUSER (see commands.Bootstrap).
	BootstrapToken string
	// LocalBrowser is the browser_json of the installed Chromium (see
	// LocalBrowser); it is added to the catalogue unless an identical
	// entry is there. Nil adds nothing.
	LocalBrowser json.RawMessage
}

// Prepare seeds the store at start-up and waits until the read models show
// it: the bootstrap account with Cometa's "Default" department,
// application and environment, and the local browser. It is safe when
// several processes start at once. The projections must be running (in
// this process or another).
func Prepare(ctx context.Context, d Deps, seed Seed) error {
	if _, pos, err := commands.Bootstrap(ctx, d.Log, seed.BootstrapToken, d.Now()); err != nil {
		return err
	} else if err := d.Projections.WaitFor(ctx, pos); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if seed.LocalBrowser == nil {
		return nil
	}

	// The catalogue must be current before it is asked whether the
	// browser is in it, and built at all: on an empty log (a first start
	// without a bootstrap token) waiting for the head waits for nothing.
	if err := d.Projections.WaitBuilt(ctx, "catalog"); err != nil {
		return fmt.Errorf("seed browser: %w", err)
	}
	head, _, err := d.Log.Store().Head(ctx)
	if err != nil {
		return fmt.Errorf("seed browser: %w", err)
	}
	if err := d.Projections.WaitFor(ctx, head, "catalog"); err != nil {
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
