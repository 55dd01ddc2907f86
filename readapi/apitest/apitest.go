// Package apitest starts the real API in-process for tests: real
// PostgreSQL (internal/pgtest) with the postgres event store, the event
// schema registry, the projections Manager running every read model, and
// readapi mounted on a fiber app listening on 127.0.0.1. Every response a
// test receives is validated against the OpenAPI document.
//
// The test package's TestMain must start PostgreSQL:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		srv := apitest.Start(t, apitest.Options{})
//		_, token := srv.Account(t, "DEVOPS", srv.DefaultDepartment)
//		resp := srv.Do(t, "GET", "/backend/api/departments/", token, nil)
//		resp.Want(t, 200)
//	}
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/internal/pgtest"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/readapi"
	"github.com/cometa-es/cometa/runner/screenshots"
	"github.com/cometa-es/cometa/runner/steps"
)

// AdminToken is the bootstrap token of every test server: account 1, the
// SUPERUSER admin@localhost.
const AdminToken = "cmt_test-bootstrap-token-0123456789"

// Chromium is the browser whose version seeds the local browser catalogue.
const Chromium = "/usr/bin/chromium"

// Passphrase is the encryption passphrase of every test server.
const Passphrase = "apitest-passphrase-0123456789"

// Options tune Start. The zero value is a complete server.
type Options struct {
	// BrowserStack is handed to the API as it is.
	BrowserStack readapi.BrowserStack
	// BodyLimit is the largest request body (default 1 MiB).
	BodyLimit int
	// WriteWait bounds read-your-writes (default 10 s).
	WriteWait time.Duration
	// Passphrase encrypts variable values (default Passphrase).
	Passphrase string
}

// Server is a running API with its parts, for tests to reach behind it.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// AdminToken is account 1's token.
	AdminToken string
	// DefaultDepartment is the bootstrap's department "Default" (1).
	DefaultDepartment int64
	Pool              *pgxpool.Pool
	Store             eventstore.Store
	Log               *commands.Log
	IDs               *commands.IDs
	Manager           *projections.Manager
	Deps              readapi.Deps
	// Logs holds what the server logged; it is printed when a test fails.
	Logs *SyncBuffer

	client    *http.Client
	router    routers.Router
	bodyLimit int
}

// Start starts a server on a fresh database and stops it at cleanup. It
// returns once the bootstrap and the local browser are in the read models.
func Start(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.BodyLimit == 0 {
		opts.BodyLimit = 1 << 20
	}
	if opts.WriteWait == 0 {
		opts.WriteWait = 10 * time.Second
	}
	if opts.Passphrase == "" {
		opts.Passphrase = Passphrase
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	logs := &SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	pool := pgtest.NewPool(t)
	store, err := postgres.New(ctx, pool, logger)
	if err != nil {
		t.Fatalf("apitest: event store: %v", err)
	}
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatalf("apitest: registry: %v", err)
	}
	log := commands.NewLog(store, reg)
	ids := commands.NewIDs(log, projections.IDSeed(pool))
	mgr, err := projections.New(pool, store, reg, logger, projections.Options{
		RetryMin: 10 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		TakeoverInterval: 20 * time.Millisecond,
	}, projections.ReadModels()...)
	if err != nil {
		t.Fatalf("apitest: projections: %v", err)
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- mgr.Run(runCtx) }()

	shots, err := screenshots.New(filepath.Join(t.TempDir(), screenshots.Dir))
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	deps := readapi.Deps{
		Log: log, IDs: ids, Projections: mgr, Pool: pool, Steps: steps.NewCatalogue(),
		Logger: logger, Now: time.Now, WriteWait: opts.WriteWait, Passphrase: opts.Passphrase,
		Version: "test", BrowserStack: opts.BrowserStack, Screenshots: shots,
	}
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		BodyLimit:             opts.BodyLimit,
		ErrorHandler:          readapi.ErrorHandler(logger),
	})
	app.Use(recover.New())
	if err := readapi.Mount(app, deps); err != nil {
		t.Fatalf("apitest: mount: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("apitest: listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()

	s := &Server{
		URL: "http://" + ln.Addr().String(), AdminToken: AdminToken, DefaultDepartment: 1,
		Pool: pool, Store: store, Log: log, IDs: ids, Manager: mgr, Deps: deps, Logs: logs,
		client: &http.Client{Timeout: time.Minute}, bodyLimit: opts.BodyLimit,
	}
	t.Cleanup(func() {
		_ = app.ShutdownWithTimeout(5 * time.Second)
		<-served
		stopRun()
		<-ran
		_ = store.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})

	browser, err := readapi.LocalBrowser(ctx, Chromium)
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	if err := readapi.Prepare(ctx, deps, readapi.Seed{BootstrapToken: AdminToken, LocalBrowser: browser}); err != nil {
		t.Fatalf("apitest: prepare: %v", err)
	}
	doc, err := readapi.OpenAPI()
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	if s.router, err = gorillamux.NewRouter(doc); err != nil {
		t.Fatalf("apitest: openapi router: %v", err)
	}
	return s
}

// SyncBuffer collects log output from several goroutines.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Response is an answer of the server.
type Response struct {
	Method, Path string
	Status       int
	Header       http.Header
	Body         []byte
}

// Want fails the test unless the status is want.
func (r *Response) Want(t testing.TB, want int) *Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Method, r.Path, r.Status, want, r.Body)
	}
	return r
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%s %s: body %q: %v", r.Method, r.Path, r.Body, err)
	}
}

