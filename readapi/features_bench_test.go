package readapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/internal/benchreport"
	"github.com/cometa-es/cometa/internal/pgtest"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/readapi"
	"github.com/cometa-es/cometa/runner/steps"
)

// The feature benchmarks run the real API (every read model, token
// authentication, read-your-writes) on a durable PostgreSQL (fsync on),
// and put each figure beside the same route of a fiber app that answers the
// same JSON from memory, measured in the same run with the same clients.

const benchToken = "cmt_bench-bootstrap-token-0123456789"

// benchAPI is a served app and an HTTP client for it.
type benchAPI struct {
	url    string
	client *http.Client
}

// serveBench serves app on loopback until the benchmark ends.
func serveBench(b *testing.B, app *fiber.App) *benchAPI {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	b.Cleanup(func() {
		_ = app.ShutdownWithTimeout(5 * time.Second)
		<-served
	})
	return &benchAPI{url: "http://" + ln.Addr().String(), client: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64},
	}}
}

// startBenchAPI mounts the API on a fresh durable database with the
// bootstrap admin.
func startBenchAPI(b *testing.B) *benchAPI {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbURL := pgtest.NewDurableDatabase(b)
	sep := "?"
	if strings.Contains(dbURL, "?") {
		sep = "&"
	}
	if !strings.Contains(dbURL, "://") {
		sep = " "
	}
	pool := pgtest.Pool(b, dbURL+sep+"pool_max_conns=40")
	logger := slog.New(slog.DiscardHandler)
	store, err := postgres.New(ctx, pool, logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		b.Fatal(err)
	}
	log := commands.NewLog(store, reg)
	mgr, err := projections.New(pool, store, reg, logger, projections.Options{}, projections.ReadModels()...)
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- mgr.Run(runCtx) }()
	b.Cleanup(func() { stop(); <-ran })

	deps := readapi.Deps{Log: log, IDs: commands.NewIDs(log, projections.IDSeed(pool)), Projections: mgr,
		Pool: pool, Steps: steps.NewCatalogue(), Logger: logger, Now: time.Now, WriteWait: 30 * time.Second,
		Passphrase: "bench-passphrase", Version: "bench"}
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: readapi.ErrorHandler(logger)})
	if err := readapi.Mount(app, deps); err != nil {
		b.Fatal(err)
	}
	if err := readapi.Prepare(ctx, deps, readapi.Seed{BootstrapToken: benchToken}); err != nil {
		b.Fatal(err)
	}
	return serveBench(b, app)
}

// do sends one JSON request and returns the status and body.
func (s *benchAPI) do(method, path, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return resp.StatusCode, got, err
}

// must is do that fails the benchmark unless the status is want.
func (s *benchAPI) must(b *testing.B, method, path, token string, body []byte, want int) []byte {
	b.Helper()
	status, got, err := s.do(method, path, token, body)
	if err != nil || status != want {
		b.Fatalf("%s %s: %d %s %v", method, path, status, got, err)
	}
	return got
}

// load sends n requests from clients goroutines and returns the elapsed
// time and every request's latency.
func (s *benchAPI) load(b *testing.B, n, clients int, method, path, token string, body []byte, want int) (
	time.Duration, []time.Duration) {
	b.Helper()
	var (
		next    atomic.Int64
		mu      sync.Mutex
		lat     = make([]time.Duration, 0, n)
		wg      sync.WaitGroup
		failure atomic.Value
	)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			mine := make([]time.Duration, 0, n/clients+1)
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				status, got, err := s.do(method, path, token, body)
				if err != nil || status != want {
					failure.Store(fmt.Sprintf("%s %s: %d %s %v", method, path, status, got, err))
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if f := failure.Load(); f != nil {
		b.Fatal(f)
	}
	return time.Since(start), lat
}

// memoryApp answers method and path with status and body, pre-rendered.
func memoryApp(method, path string, status int, body []byte) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Add(method, path, func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(status).Send(body)
	})
	return app
}

// compare runs b.N requests against api and against base and records
// requests per second and the p50 and p99 latency beside each other.
func compare(b *testing.B, api, base *benchAPI, clients int, method, path, token string, body []byte, want int) {
	b.Helper()
	b.ResetTimer()
	took, lat := api.load(b, b.N, clients, method, path, token, body, want)
	b.StopTimer()
	baseTook, baseLat := base.load(b, b.N, clients, method, path, token, body, want)
	benchreport.Record(b, benchreport.Rate(b.N, took), benchreport.Rate(b.N, baseTook), "req/s")
	benchreport.Record(b, benchreport.Percentile(lat, 50), benchreport.Percentile(baseLat, 50), "ms-p50")
	benchreport.Record(b, benchreport.Percentile(lat, 99), benchreport.Percentile(baseLat, 99), "ms-p99")
}

func BenchmarkFeatureAPI(b *testing.B) {
	api := startBenchAPI(b)
	create := []byte(`{"feature_name": "Bench ✓", "app_id": 1, "environment_id": 1, "department_id": 1,
		"steps_content": [{"step_content": "Goto URL \"https://example.com/\""},
			{"step_content": "wait until I can see \"Example\" on page"}, {"step_content": "Press Enter"}]}`)
	created := api.must(b, http.MethodPost, "/backend/api/features/", benchToken, create, 201)
	createBase := serveBench(b, memoryApp(http.MethodPost, "/backend/api/features/", 201, created))
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("create/clients=%d", clients), func(b *testing.B) {
			compare(b, api, createBase, clients, http.MethodPost, "/backend/api/features/", benchToken, create, 201)
		})
	}

	// A department of its own with exactly 100 features, listed by a
	// member who sees only it.
	var dep struct {
		ID int64 `json:"department_id"`
	}
	_ = json.Unmarshal(api.must(b, http.MethodPost, "/backend/api/departments/", benchToken,
		[]byte(`{"department_name": "Bench list"}`), 201), &dep)
	var account struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(api.must(b, http.MethodPost, "/backend/api/accounts/", benchToken, []byte(fmt.Sprintf(
		`{"name": "Lister", "email": "lister@example.test", "permission_name": "DEVOPS", "departments": [%d]}`,
		dep.ID)), 201), &account)
	inDep := bytes.Replace(create, []byte(`"department_id": 1`), []byte(fmt.Sprintf(`"department_id": %d`, dep.ID)), 1)
	for range 100 {
		api.must(b, http.MethodPost, "/backend/api/features/", benchToken, inDep, 201)
	}
	list := api.must(b, http.MethodGet, "/backend/api/features/", account.Token, nil, 200)
	var check struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(list, &check); err != nil || len(check.Results) != 100 {
		b.Fatalf("list of the bench department: %d features, %v", len(check.Results), err)
	}
	listBase := serveBench(b, memoryApp(http.MethodGet, "/backend/api/features/", 200, list))
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("list100/clients=%d", clients), func(b *testing.B) {
			compare(b, api, listBase, clients, http.MethodGet, "/backend/api/features/", account.Token, nil, 200)
		})
	}
}
