package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
)

// runCLI runs the built binary with args and env (on top of the test's
// environment without COMETA_*), returning stdout, stderr and the exit
// code.
func runCLI(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, cometaBinary(t), args...)
	cmd.Env = childEnv(env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("cometa %v: %v", args, err)
	}
	return out.String(), errOut.String(), 0
}

// apiCall sends a JSON request with the bootstrap token and returns the
// status and body.
func apiCall(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// TestProjectionsCLI runs `cometa projections status` and `rebuild`
// against the database of a running `cometa serve` (its private cluster),
// then against the same data directory with no server running.
func TestProjectionsCLI(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	const token = "cli-test-bootstrap-token-0123456789"
	s := startServe(t, dir, "COMETA_BOOTSTRAP_TOKEN="+token)
	base := "http://" + s.addr
	if code, body := apiCall(t, "POST", base+"/backend/api/departments/", token, `{"department_name": "CLI ✓"}`); code != 201 {
		t.Fatalf("create department: %d %s", code, body)
	}
	_, before := apiCall(t, "GET", base+"/backend/api/departments/", token, "")
	env := []string{"COMETA_DATA_DIR=" + dir}

	out, errOut, code := runCLI(t, env, "projections", "status")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "LAG EVENTS") {
		t.Errorf("status header %q", lines[0])
	}
	// Each model's line shows the Version of its code.
	versions := map[string]string{}
	for _, m := range projections.ReadModels() {
		versions[m.Name()] = strconv.Itoa(m.Version())
	}
	for _, model := range []string{"accounts", "departments", "catalog"} {
		if !matches(`(?m)^`+model+`\s+`+versions[model]+`\s+(live|catching_up)\s+\d+/\d+\s+0\s+`, out) {
			t.Errorf("status has no caught-up line for %s:\n%s", model, out)
		}
	}

	out, errOut, code = runCLI(t, env, "projections", "rebuild")
	if code != 0 {
		t.Fatalf("rebuild: exit %d\n%s%s", code, out, errOut)
	}
	for _, model := range []string{"accounts", "departments", "catalog"} {
		if !matches(`(?m)^`+model+`\tversion `+versions[model]+`\t\d+ events\tchecksum [0-9a-f]{64}\t`, out) {
			t.Errorf("rebuild printed no checksum for %s:\n%s", model, out)
		}
	}
	if _, after := apiCall(t, "GET", base+"/backend/api/departments/", token, ""); after != before {
		t.Errorf("departments after the rebuild:\n%s\nbefore:\n%s", after, before)
	}
	first := checksumOf(t, out, "departments")
	out, _, code = runCLI(t, env, "projections", "rebuild", "departments")
	if code != 0 || checksumOf(t, out, "departments") != first || strings.Contains(out, "accounts") {
		t.Errorf("rebuild departments: exit %d, %s; want only departments, checksum %s", code, out, first)
	}
	if _, errOut, code := runCLI(t, env, "projections", "rebuild", "nosuch"); code == 0 || !strings.Contains(errOut, `"nosuch"`) {
		t.Errorf("rebuild of an unknown model: exit %d, %s", code, errOut)
	}

	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, databaseURLFile)); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", databaseURLFile, err)
	}
	out, errOut, code = runCLI(t, env, "projections", "status")
	if code != 0 || !strings.Contains(out, "departments") {
		t.Errorf("status with no server running: exit %d\n%s%s", code, out, errOut)
	}
}

