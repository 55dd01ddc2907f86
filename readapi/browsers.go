package readapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
)

// browserStackTTL is how long BrowserStack's browser list is kept, as in
// Cometa.
const browserStackTTL = 7 * 24 * time.Hour

func (a *api) browserRoutes(r *routes) {
	r.get("/api/browsers/", a.listBrowsers)
	r.get("/browsers/browserstack/", a.browserStackBrowsers)
}

// browserJSON is an entry of the local browser catalogue.
type browserJSON struct {
	BrowserID   int64           `json:"browser_id"`
	BrowserJSON json.RawMessage `json:"browser_json"`
}

// listBrowsers is GET /backend/api/browsers/: the local catalogue, a bare
// array as in Cometa.
func (a *api) listBrowsers(c *fiber.Ctx) error {
	list, err := a.queryBrowsers(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(list)
}

func (a *api) queryBrowsers(ctx context.Context) ([]browserJSON, error) {
	rows, err := a.Pool.Query(ctx, "SELECT browser_id, browser_json::text FROM rm_catalog.browsers ORDER BY browser_id")
	if err != nil {
		return nil, fmt.Errorf("list browsers: %w", err)
	}
	out := []browserJSON{}
	var (
		id  int64
		raw []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &raw}, func() error {
		out = append(out, browserJSON{BrowserID: id, BrowserJSON: rawJSON(raw)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list browsers: %w", err)
	}
	return out, nil
}

var chromiumVersion = regexp.MustCompile(`\b(\d+(?:\.\d+)+)\b`)

// LocalBrowser runs `<bin> --version` and returns the catalogue entry of
// that Chromium in Cometa's browser_json shape.
func LocalBrowser(ctx context.Context, bin string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("read browser version: %s --version: %w", bin, err)
	}
	version := chromiumVersion.FindString(string(out))
	if version == "" {
		return nil, fmt.Errorf("read browser version: %s --version printed no version: %q",
			bin, strings.TrimSpace(string(out)))
	}
	return json.Marshal(map[string]any{
		"os": "Generic", "cloud": "local", "device": nil, "browser": "chrome",
		"os_version": "Debian", "real_mobile": false, "browser_version": version,
	})
}

// browserStackCache holds BrowserStack's browser list for a week.
type browserStackCache struct {
	cfg BrowserStack

	mu      sync.Mutex
	fetched time.Time
	list    json.RawMessage
}

func newBrowserStackCache(cfg BrowserStack) *browserStackCache {
	if cfg.URL == "" {
		cfg.URL = "https://api.browserstack.com"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	return &browserStackCache{cfg: cfg}
}

// errNoBrowserStack: no credentials are configured.
var errNoBrowserStack = errors.New("BrowserStack credentials are not configured " +
	"(COMETA_BROWSERSTACK_USERNAME, COMETA_BROWSERSTACK_ACCESS_KEY)")

// browsers returns the list, fetching it when the cached one is older
// than a week.
func (b *browserStackCache) browsers(ctx context.Context, now time.Time) (json.RawMessage, error) {
	if b.cfg.Username == "" {
		return nil, errNoBrowserStack
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.list != nil && now.Sub(b.fetched) < browserStackTTL {
		return b.list, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimRight(b.cfg.URL, "/")+"/automate/browsers.json", nil)
	if err != nil {
		return nil, fmt.Errorf("browserstack request: %w", err)
	}
	req.SetBasicAuth(b.cfg.Username, b.cfg.AccessKey)
	resp, err := b.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("browserstack: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("browserstack: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("browserstack answered %s", resp.Status)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("browserstack answered something that is not a list of browsers: %w", err)
	}
	b.list, b.fetched = body, now
	return body, nil
}

// browserStackBrowsers is GET /backend/browsers/browserstack/: the
// browsers BrowserStack offers, or Cometa's failure body with the reason:
// 200 when no credentials are configured (the UI treats that as "no cloud
// browsers"), 502 when BrowserStack cannot be reached or answers wrongly.
func (a *api) browserStackBrowsers(c *fiber.Ctx) error {
	list, err := a.browsers.browsers(c.UserContext(), a.Now())
	switch {
	case errors.Is(err, errNoBrowserStack):
		return c.JSON(fiber.Map{"success": false, "results": []any{}, "msg": err.Error()})
	case err != nil:
		a.Logger.WarnContext(c.UserContext(), "browserstack list unavailable", "err", err)
		return c.Status(fiber.StatusBadGateway).JSON(fiber.Map{"success": false, "results": []any{},
			"msg": "BrowserStack's browser list is unavailable: " + err.Error()})
	}
	return c.JSON(fiber.Map{"success": true, "results": list})
}
