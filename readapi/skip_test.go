package readapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// projectionStatus is the part of GET /backend/api/admin/projections/ the
// skip tests read.
type projectionStatus struct {
	Results []struct {
		Name    string `json:"name"`
		State   string `json:"state"`
		Failure *struct {
			Stream  string `json:"stream"`
			EventID string `json:"event_id"`
		} `json:"failure"`
		PendingSkips []struct {
			EventID string `json:"event_id"`
		} `json:"pending_skips"`
	} `json:"results"`
}

// stuckAt polls the status (a client's only signal) until cond holds for
// it, or fails the test after a minute.
func stuckAt(t *testing.T, srv *apitest.Server, what string, cond func(projectionStatus) bool) projectionStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var st projectionStatus
		srv.Do(t, http.MethodGet, "/backend/api/admin/projections/", srv.AdminToken, nil).Want(t, 200).JSON(t, &st)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s: %+v", what, st.Results)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failingAt lists the read models failing at the event id.
func failingAt(st projectionStatus, id uuid.UUID) []string {
	var names []string
	for _, m := range st.Results {
		if m.State == "failing" && m.Failure != nil && m.Failure.EventID == id.String() {
			names = append(names, m.Name)
		}
	}
	return names
}

// TestSkipOverTheAPI puts an event that no read model can decode into the
// log, refuses bad skip requests without changing anything, then skips the
// event for every model stuck at it: each one moves on and serves the
// changes after it, and the dead letter records who asked.
func TestSkipOverTheAPI(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	ctx := t.Context()
	badID := uuid.New()
	_, err := srv.Store.Append(ctx, "environment-900", eventstore.NoStream(), eventstore.EventData{
		ID: badID, Type: eventschemas.TypeEnvironmentCreated, SchemaVersion: 1,
		Data:       []byte(`{"environment_id":"nine hundred","environment_name":"broken"}`),
		OccurredAt: time.Now(), Actor: "account-1", CorrelationID: uuid.NewString(),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every model that reads the event's type decodes it, and fails.
	var stuck []string
	for _, m := range projections.ReadModels() {
		if slices.Contains(m.EventTypes(), eventschemas.TypeEnvironmentCreated) {
			stuck = append(stuck, m.Name())
		}
	}
	stuckAt(t, srv, "the models reading environments fail", func(st projectionStatus) bool {
		return slices.Equal(failingAt(st, badID), stuck)
	})
	_, devops := srv.Account(t, role.Devops, srv.DefaultDepartment)
	_, manager := srv.Account(t, role.Manager, srv.DefaultDepartment)

	const path = "/backend/api/admin/projections/skip/"
	bad := badID.String()
	for _, tc := range []struct {
		what   string
		token  string
		body   any
		status int
		saying string
	}{
		{"a DEVOPS", devops, map[string]any{"read_model": "catalog", "event_id": bad}, 403, "only a SUPERUSER"},
		{"a MANAGER", manager, map[string]any{"read_model": "catalog", "event_id": bad}, 403, "only a SUPERUSER"},
		{"no fields", srv.AdminToken, map[string]any{}, 400, "read_model"},
		{"no event", srv.AdminToken, map[string]any{"read_model": "catalog"}, 400, "event_id"},
		{"no UUID", srv.AdminToken, map[string]any{"read_model": "catalog", "event_id": "forty-two"}, 400,
			`"forty-two" is not a UUID`},
		{"an unknown model", srv.AdminToken, map[string]any{"read_model": "nope", "event_id": bad}, 400,
			`no read model "nope"`},
		{"an unknown field", srv.AdminToken, `{"read_model": "catalog", "event_id": "` + bad + `", "now": true}`,
			400, "now"},
		{"a number", srv.AdminToken, `{"read_model": "catalog", "event_id": 7}`, 400, "event_id"},
		{"malformed JSON", srv.AdminToken, `{"read_model": `, 400, "malformed JSON"},
		{"an event without a dead letter", srv.AdminToken,
			map[string]any{"read_model": "catalog", "event_id": uuid.NewString()}, 404, "no dead letter"},
		{"a model not stuck at the event", srv.AdminToken,
			map[string]any{"read_model": "departments", "event_id": bad}, 404, "no dead letter"},
	} {
		srv.Unchanged(t, "skip with "+tc.what, func() {
			resp := srv.Do(t, http.MethodPost, path, tc.token, tc.body)
			if msg, _ := resp.Map(t)["error"].(string); resp.Status != tc.status || !strings.Contains(msg, tc.saying) {
				t.Errorf("skip with %s: %d %s, want %d saying %q", tc.what, resp.Status, resp.Body, tc.status, tc.saying)
			}
		})
	}
	var requested int
	if err := srv.Pool.QueryRow(ctx, `SELECT count(*) FROM projections.dead_letters
		WHERE skip_requested_at IS NOT NULL OR resolved_at IS NOT NULL`).Scan(&requested); err != nil || requested != 0 {
		t.Errorf("refused requests marked %d dead letters (%v)", requested, err)
	}
	st := stuckAt(t, srv, "the status after the refusals", func(projectionStatus) bool { return true })
	if again := failingAt(st, badID); !slices.Equal(again, stuck) {
		t.Errorf("after the refusals %v are failing, before %v", again, stuck)
	}

	for _, name := range stuck {
		var ok map[string]any
		srv.Do(t, http.MethodPost, path, srv.AdminToken,
			map[string]any{"read_model": name, "event_id": bad}).Want(t, http.StatusAccepted).JSON(t, &ok)
		if ok["success"] != true || ok["event_id"] != bad || ok["requested_by"] != "account 1 (admin@localhost)" {
			t.Errorf("skip of %s: %v", name, ok)
		}
	}
	stuckAt(t, srv, "no model stuck at the event", func(st projectionStatus) bool {
		return len(failingAt(st, badID)) == 0
	})
	srv.Do(t, http.MethodPost, "/api/environments/", srv.AdminToken,
		map[string]any{"environment_name": "after the skip"}).Want(t, http.StatusCreated)
	envs := srv.Do(t, http.MethodGet, "/backend/api/environments/", srv.AdminToken, nil).Want(t, 200).Body
	if !strings.Contains(string(envs), "after the skip") || strings.Contains(string(envs), "broken") {
		t.Errorf("environments after the skip: %s", envs)
	}

	rows, err := srv.Pool.Query(ctx, `SELECT name FROM projections.dead_letters
		WHERE event_id = $1 AND skipped_at IS NOT NULL AND resolved_at IS NOT NULL
			AND skip_requested_by = 'account 1 (admin@localhost)' ORDER BY name`, badID)
	if err != nil {
		t.Fatal(err)
	}
	skipped, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !slices.Equal(skipped, slices.Sorted(slices.Values(stuck))) {
		t.Errorf("dead letters skipped for %v (%v), want %v", skipped, err, stuck)
	}

	resp := srv.Do(t, http.MethodPost, path, srv.AdminToken, map[string]any{"read_model": "catalog", "event_id": bad})
	if resp.Status != http.StatusConflict || !strings.Contains(string(resp.Body), "skipped already") {
		t.Errorf("a second skip: %d %s, want 409 skipped already", resp.Status, resp.Body)
	}
}
