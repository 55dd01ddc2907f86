package readapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestPagesPastTheEnd asks every paged list for pages whose offset does
// not fit in an int64: each is an empty page (or a 400 naming page),
// never a 5xx.
func TestPagesPastTheEnd(t *testing.T) {
	t.Parallel()
	f := overflowFixture(t)
	lists := []string{
		"/backend/api/accounts/",
		"/backend/api/account_roles/",
		"/backend/api/feature_results/?feature_id={feat}",
		"/backend/api/feature_results_by_featureid/?feature_id={feat}",
		"/backend/api/feature_results/{result}/step_results/",
		"/backend/api/feature_results/{feat}/step_results/{result}/",
	}
	pages := []string{"page=9223372036854775807", "page=10000000000000000&size=5000",
		"page=2147483648&size=2147483648", "page=4611686018427387904&size=2", "page=1844674407370955&size=5000"}
	for _, list := range lists {
		for _, page := range pages {
			sep := "?"
			if strings.Contains(list, "?") {
				sep = "&"
			}
			path := f.Expand(list) + sep + page
			t.Run(path, func(t *testing.T) {
				r := f.Srv.Do(t, get, path, f.Srv.AdminToken, nil)
				if r.Status == http.StatusBadRequest {
					wantError("page")(t, f, r)
					return
				}
				r.Want(t, http.StatusOK)
				var body struct {
					Count   int               `json:"count"`
					Next    *string           `json:"next"`
					Results []json.RawMessage `json:"results"`
				}
				r.JSON(t, &body)
				if len(body.Results) != 0 || body.Next != nil || body.Count == 0 {
					t.Errorf("page past the end: %s, want no results, next null and the count", r.Body)
				}
			})
		}
	}
}
