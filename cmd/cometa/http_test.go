package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

func testConfig(t *testing.T) Config {
	t.Helper()
	cfg, err := LoadConfig([]string{"COMETA_BODY_LIMIT=1KiB"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// do sends req to app and decodes the JSON answer.
func do(t *testing.T, app *fiber.App, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q, body %q; want JSON", req.Method, req.URL, ct, body)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Errorf("%s %s: body %q: %v", req.Method, req.URL, body, err)
	}
	return resp.StatusCode, got
}

func TestHTTPRoutes(t *testing.T) {
	t.Parallel()
	app := newHTTPApp(testConfig(t), slog.New(slog.DiscardHandler), nil)
	app.Get("/boom", func(*fiber.Ctx) error { return errors.New("secret detail") })
	app.Get("/panic", func(*fiber.Ctx) error { panic("secret detail") })
	app.Post("/echo", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"n": len(c.Body())}) })

	tests := []struct {
		method, path, body string
		status             int
		want               map[string]any
	}{
		{"GET", "/backend/info/", "", 200, map[string]any{"version": version}},
		{"GET", "/backend/info", "", 200, map[string]any{"version": version}},
		{"GET", "/healthz", "", 200, map[string]any{"status": "ok"}},
		{"GET", "/backend/missing/", "", 404,
			map[string]any{"success": false, "error": "Cannot GET /backend/missing/"}},
		{"DELETE", "/backend/info/", "", 405,
			map[string]any{"success": false, "error": "Method Not Allowed"}},
		{"GET", "/boom", "", 500, map[string]any{"success": false, "error": "internal server error"}},
		{"GET", "/panic", "", 500, map[string]any{"success": false, "error": "internal server error"}},
		{"POST", "/echo", strings.Repeat("x", 1024), 200, map[string]any{"n": 1024.0}},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
		status, got := do(t, app, req)
		if status != tt.status || len(got) != len(tt.want) {
			t.Errorf("%s %s = %d %v, want %d %v", tt.method, tt.path, status, got, tt.status, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s %s: %s = %v, want %v", tt.method, tt.path, k, got[k], v)
			}
		}
	}
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("dial unix /run/x: no such file") }

	tests := []struct {
		name   string
		checks []check
		status int
		want   string
		states map[string]any
	}{
		{"all up", []check{{"database", ok}, {"eventstore", ok}}, 200, "ready",
			map[string]any{"database": "ok", "eventstore": "ok"}},
		{"store down", []check{{"database", ok}, {"eventstore", down}}, 503, "unavailable",
			map[string]any{"database": "ok", "eventstore": "unavailable"}},
	}
	for _, tt := range tests {
		app := newHTTPApp(testConfig(t), slog.New(slog.DiscardHandler), tt.checks)
		status, got := do(t, app, httptest.NewRequest("GET", "/readyz", nil))
		if status != tt.status || got["status"] != tt.want {
			t.Errorf("%s: /readyz = %d %v, want %d %q", tt.name, status, got, tt.status, tt.want)
		}
		states, _ := got["checks"].(map[string]any)
		for k, v := range tt.states {
			if states[k] != v {
				t.Errorf("%s: check %s = %v, want %v", tt.name, k, states[k], v)
			}
		}
		if strings.Contains(stringify(got), "no such file") {
			t.Errorf("%s: /readyz shows the probe's error: %v", tt.name, got)
		}
	}
}

func stringify(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestServeHTTP runs the app on a real listener: fasthttp itself refuses an
// oversized body, and that answer must be JSON too; cancelling ctx stops
// the server, which then refuses connections.
func TestServeHTTP(t *testing.T) {
	t.Parallel()
	app := newHTTPApp(testConfig(t), slog.New(slog.DiscardHandler), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serveHTTP(ctx, app, ln, time.Second, slog.New(slog.DiscardHandler)) }()
	base := "http://" + ln.Addr().String()

	resp, err := http.Post(base+"/backend/info/", "application/json",
		strings.NewReader(strings.Repeat("x", 2048)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		!strings.Contains(string(body), `"success":false`) {
		t.Errorf("oversized body: %d %q %s; want a JSON 413",
			resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	cancel()
	if err := <-served; err != nil {
		t.Errorf("serveHTTP after cancel: %v", err)
	}
	if conn, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		conn.Close()
		t.Error("the listener still accepts connections after shutdown")
	}
}
