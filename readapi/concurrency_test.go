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

// TestConcurrentFeatureSavesAnswerTheirOwnVersion races unversioned saves
// of one feature through both save endpoints, in a few rounds (the race is
// lost only sometimes): every 200 shows the description and version its
// own request wrote, never those of a save that overtook it; the versions
// are distinct, and each is in the history as answered.
func TestConcurrentFeatureSavesAnswerTheirOwnVersion(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	srv := f.Srv
	const rounds, writers = 4, 20
	type answer struct {
		Description string `json:"description"`
		Version     int    `json:"version"`
		Steps       int    `json:"steps"`
	}
	versions := map[int]string{}
	for round := range rounds {
		statuses := make([]int, writers)
		answers := make([]answer, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				desc := fmt.Sprintf("nover %d.%d", round, i)
				var r *apitest.Response
				if i%3 == 2 {
					r = srv.Do(t, post, "/backend/steps/"+f.Vars["{featA}"]+"/patch/", f.Tokens["devops"],
						map[string]any{"description": desc})
				} else {
					r = srv.Do(t, patch, "/backend/api/features/", f.Tokens["devops"],
						`{"feature_id": `+f.Vars["{featA}"]+`, "description": "`+desc+`"}`)
				}
				statuses[i] = r.Status
				if r.Status != http.StatusOK {
					return
				}
				var out struct {
					Info answer `json:"info"`
				}
				r.JSON(t, &out)
				answers[i] = out.Info
			})
		}
		wg.Wait()

		for i, s := range statuses {
			switch s {
			case http.StatusOK:
			case http.StatusConflict:
				continue
			default:
				t.Errorf("writer %d.%d: status %d, want 200 or 409", round, i, s)
				continue
			}
			a := answers[i]
			want := fmt.Sprintf("nover %d.%d", round, i)
			if a.Description != want {
				t.Errorf("writer %s was answered %+v, another request's write", want, a)
			}
			if other, dup := versions[a.Version]; dup {
				t.Errorf("%s and %s were both answered version %d", other, want, a.Version)
			}
			versions[a.Version] = want
			if a.Steps != 2 {
				t.Errorf("writer %s: steps %d, want 2", want, a.Steps)
			}
		}
	}
	if len(versions) == 0 {
		t.Fatal("no writer won")
	}
	t.Logf("%d of %d unversioned saves won; the others lost every retry (409)", len(versions), rounds*writers)
	for v, want := range versions {
		var got struct {
			Feature struct {
				Description string `json:"description"`
			} `json:"feature"`
		}
		srv.Do(t, get, fmt.Sprintf("/backend/api/features/%s/versions/%d/", f.Vars["{featA}"], v), srv.AdminToken, nil).
			Want(t, http.StatusOK).JSON(t, &got)
		if got.Feature.Description != want {
			t.Errorf("version %d in the history has description %q; %s was answered it",
				v, got.Feature.Description, want)
		}
	}
}