// Map decodes a JSON object body.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Request is a request with everything Do sends.
type Request struct {
	Method, Path string
	// Token is sent as a bearer token unless empty.
	Token string
	// Body is sent as JSON: []byte and string as they are, anything else
	// marshalled; nil sends no body.
	Body any
	// ContentType overrides application/json.
	ContentType string
	// Header is sent as it is; a Host in it replaces the server's.
	Header http.Header
}

// Do sends a JSON request and validates the answer against the OpenAPI
// document (see Send).
func (s *Server) Do(t testing.TB, method, path, token string, body any) *Response {
	t.Helper()
	return s.Send(t, Request{Method: method, Path: path, Token: token, Body: body})
}

// Send sends req. The answer must be JSON (HTML for /docs, text for
// /metrics) and, for a documented route, match the document's schema for
// its status; an API route missing from the document fails the test.
func (s *Server) Send(t testing.TB, req Request) *Response {
	t.Helper()
	var body io.Reader
	var raw []byte
	switch b := req.Body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatalf("apitest: marshal body: %v", err)
		}
	}
	if req.Body != nil {
		body = bytes.NewReader(raw)
	}
	if len(raw) > s.bodyLimit {
		// A body over the limit is declared but held back: the server
		// answers 413 from the Content-Length alone and closes, and a body
		// still being written then would end in a reset instead of the
		// answer (racily, depending on socket buffers).
		held, release := io.Pipe()
		defer release.Close()
		body = held
	}
	hr, err := http.NewRequest(req.Method, s.URL+req.Path, body)
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	hr.ContentLength = int64(len(raw))
	for k, vs := range req.Header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	if host := req.Header.Get("Host"); host != "" {
		hr.Host = host // net/http sends hr.Host, not a Host header
	}
	if req.Body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if req.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Token)
	}
	resp, err := s.client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", req.Method, req.Path, err)
	}
	out := &Response{Method: req.Method, Path: req.Path, Status: resp.StatusCode, Header: resp.Header, Body: got}
	s.validate(t, hr, out)
	return out
}

// validate checks an answer against the OpenAPI document.
func (s *Server) validate(t testing.TB, req *http.Request, resp *Response) {
	t.Helper()
	path := req.URL.Path
	if strings.HasPrefix(path, "/docs") || path == "/metrics" {
		return
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q, want JSON; body %q", req.Method, path, ct, resp.Body)
		return
	}
	route, params, err := s.router.FindRoute(documentedRequest(req))
	if err != nil {
		// Unknown routes and methods are answered (404, 405) but have no
		// operation to check against; anything else under the API must.
		if resp.Status != http.StatusNotFound && resp.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: not in the OpenAPI document (%v); answered %d", req.Method, path, err, resp.Status)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: resp.Status,
		Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	in.SetBodyBytes(resp.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: answer %d does not match the OpenAPI document: %v\nbody: %s",
			req.Method, path, resp.Status, err, resp.Body)
	}
}

// documentedRequest is req as the document's routes see it: the trailing
// slash added when missing, since both forms are served.
func documentedRequest(req *http.Request) *http.Request {
	r := req.Clone(context.Background())
	if !strings.HasSuffix(r.URL.Path, "/") {
		r.URL.Path += "/"
	}
	return r
}

// EventCount is the number of events in the store.
func (s *Server) EventCount(t testing.TB) int64 {
	t.Helper()
	var n int64
	if err := s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM eventlog.events").Scan(&n); err != nil {
		t.Fatalf("apitest: count events: %v", err)
	}
	return n
}

// Unchanged runs f and fails the test when the store gained events
// meanwhile: a refused request must append nothing.
func (s *Server) Unchanged(t testing.TB, what string, f func()) {
	t.Helper()
	before := s.EventCount(t)
	f()
	if after := s.EventCount(t); after != before {
		t.Errorf("%s appended %d events, want none", what, after-before)
	}
}

// Account creates an account with the role in the departments through the
// API, as the admin, and returns its id and token.
func (s *Server) Account(t testing.TB, role string, departments ...int64) (int64, string) {
	t.Helper()
	if departments == nil {
		departments = []int64{}
	}
	email := fmt.Sprintf("%s-%d@example.test", strings.ToLower(role), time.Now().UnixNano())
	resp := s.Do(t, "POST", "/backend/api/accounts/", s.AdminToken, map[string]any{
		"name": "Test " + role, "email": email, "permission_name": role, "departments": departments,
	}).Want(t, http.StatusCreated)
	var out struct {
		UserID int64  `json:"user_id"`
		Token  string `json:"token"`
	}
	resp.JSON(t, &out)
	return out.UserID, out.Token
}

// Department creates a department through the API, as the admin, and
// returns its id.
func (s *Server) Department(t testing.TB, name string) int64 {
	t.Helper()
	resp := s.Do(t, "POST", "/backend/api/departments/", s.AdminToken,
		map[string]any{"department_name": name}).Want(t, http.StatusCreated)
	var out struct {
		ID int64 `json:"department_id"`
	}
	resp.JSON(t, &out)
	return out.ID
}
