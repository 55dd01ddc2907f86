package readapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/runner/screenshots"
	"github.com/cometa-es/cometa/runner/steps"
)

// StepCatalogue is what the API needs of the runner's step catalogue: the
// actions it lists and the validation of step sentences on save.
// *steps.Catalogue implements it.
type StepCatalogue interface {
	Validate(sentence string) error
	Actions() []steps.Action
}

// BrowserStack configures GET /backend/browsers/browserstack/. Without a
// user name the endpoint answers that no credentials are configured.
type BrowserStack struct {
	Username  string
	AccessKey string
	// URL is BrowserStack's API base, https://api.browserstack.com unless
	// a test points it elsewhere.
	URL string
	// Client makes the requests; http.DefaultClient when nil.
	Client *http.Client
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
	// BrowserStack holds the credentials of BrowserStack's browser list.
	BrowserStack BrowserStack
	// Metrics receives the API's metrics (requests, latency, projection
	// lag) and is served at /metrics. Mount makes a registry of its own
	// when it is nil.
	Metrics *prometheus.Registry
	// Screenshots is the screenshot file store (COMETA_DATA_DIR/screenshots),
	// shared with the runner. The screenshot endpoints answer 503 without it.
	Screenshots *screenshots.Store
}

// api holds the dependencies for the handlers of every resource file.
type api struct {
	Deps
	auth     Authenticator
	browsers *browserStackCache
	docs     *apiDocs
	// started is when the API was mounted: the date_created of the
	// actions, which come from code, not from events.
	started time.Time
}

// resources lists the route registrations of every resource file, one line
// per file. A new resource adds its line here and its OpenAPI fragment
// under openapi/.
func (a *api) resources() []func(*routes) {
	return []func(*routes){
		a.accountRoutes,
		a.departmentRoutes,
		a.catalogRoutes,
		a.browserRoutes,
		a.actionRoutes,
		a.encryptRoutes,
		a.serverRoutes,
		a.featureRoutes,
		a.stepRoutes,
		a.folderRoutes,
		a.variableRoutes,
		a.historyRoutes,
		a.eventRoutes,
		a.trendRoutes,
		a.liveRoutes,
		a.adminRoutes,
		a.runRoutes,
		a.resultRoutes,
		a.stepResultRoutes,
		a.screenshotRoutes,
		a.scheduleRoutes,
	}
}

// Mount registers the whole API on app: every resource's routes in both
// of Cometa's path forms (/backend/... as the UI calls them and the bare
// form Django sees behind its proxy), with and without the trailing slash,
// the documentation at /docs and the metrics at /metrics. Routes that need
// a caller get the bearer-token middleware. app should use ErrorHandler.
func Mount(app *fiber.App, d Deps) error {
	if d.Log == nil || d.IDs == nil || d.Projections == nil || d.Pool == nil || d.Steps == nil {
		return fmt.Errorf("mount api: Log, IDs, Projections, Pool and Steps are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.WriteWait <= 0 {
		d.WriteWait = 5 * time.Second
	}
	if d.Metrics == nil {
		d.Metrics = prometheus.NewRegistry()
	}
	docs, err := loadDocs()
	if err != nil {
		return fmt.Errorf("mount api: %w", err)
	}
	a := &api{Deps: d, auth: NewAuthenticator(d.Pool), docs: docs, started: d.Now().UTC()}
	a.browsers = newBrowserStackCache(d.BrowserStack)

	m, err := newMetrics(d.Metrics, d.Projections, d.Logger)
	if err != nil {
		return fmt.Errorf("mount api: %w", err)
	}
	app.Use(m.middleware)
	r := &routes{app: app, auth: requireCaller(a.auth)}
	for _, register := range a.resources() {
		register(r)
	}
	app.Get("/metrics", m.handler())
	app.Get("/docs/openapi.json", a.openAPIJSON)
	app.Get("/docs", a.docsPage)
	return nil
}

const correlationKey = "cometa.correlation"

// meta returns the envelope of the commands one request issues: the caller
// as actor, one correlation id per request (X-Request-Id when the client
// sends one), a fresh command id.
func (a *api) meta(c *fiber.Ctx) commands.Meta {
	m := commands.Meta{CommandID: uuid.New(), Now: a.Now()}
	if who, ok := c.Locals(callerKey).(Caller); ok && who.AccountID != 0 {
		m.Actor = "account-" + strconv.FormatInt(who.AccountID, 10)
	}
	// One correlation id per request, however many commands it issues.
	if id, ok := c.Locals(correlationKey).(string); ok {
		m.CorrelationID = id
		return m
	}
	m.CorrelationID = c.Get("X-Request-Id")
	if m.CorrelationID == "" || len(m.CorrelationID) > 100 {
		m.CorrelationID = uuid.NewString()
	} else {
		m.CorrelationID = string([]byte(m.CorrelationID)) // c's buffer is reused
	}
	c.Locals(correlationKey, m.CorrelationID)
	return m
}

// settle waits until the named read models (all when none are named) have
// applied the write at pos, so that the client's next read sees it. The
// write has happened whatever settle returns: when a read model is failing
// or does not catch up within WriteWait, the error is errPending, which
// answers 202 with "pending": true, so that a client does not send the
// write again (a retried create would create a second object).
func (a *api) settle(ctx context.Context, pos eventstore.Position, models ...string) error {
	wctx, cancel := context.WithTimeout(ctx, a.WriteWait)
	defer cancel()
	err := a.Projections.WaitFor(wctx, pos, models...)
	if err == nil || ctx.Err() != nil {
		return err
	}
	a.Logger.WarnContext(ctx, "write recorded, read models behind", "position", pos.String(), "err", err)
	return fmt.Errorf("the change was recorded at position %s, but the read models do not show it yet (%v): %w",
		pos, err, errPending)
}
