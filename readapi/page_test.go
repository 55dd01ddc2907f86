package readapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
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

// TestPageLinksStayOnTheServer: the next and previous links of the paged
// lists are relative (path and query), whatever Host and X-Forwarded-*
// headers say, so that a client following them sends its token nowhere
// else; followed, they answer.
func TestPageLinksStayOnTheServer(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	forged := http.Header{"Host": {"evil.example"}, "X-Forwarded-Host": {"evil.example"},
		"X-Forwarded-Proto": {"https"}, "Forwarded": {"host=evil.example;proto=https"}}
	for _, path := range []string{"/backend/api/events/?size=1", "/api/events/?size=1&after=1",
		"/backend/api/accounts/?size=1&page=2", "/api/accounts/?page=2&size=1"} {
		r := f.Srv.Send(t, apitest.Request{Method: get, Path: path, Token: f.Srv.AdminToken, Header: forged})
		r.Want(t, http.StatusOK)
		var body struct {
			Next     *string `json:"next"`
			Previous *string `json:"previous"`
		}
		r.JSON(t, &body)
		if body.Next == nil {
			t.Fatalf("%s: no next link in %.300s", path, r.Body)
		}
		links := []string{*body.Next}
		if body.Previous != nil {
			links = append(links, *body.Previous)
		}
		route, _, _ := strings.Cut(path, "?")
		for _, link := range links {
			u, err := url.Parse(link)
			if err != nil || u.Scheme != "" || u.Host != "" || u.Path != route {
				t.Errorf("%s: link %q, want %s?... on this server", path, link, route)
				continue
			}
			f.Srv.Do(t, get, link, f.Srv.AdminToken, nil).Want(t, http.StatusOK)
		}
	}
}

// TestPreviousPastTheEnd: past the last page, previous links to the last
// page that has results, however far past it the request is; on the first
// page it is null.
func TestPreviousPastTheEnd(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	var all struct {
		Count int `json:"count"`
	}
	f.Srv.Do(t, get, "/backend/api/accounts/", f.Srv.AdminToken, nil).Want(t, http.StatusOK).JSON(t, &all)
	if all.Count < 3 {
		t.Fatalf("fixture has %d accounts, want at least 3", all.Count)
	}
	for _, tc := range []struct {
		query string
		want  string // the previous link's page, "" for null
	}{
		{"size=1&page=1", ""},
		{"size=1&page=2", "1"},
		{"size=1&page=" + itoa(int64(all.Count+1)), itoa(int64(all.Count))},
		{"size=1&page=" + itoa(int64(all.Count+50)), itoa(int64(all.Count))},
		{"size=5000&page=2", "1"},
		{"size=5000&page=7", "1"},
	} {
		var body struct {
			Previous *string `json:"previous"`
		}
		f.Srv.Do(t, get, "/backend/api/accounts/?"+tc.query, f.Srv.AdminToken, nil).Want(t, http.StatusOK).JSON(t, &body)
		got := ""
		if body.Previous != nil {
			u, err := url.Parse(*body.Previous)
			if err != nil {
				t.Fatal(err)
			}
			got = u.Query().Get("page")
		}
		if got != tc.want {
			t.Errorf("%s: previous page %q (%v), want %q", tc.query, got, body.Previous, tc.want)
		}
	}
}
