package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
)

// TestServeStopsWithOpenWaits stops `cometa serve` with SIGINT while a
// client waits for a run (exectest with wait: true) that stays queued
// behind one sleeping ten minutes (one run at a time), and another client
// follows the live stream, with a shutdown timeout of ten minutes: the
// waiting client is answered 503 "server shutting down" with the run's
// ids, the live stream ends, and cometa exits 0 without cutting requests
// at the timeout (the hang guard fails a stop that waits for it).
func TestServeStopsWithOpenWaits(t *testing.T) {
	t.Parallel()
	const token = "e2e-shutdown-token-0123456789"
	s := startServe(t, dataDir(t), "COMETA_BOOTSTRAP_TOKEN="+token, "COMETA_BROWSER_LOOPBACK_ONLY=true",
		"COMETA_SHUTDOWN_TIMEOUT=10m", "COMETA_MAX_PARALLEL_RUNS=1")
	base := "http://" + s.addr
	code, body := apiCall(t, http.MethodPost, base+"/backend/api/features/", token, `{"feature_name": "Sleeper",
		"app_id": 1, "environment_id": 1, "department_id": 1,
		"steps": {"steps_content": [{"step_keyword": "Given", "step_content": "I sleep \"600\" seconds"}]}}`)
	if code != http.StatusCreated {
		t.Fatalf("create the feature: %d %s", code, body)
	}
	var feat struct {
		ID int64 `json:"feature_id"`
	}
	if err := json.Unmarshal([]byte(body), &feat); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	live := openStream(t, ctx, base+"/backend/api/live/", token)
	// until reads the live stream up to an event of type typ.
	until := func(typ string) {
		t.Helper()
		for {
			line, err := live.ReadString('\n')
			if err != nil {
				t.Fatalf("live stream ended before %s: %v\n%s", typ, err, s.logs())
			}
			if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"event_type":"`+typ+`"`) {
				return
			}
		}
	}
	// The first run takes the runner's one slot.
	if code, body := apiCall(t, http.MethodPost, base+"/backend/exectest/", token,
		`{"feature_id": `+jsonInt(feat.ID)+`}`); code != http.StatusOK {
		t.Fatalf("first run: %d %s", code, body)
	}
	until("ResultStarted")
	type answer struct {
		status int
		body   map[string]any
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/backend/exectest/",
			strings.NewReader(`{"feature_id": `+jsonInt(feat.ID)+`, "wait": true}`))
		if err != nil {
			answered <- answer{err: err}
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
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
	until("RunRequested")

	// killTaskPID catches the runs read model up with the log before it
	// looks (and finds no such pid): past it, the waiting request is past
	// its read-your-writes wait too, and waits for the run's end.
	if code, body := apiCall(t, http.MethodGet, base+"/backend/killTaskPID/999999/", token, ""); code != http.StatusNotFound {
		t.Fatalf("killTaskPID/999999: %d %s, want 404", code, body)
	}
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	a := <-answered
	if a.err != nil {
		t.Fatalf("exectest during the stop: %v\n%s", a.err, s.logs())
	}
	msg, _ := a.body["error"].(string)
	if a.status != http.StatusServiceUnavailable || !strings.Contains(msg, "server shutting down") ||
		a.body["run_id"] == nil || a.body["feature_result_ids"] == nil {
		t.Errorf("exectest during the stop: %d %v, want 503 \"server shutting down\" with the run's ids", a.status, a.body)
	}
	for {
		if _, err := live.ReadString('\n'); err != nil {
			break // the stream ended
		}
	}
	// A second signal would kill it: wait for the exit the first one asked for.
	select {
	case <-s.exited:
	case <-ctx.Done():
		t.Fatalf("cometa serve did not exit after SIGINT:\n%s", s.logs())
	}
	if s.err != nil {
		t.Errorf("cometa serve after SIGINT with open waits: %v, want exit 0\n%s", s.err, s.logs())
	}
	for _, bad := range []string{"shut down http", "open requests cut", "store is closed"} {
		if strings.Contains(s.logs(), bad) {
			t.Errorf("the log mentions %q:\n%s", bad, s.logs())
		}
	}
}

// openStream opens a Server-Sent Events stream as token and returns its
// lines; the stream closes with ctx.
func openStream(t *testing.T, ctx context.Context, url, token string) *bufio.Reader {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return bufio.NewReader(resp.Body)
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
