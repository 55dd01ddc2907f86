package readapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/readapi"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// liveGuard bounds how long a test waits for a stream to deliver what it
// must; it only turns a hang into a failure.
const liveGuard = 2 * time.Minute

// sseEvent is one message of the live stream.
type sseEvent struct {
	ID    int64
	Type  string // "" for an event of the log, "error"
	Raw   string // the data line
	Event struct {
		Seq       int64          `json:"seq"`
		EventType string         `json:"event_type"`
		Stream    string         `json:"stream"`
		Deps      []int64        `json:"department_ids"`
		Data      map[string]any `json:"data"`
	}
}

// sseClient reads one live stream.
type sseClient struct {
	t     *testing.T
	resp  *http.Response
	lines *bufio.Reader
	// start is the seq the server said it follows after.
	start int64
	guard *time.Timer
}

// openLive connects to url (a path of srv or a full URL) as token, with
// lastID as Last-Event-ID unless empty, and reads the stream's opening.
func openLive(t *testing.T, base, path, token, lastID string) *sseClient {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("open %s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	c := &sseClient{t: t, resp: resp, lines: bufio.NewReader(resp.Body)}
	c.guard = time.AfterFunc(liveGuard, func() { resp.Body.Close() })
	t.Cleanup(c.close)
	for {
		line := c.line()
		if rest, ok := strings.CutPrefix(line, ": following after "); ok {
			if c.start, err = strconv.ParseInt(rest, 10, 64); err != nil {
				t.Fatalf("opening %q", line)
			}
		}
		if line == "" {
			return c
		}
	}
}

func (c *sseClient) line() string {
	c.t.Helper()
	s, err := c.lines.ReadString('\n')
	if err != nil {
		c.t.Fatalf("live stream ended: %v (read %q)", err, s)
	}
	return strings.TrimSuffix(s, "\n")
}

// next returns the next message, skipping comments.
func (c *sseClient) next() sseEvent {
	c.t.Helper()
	var e sseEvent
	var data string
	for {
		line := c.line()
		switch {
		case line == "" && data != "":
			e.Raw = data
			if e.Type == "" {
				if err := json.Unmarshal([]byte(data), &e.Event); err != nil {
					c.t.Fatalf("data %q: %v", data, err)
				}
				if e.Event.Seq != e.ID {
					c.t.Fatalf("id %d but seq %d", e.ID, e.Event.Seq)
				}
			}
			return e
		case strings.HasPrefix(line, "id: "):
			e.ID, _ = strconv.ParseInt(line[4:], 10, 64)
		case strings.HasPrefix(line, "event: "):
			e.Type = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
}

// until reads messages up to and including the first that stop accepts.
func (c *sseClient) until(stop func(sseEvent) bool) []sseEvent {
	c.t.Helper()
	var out []sseEvent
	for {
		e := c.next()
		if e.Type == "error" {
			c.t.Fatalf("live stream error after %d events", len(out))
		}
		out = append(out, e)
		if stop(e) {
			return out
		}
	}
}

func (c *sseClient) close() {
	c.guard.Stop()
	_ = c.resp.Body.Close()
}

func isEvent(typ, stream string) func(sseEvent) bool {
	return func(e sseEvent) bool { return e.Event.EventType == typ && e.Event.Stream == stream }
}

func seqsOf(list []sseEvent) []int64 {
	out := []int64{}
	for _, e := range list {
		out = append(out, e.ID)
	}
	return out
}

// TestLiveStream follows a run live: a client that connects in the middle
// of the run (following the result) and one that disconnects and
// reconnects with Last-Event-ID both end up with every event exactly once,
// in order; a client of another department receives none of them.
func TestLiveStream(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	r := newRunner(t, f.Srv)
	f.Vars["{feat}"] = newFeature(t, f, "devops", "Live", f.DeptA, stepJSON("Press Enter"), stepJSON("Press TAB"),
		stepJSON(`I can see "Done"`))
	feat, _ := strconv.ParseInt(f.Vars["{feat}"], 10, 64)

	other := openLive(t, f.Srv.URL, "/backend/api/live/", f.Tokens["devopsB"], "")
	mine := openLive(t, f.Srv.URL, "/backend/api/live/", f.Tokens["devops"], "")

	run := r.request(f.IDs["devops"], f.DeptA, feat)
	result := "result-" + strconv.FormatInt(run.ResultIDs[0], 10)
	h := r.start(run)
	r.step(h, 1, "Press Enter", eventschemas.StatusSuccess, 10)

	// Joins in the middle of the run and gets it from the start.
	late := openLive(t, f.Srv.URL, "/backend/api/live/?feature_result_id="+strconv.FormatInt(run.ResultIDs[0], 10),
		f.Tokens["devops"], "")
	first := mine.until(isEvent(eventschemas.TypeStepRecorded, result))
	mine.close()

	r.step(h, 2, "Press TAB", eventschemas.StatusSuccess, 10)
	r.step(h, 3, `I can see "Done"`, eventschemas.StatusFailed, 10)
	r.finish(h, eventschemas.StatusFailed, 0)
	done := isEvent(eventschemas.TypeResultFinished, result)
	lateEvents := late.until(done)
	again := openLive(t, f.Srv.URL, "/backend/api/live/", f.Tokens["devops"], strconv.FormatInt(first[len(first)-1].ID, 10))
	rest := again.until(done)

	// What each should have: the log as GET /api/events/ lists it.
	list := func(query string) []int64 {
		t.Helper()
		var page struct {
			Results []struct {
				Seq int64 `json:"seq"`
			} `json:"results"`
		}
		k.get("/backend/api/events/?size=5000&"+query, "admin", 200, &page)
		out := []int64{}
		for _, e := range page.Results {
			out = append(out, e.Seq)
		}
		return out
	}
	if got, want := seqsOf(lateEvents), list("stream="+result); !slices.Equal(got, want) {
		t.Errorf("late client: %v, want %v", got, want)
	}
	reconnected := append(seqsOf(first), seqsOf(rest)...)
	want := list("department_id=" + strconv.FormatInt(f.DeptA, 10) + "&after=" + strconv.FormatInt(mine.start, 10))
	if !slices.Equal(reconnected, want) {
		t.Errorf("reconnecting client: %v (start %d), want %v", reconnected, mine.start, want)
	}

	// A feature of department B is what the other client sees next.
	newFeature(t, f, "devopsB", "Theirs", f.DeptB, stepJSON("Press Enter"))
	seen := other.until(func(e sseEvent) bool { return e.Event.EventType == eventschemas.TypeFeatureSaved })
	for _, e := range seen {
		if !slices.Contains(e.Event.Deps, f.DeptB) || slices.Contains(e.Event.Deps, f.DeptA) {
			t.Errorf("client of department %d received %s of %s (departments %v)", f.DeptB, e.Event.EventType,
				e.Event.Stream, e.Event.Deps)
		}
	}

	// Refused before streaming: bad parameters, another department's
	// result, no permission to follow.
	k.get("/backend/api/live/?after=x", "devops", 400, nil)
	k.get("/backend/api/live/?topic=runs", "devops", 400, nil)
	k.get("/backend/api/live/?feature_result_id="+strconv.FormatInt(run.ResultIDs[0], 10), "devopsB", 404, nil)
	k.get("/backend/api/live/", "", 401, nil)
}

// TestLiveStreamEndsOnShutdown: an open stream does not hold up a graceful
// shutdown of the server, and its client sees the stream end.
func TestLiveStreamEndsOnShutdown(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: readapi.ErrorHandler(srv.Deps.Logger)})
	if err := readapi.Mount(app, srv.Deps); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	c := openLive(t, "http://"+ln.Addr().String(), "/backend/api/live/", srv.AdminToken, "0")
	c.next() // the stream is live: it replays the log from the start

	shut := make(chan error, 1)
	go func() { shut <- app.Shutdown() }()
	if _, err := io.Copy(io.Discard, c.resp.Body); err != nil {
		t.Errorf("stream ended with %v, want a clean end", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
}

// TestLiveStreamHidesAccounts: a caller without view_accounts follows the
// events of its own account only, never another account's (names,
// e-mails, roles, tokens), as GET /api/accounts/ refuses it; a SUPERUSER
// follows them all. No event answer, live or listed, shows a token's hash.
func TestLiveStreamHidesAccounts(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	k.get("/backend/api/accounts/", "devops", 403, nil)
	devops := openLive(t, f.Srv.URL, "/backend/api/live/", f.Tokens["devops"], "")
	admin := openLive(t, f.Srv.URL, "/backend/api/live/", f.Tokens["admin"], "")
	// The whole log from the start: the accounts of the fixture, each
	// with a TokenIssued.
	replay := openLive(t, f.Srv.URL, "/backend/api/live/?after=0", f.Tokens["devops"], "")

	colleague, _ := f.Srv.Account(t, "DEVOPS", f.DeptA)
	k.do(http.MethodPost, "/backend/api/accounts/{devops}/tokens/", "admin", nil, 201, nil)
	k.do(http.MethodPatch, "/backend/api/accounts/"+strconv.FormatInt(colleague, 10)+"/", "admin",
		map[string]any{"name": "Renamed colleague", "email": "renamed-" + strconv.FormatInt(colleague, 10) + "@example.test"}, 200, nil)
	newFeature(t, f, "devops", "Marker", f.DeptA, stepJSON("Press Enter"))
	marker := func(e sseEvent) bool { return e.Event.EventType == eventschemas.TypeFeatureSaved }

	own := "account-" + strconv.FormatInt(f.IDs["devops"], 10)
	for name, c := range map[string]*sseClient{"live": devops, "replay": replay} {
		sawOwn := false
		for _, e := range c.until(marker) {
			if strings.HasPrefix(e.Event.Stream, "account-") && e.Event.Stream != own {
				t.Errorf("%s: a caller without view_accounts received %s of %s", name, e.Event.EventType, e.Event.Stream)
			}
			sawOwn = sawOwn || (e.Event.Stream == own && e.Event.EventType == eventschemas.TypeTokenIssued)
			wantNoHash(t, e)
		}
		if !sawOwn {
			t.Errorf("%s: the caller did not receive the token issued to its own account", name)
		}
	}
	types := map[string]bool{}
	for _, e := range admin.until(marker) {
		if strings.HasPrefix(e.Event.Stream, "account-") {
			types[e.Event.EventType] = true
		}
		wantNoHash(t, e)
	}
	for _, typ := range []string{eventschemas.TypeAccountCreated, eventschemas.TypeAccountUpdated, eventschemas.TypeTokenIssued} {
		if !types[typ] {
			t.Errorf("SUPERUSER did not receive %s; got account events %v", typ, types)
		}
	}

	// Listed: the log and a department's audit hold the TokenIssued
	// events, without their hashes.
	for _, path := range []string{"/backend/api/events/?size=5000&event_type=TokenIssued",
		"/backend/api/departments/{deptA}/audit/?size=5000&event_type=TokenIssued"} {
		r := k.get(path, "admin", 200, nil)
		if strings.Contains(string(r.Body), "token_sha256") || !strings.Contains(string(r.Body), "token_id") {
			t.Errorf("%s: %.400s, want TokenIssued events without token_sha256", path, r.Body)
		}
	}
}

// wantNoHash fails when a TokenIssued event shows the token's hash.
func wantNoHash(t *testing.T, e sseEvent) {
	t.Helper()
	if _, ok := e.Event.Data["token_sha256"]; ok {
		t.Errorf("%s of %s shows token_sha256", e.Event.EventType, e.Event.Stream)
	}
}

// TestWaitingRunEndsOnShutdown: POST /backend/exectest/ with wait: true
// for a run that does not end (no runner here) is answered at once when
// the server shuts down, 503 naming the shutdown and the run, and does not
// hold up the graceful shutdown.
func TestWaitingRunEndsOnShutdown(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	f := &apitest.Fixture{Srv: srv, Tokens: map[string]string{"admin": srv.AdminToken}}
	feat := newFeature(t, f, "admin", "Waited", srv.DefaultDepartment, stepJSON("Press Enter"))
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: readapi.ErrorHandler(srv.Deps.Logger)})
	if err := readapi.Mount(app, srv.Deps); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()

	// The run's request in the log says the handler is past the append.
	ctx, cancel := context.WithTimeout(context.Background(), liveGuard)
	defer cancel()
	head, _, err := srv.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := srv.Store.SubscribeAll(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	type answer struct {
		status int
		body   map[string]any
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ln.Addr().String()+"/backend/exectest/",
			strings.NewReader(`{"feature_id": `+feat+`, "wait": true}`))
		if err != nil {
			answered <- answer{err: err}
			return
		}
		req.Header.Set("Authorization", "Bearer "+srv.AdminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		a := answer{status: resp.StatusCode}
		a.err = json.NewDecoder(resp.Body).Decode(&a.body)
		answered <- a
	}()
	for {
		ev, err := sub.Recv()
		if err != nil {
			t.Fatalf("waiting for the run request: %v", err)
		}
		if ev.Type == eventschemas.TypeRunRequested {
			break
		}
	}

	shut := make(chan error, 1)
	go func() { shut <- app.ShutdownWithTimeout(liveGuard) }()
	a := <-answered
	if a.err != nil {
		t.Fatalf("exectest: %v", a.err)
	}
	msg, _ := a.body["error"].(string)
	if a.status != http.StatusServiceUnavailable || !strings.Contains(msg, "shutting down") ||
		a.body["run_id"] == nil || a.body["feature_result_ids"] == nil {
		t.Errorf("exectest at shutdown: %d %v, want 503 naming the shutdown, with run_id and feature_result_ids",
			a.status, a.body)
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v, want it done once the waiting request was answered", err)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
}
