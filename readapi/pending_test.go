package readapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestWritePendingIsNotAnError checks that a write whose read models do
// not catch up within the wait answers 202 with "pending", not an error a
// client would retry, and that the write happened exactly once.
func TestWritePendingIsNotAnError(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{WriteWait: time.Nanosecond})
	before := srv.EventCount(t)

	r := srv.Do(t, http.MethodPost, "/backend/api/environments/", srv.AdminToken,
		map[string]any{"environment_name": "Staging ✓"}).Want(t, http.StatusAccepted)
	m := r.Map(t)
	if m["success"] != true || m["pending"] != true || m["message"] == "" {
		t.Fatalf("pending answer %s", r.Body)
	}
	if got := srv.EventCount(t); got != before+1 {
		t.Errorf("%d events appended, want 1", got-before)
	}

	// Once the read models catch up, the environment is there once.
	head, _, err := srv.Store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Manager.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Results []struct {
			Name string `json:"environment_name"`
		} `json:"results"`
	}
	srv.Do(t, http.MethodGet, "/backend/api/environments/", srv.AdminToken, nil).
		Want(t, http.StatusOK).JSON(t, &list)
	n := 0
	for _, e := range list.Results {
		if e.Name == "Staging ✓" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("environment listed %d times: %+v", n, list.Results)
	}
}
