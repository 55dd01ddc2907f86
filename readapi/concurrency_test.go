package readapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestCoreConcurrentWrites races writers on one department and creators
// of new ones: every change either wins (200) or reports the lost race
// (409), the last read shows a winner, and concurrent creates get distinct
// ids.
func TestCoreConcurrentWrites(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	dept := srv.Department(t, "Raced")
	const writers = 16

	statuses := make([]int, writers)
	ids := make([]int64, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			r := srv.Do(t, patch, fmt.Sprintf("/backend/api/departments/%d/", dept), srv.AdminToken,
				map[string]any{"settings": map[string]any{"writer": i}})
			statuses[i] = r.Status
			var out struct {
				ID int64 `json:"department_id"`
			}
			c := srv.Do(t, post, "/backend/api/departments/", srv.AdminToken,
				map[string]any{"department_name": fmt.Sprintf("Parallel %d", i)}).Want(t, http.StatusCreated)
			c.JSON(t, &out)
			ids[i] = out.ID
		})
	}
	wg.Wait()

	won := 0
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			won++
		case http.StatusConflict:
		default:
			t.Errorf("writer %d: status %d, want 200 or 409", i, s)
		}
	}
	if won == 0 {
		t.Error("no writer won")
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] || id == 0 {
			t.Errorf("department ids %v are not distinct", ids)
			break
		}
		seen[id] = true
	}
	var list struct {
		Results []struct {
			ID       int64          `json:"department_id"`
			Settings map[string]any `json:"settings"`
		} `json:"results"`
	}
	srv.Do(t, get, "/backend/api/departments/", srv.AdminToken, nil).Want(t, 200).JSON(t, &list)
	for _, d := range list.Results {
		if d.ID == dept {
			w, ok := d.Settings["writer"].(float64)
			if !ok || statuses[int(w)] != http.StatusOK {
				t.Errorf("final settings %v are not a winner's", d.Settings)
			}
		}
	}
}