// TestProjectionsSkipCLI puts an event the catalog cannot decode into the
// log of a running `cometa serve`, finds it in `cometa projections
// status`, and skips it with `cometa projections skip`: the server's
// projector moves past it at its next retry and logs the skip.
func TestProjectionsSkipCLI(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	s := startServe(t, dir, "COMETA_BOOTSTRAP_TOKEN=cli-skip-bootstrap-token-0123456789")
	store, pool := openStore(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	badID := uuid.New()
	_, err := store.Append(ctx, "environment-900", eventstore.NoStream(), eventstore.EventData{
		ID: badID, Type: eventschemas.TypeEnvironmentCreated, SchemaVersion: 1,
		Data:       []byte(`{"environment_id":"nine hundred","environment_name":"broken"}`),
		OccurredAt: time.Now(), Actor: "account-1", CorrelationID: uuid.NewString(),
	})
	if err != nil {
		t.Fatal(err)
	}
	catalogState := func() (state string, failingAt *uuid.UUID) {
		t.Helper()
		err := pool.QueryRow(ctx, `SELECT state, error_event_id FROM projections.checkpoints
			WHERE name = 'catalog'`).Scan(&state, &failingAt)
		if err != nil {
			t.Fatalf("read the catalog's checkpoint: %v", err)
		}
		return state, failingAt
	}
	waitCatalog(t, "failing at the event", func() bool {
		state, at := catalogState()
		return state == "failing" && at != nil && *at == badID
	})
	env := []string{"COMETA_DATA_DIR=" + dir}

	out, errOut, code := runCLI(t, env, "projections", "status")
	if code != 0 || !matches(`(?m)^catalog\s.*\sfailing\s.*environment-900@0 \(position \d+/\d+, event `+
		badID.String()+`\): decode`, out) {
		t.Errorf("status of the failing catalog: exit %d\n%s%s", code, out, errOut)
	}
	for _, tc := range []struct {
		args   []string
		code   int
		saying string
	}{
		{[]string{"nosuch", badID.String()}, 1, `"nosuch"`},
		{[]string{"catalog", uuid.NewString()}, 1, "no dead letter"},
		{[]string{"catalog", "forty-two"}, 2, "invalid UUID"},
		{[]string{"catalog"}, 2, "<event-id>"},
	} {
		_, errOut, code := runCLI(t, env, append([]string{"projections", "skip"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.saying) {
			t.Errorf("skip %v: exit %d, %s; want exit %d saying %q", tc.args, code, errOut, tc.code, tc.saying)
		}
	}
	if state, _ := catalogState(); state != "failing" {
		t.Fatalf("refused skips moved the catalog to %s", state)
	}

	out, errOut, code = runCLI(t, env, "projections", "skip", "catalog", badID.String(), "--by", "ops@example.test")
	want := "skip of event " + badID.String() + " requested for read model catalog (by ops@example.test); " +
		"the running server skips it at the model's next retry\n"
	if code != 0 || out != want {
		t.Fatalf("skip: exit %d, %q (%s); want %q", code, out, errOut, want)
	}
	waitCatalog(t, "past the event", func() bool {
		state, _ := catalogState()
		return state != "failing"
	})
	var by string
	var skipped bool
	err = pool.QueryRow(ctx, `SELECT skip_requested_by, skipped_at IS NOT NULL AND resolved_at IS NOT NULL
		FROM projections.dead_letters WHERE name = 'catalog' AND event_id = $1`, badID).Scan(&by, &skipped)
	if err != nil || by != "ops@example.test" || !skipped {
		t.Errorf("dead letter: requested by %q, skipped %v (%v)", by, skipped, err)
	}
	if !matches(`"msg":"event skipped by operator","component":"projections","read_model":"catalog",`+
		`"stream":"environment-900","revision":0,"event_id":"`+badID.String()+`"`, s.logs()) {
		t.Errorf("the server did not log the skip:\n%s", s.logs())
	}
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// waitCatalog polls cond, a read of the database, until it holds or
// hangGuard is up.
func waitCatalog(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("the catalog was not %s within %v", what, hangGuard)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWriteStatusNamesTheEventToSkip renders a failing model with a
// pending skip: its line names the event's id, which `cometa projections
// skip` takes, and the request.
func TestWriteStatusNamesTheEventToSkip(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("0b7e1f7c-5a51-4c55-9d4c-6f3f8f1f2a10")
	var out bytes.Buffer
	err := writeStatus(&out, []projections.Status{{
		Name: "catalog", Version: 2, StoredVersion: 2, State: projections.StateFailing,
		Checkpoint: eventstore.Position{Commit: 7, Prepare: 7},
		Failure: &projections.FailingError{Name: "catalog", Stream: "environment-9", Revision: 3,
			Position: eventstore.Position{Commit: 8, Prepare: 8}, EventID: id, Cause: "decode:\n bad"},
		PendingSkips: []projections.SkipRequest{{EventID: id, Stream: "environment-9", Revision: 3,
			RequestedBy: "cli:ops", RequestedAt: time.Now()}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := "environment-9@3 (position 8/8, event " + id.String() + "): decode: bad; skip of event " +
		id.String() + " requested by cli:ops\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Errorf("status:\n%s\nwant a line ending in %q", out.String(), want)
	}
}

func matches(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// checksumOf reads a model's checksum from rebuild's output.
func checksumOf(t *testing.T, out, model string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) >= 4 && f[0] == model {
			return strings.TrimPrefix(f[3], "checksum ")
		}
	}
	t.Fatalf("no checksum of %s in %q", model, out)
	return ""
}

// TestDiffImagesCLI compares pixelmatch's reference images and prints its
// counts.
func TestDiffImagesCLI(t *testing.T) {
	t.Parallel()
	const fixtures = "../../runner/imagediff/testdata/" // copies of shared/fixtures/pixelmatch
	f, err := os.Open(fixtures + "expected.tsv")
	if err != nil {
		t.Fatalf("the pixelmatch fixtures (runner/imagediff/testdata): %v", err)
	}
	t.Cleanup(func() { f.Close() })
	sc := bufio.NewScanner(f)
	rows := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if strings.HasPrefix(sc.Text(), "#") || cols[0] == "image_a" || len(cols) < 5 || rows >= 4 {
			continue
		}
		rows++
		args := []string{"diff-images", fixtures + cols[0], fixtures + cols[1], "--threshold", cols[2]}
		if cols[3] == "true" {
			args = append(args, "--include-aa")
		}
		out, errOut, code := runCLI(t, nil, args...)
		if code != 0 || strings.TrimSpace(out) != cols[4] {
			t.Errorf("cometa %v = %q (exit %d, %s); want %s", args, out, code, errOut, cols[4])
		}
	}
	if rows == 0 {
		t.Fatal("no reference rows")
	}
	if _, errOut, code := runCLI(t, nil, "diff-images", fixtures+"1a.png", fixtures+"1b.png", "--threshold", "2"); code == 0 ||
		!strings.Contains(errOut, "threshold") {
		t.Errorf("threshold 2: exit %d, %s", code, errOut)
	}
}

// TestProjectionsCLIWithoutDataDir runs the maintenance commands with no
// database URL, no running server and no data directory (the default
// ./.cometa, one named by COMETA_DATA_DIR, an empty one): each exits 1
// saying so, and creates nothing, neither a cluster nor the directory.
func TestProjectionsCLIWithoutDataDir(t *testing.T) {
	t.Parallel()
	work := dataDir(t)
	empty := filepath.Join(work, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	commands := [][]string{
		{"projections", "status"},
		{"projections", "rebuild"},
		{"projections", "skip", "accounts", uuid.NewString()},
	}
	for _, tc := range []struct {
		env []string
		dir string // the data directory the error names
	}{
		{nil, filepath.Join(work, ".cometa")},
		{[]string{"COMETA_DATA_DIR=" + filepath.Join(work, "nosuch")}, filepath.Join(work, "nosuch")},
		{[]string{"COMETA_DATA_DIR=" + empty}, empty},
	} {
		for _, args := range commands {
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			cmd := exec.CommandContext(ctx, cometaBinary(t), args...)
			cmd.Dir, cmd.Env = work, childEnv(tc.env...)
			out, err := cmd.CombinedOutput()
			cancel()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("cometa %v: %v", args, err)
			}
			want := "no Cometa data directory at " + tc.dir + ": set COMETA_DATA_DIR"
			if code != 1 || !strings.Contains(string(out), want) {
				t.Errorf("%v %v: exit %d, %s; want exit 1 and %q", tc.env, args, code, out, want)
			}
		}
	}
	for _, gone := range []string{".cometa", "nosuch"} {
		if _, err := os.Stat(filepath.Join(work, gone)); !os.IsNotExist(err) {
			t.Errorf("%s after the commands: %v, want it not to exist", gone, err)
		}
	}
	if left, err := os.ReadDir(empty); err != nil || len(left) > 0 {
		t.Errorf("the empty data directory holds %v (%v) after the commands", left, err)
	}
}
