package readapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// tokenPath is the tokens route of account id.
func tokenPath(id int64) string { return fmt.Sprintf("/backend/api/accounts/%d/tokens/", id) }

// issueToken gives account id another token as the admin and returns its
// id and secret.
func issueToken(t *testing.T, srv *apitest.Server, id int64) (string, string) {
	t.Helper()
	var out struct {
		TokenID string `json:"token_id"`
		Token   string `json:"token"`
	}
	srv.Do(t, post, tokenPath(id), srv.AdminToken, nil).Want(t, http.StatusCreated).JSON(t, &out)
	return out.TokenID, out.Token
}

// wantLogin checks whether token logs in (200) or not (401).
func wantLogin(t *testing.T, srv *apitest.Server, what, token string, works bool) {
	t.Helper()
	want := http.StatusUnauthorized
	if works {
		want = http.StatusOK
	}
	if got := srv.Do(t, get, "/backend/addoidcaccount/", token, nil).Status; got != want {
		t.Errorf("%s logs in with %d, want %d", what, got, want)
	}
}

// wantBadRequest sends body to method path as the admin and checks that it
// is a 400 whose error contains want and that nothing is appended.
func wantBadRequest(t *testing.T, srv *apitest.Server, method, path, body, want string) {
	t.Helper()
	srv.Unchanged(t, fmt.Sprintf("%s %s %s", method, path, body), func() {
		r := srv.Send(t, apitest.Request{Method: method, Path: path, Token: srv.AdminToken, Body: body}).
			Want(t, http.StatusBadRequest)
		if msg, _ := r.Map(t)["error"].(string); !strings.Contains(msg, want) {
			t.Errorf("%s %s: error %q, want it to contain %q", body, path, msg, want)
		}
	})
}

// TestRevokeNamedTokens revokes one token of an account by its id, as
// issuing answered it: that token stops working, the others keep working,
// and the event lists only it. {} still revokes every token.
func TestRevokeNamedTokens(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	id, first := srv.Account(t, "DEVOPS", srv.DefaultDepartment)
	secondID, second := issueToken(t, srv, id)
	_, third := issueToken(t, srv, id)

	srv.Do(t, del, tokenPath(id), srv.AdminToken, map[string]any{"token_ids": []string{secondID}}).
		Want(t, http.StatusOK)
	wantLogin(t, srv, "the revoked token", second, false)
	wantLogin(t, srv, "the first token", first, true)
	wantLogin(t, srv, "the third token", third, true)
	events, _, err := srv.Log.Load(context.Background(), fmt.Sprintf("account-%d", id))
	if err != nil {
		t.Fatal(err)
	}
	last, ok := events[len(events)-1].Payload.(*eventschemas.TokensRevoked)
	if !ok || !slices.Equal(last.TokenIDs, []string{secondID}) {
		t.Errorf("last event %#v, want TokensRevoked of %q only", events[len(events)-1].Payload, secondID)
	}

	srv.Do(t, del, tokenPath(id), srv.AdminToken, map[string]any{}).Want(t, http.StatusOK)
	wantLogin(t, srv, "the first token after {}", first, false)
	wantLogin(t, srv, "the third token after {}", third, false)
}

// TestRevokeTokensBadBody refuses, appending nothing and leaving every
// token working, a revocation naming a token the account does not hold
// (a 404 naming it) and a body that is malformed, not an object, has a
// field the route does not know, selects no token or names an empty id
// (400s).
func TestRevokeTokensBadBody(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	id, first := srv.Account(t, "DEVOPS", srv.DefaultDepartment)
	secondID, second := issueToken(t, srv, id)
	otherID, _ := issueToken(t, srv, 1) // the admin's, not id's
	path := tokenPath(id)

	for _, ids := range [][]string{{"nope"}, {secondID, "nope"}, {otherID}} {
		srv.Unchanged(t, fmt.Sprintf("revoking %q", ids), func() {
			r := srv.Do(t, del, path, srv.AdminToken, map[string]any{"token_ids": ids}).
				Want(t, http.StatusNotFound)
			unknown := ids[len(ids)-1]
			if msg, _ := r.Map(t)["error"].(string); !strings.Contains(msg, `"`+unknown+`"`) {
				t.Errorf("revoking %q: error %q does not name %q", ids, msg, unknown)
			}
		})
	}
	for _, tc := range []struct{ body, want string }{
		{`{"token_id": "` + secondID + `"}`, `token_id: unknown field`},
		{`{"token_ids": ["` + secondID + `"], "all": false}`, `all: unknown field`},
		{`{"token_ids":`, "malformed JSON"},
		{`x`, "malformed JSON"},
		{`[]`, "expected object"},
		{`null`, "expected object"},
		{`"` + secondID + `"`, "expected object"},
		{`{"token_ids": "` + secondID + `"}`, "token_ids: expected array"},
		{`{"token_ids": [1]}`, "token_ids"},
		{`{"token_ids": []}`, "token_ids: must name at least one token"},
		{`{"token_ids": [""]}`, "token_ids[0]: must not be empty"},
		{`{"token_ids": ["  "]}`, "token_ids[0]: must not be empty"},
		{`{"token_ids": ["` + secondID + `", "\t"]}`, "token_ids[1]: must not be empty"},
	} {
		wantBadRequest(t, srv, del, path, tc.body, tc.want)
	}
	wantLogin(t, srv, "the first token", first, true)
	wantLogin(t, srv, "the second token", second, true)
}

// TestIssueTokenBody issues a token for no body or an empty object, and
// refuses, issuing nothing, a body that is malformed, not an object or has
// a field the route does not know.
func TestIssueTokenBody(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	id, _ := srv.Account(t, "DEVOPS", srv.DefaultDepartment)
	path := tokenPath(id)

	for _, body := range []any{nil, "{}", " { } "} {
		r := srv.Do(t, post, path, srv.AdminToken, body).Want(t, http.StatusCreated)
		token, _ := r.Map(t)["token"].(string)
		wantLogin(t, srv, fmt.Sprintf("the token issued for body %v", body), token, true)
	}
	for _, tc := range []struct{ body, want string }{
		{`x`, "malformed JSON"},
		{`{"a":`, "malformed JSON"},
		{`[]`, "expected object"},
		{`null`, "expected object"},
		{`1`, "expected object"},
		{`{"name": "ci"}`, `name: unknown field`},
		{`{} {}`, "after the JSON value"},
	} {
		wantBadRequest(t, srv, post, path, tc.body, tc.want)
	}
}

// TestUpdateAccountRequired answers a PATCH without name or email with a
// 400 saying each absent one "is required" (Cometa's spec §5.3 requires
// both) and one sent empty "must not be empty", appending nothing; with
// both sent, the role changes.
func TestUpdateAccountRequired(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	id, token := srv.Account(t, "DEVOPS", srv.DefaultDepartment)
	path := fmt.Sprintf("/backend/api/accounts/%d/", id)

	for _, tc := range []struct {
		body   string
		want   []string
		fields []string
	}{
		{`{"permission_name": "ANALYSIS"}`, []string{"name: is required", "email: is required"},
			[]string{"name", "email"}},
		{`{"name": "Renamed", "permission_name": "ANALYSIS"}`, []string{"email: is required"},
			[]string{"email"}},
		{`{"name": null, "email": "devops@example.test"}`, []string{"name: is required"},
			[]string{"name"}},
		{`{"name": "", "email": " "}`, []string{"name: must not be empty", "email: must not be empty"},
			[]string{"name", "email"}},
		{`{"permission_name": "ROOT"}`,
			[]string{"name: is required", "email: is required", `unknown role "ROOT"`},
			[]string{"name", "email", "permission_name"}},
	} {
		srv.Unchanged(t, tc.body, func() {
			var answer struct {
				Error  string `json:"error"`
				Fields []struct {
					Field string `json:"field"`
				} `json:"fields"`
			}
			srv.Send(t, apitest.Request{Method: patch, Path: path, Token: srv.AdminToken, Body: tc.body}).
				Want(t, http.StatusBadRequest).JSON(t, &answer)
			for _, w := range tc.want {
				if !strings.Contains(answer.Error, w) {
					t.Errorf("%s: error %q, want it to contain %q", tc.body, answer.Error, w)
				}
			}
			var named []string
			for _, f := range answer.Fields {
				named = append(named, f.Field)
			}
			if !slices.Equal(named, tc.fields) {
				t.Errorf("%s: fields %v, want %v", tc.body, named, tc.fields)
			}
		})
	}

	srv.Do(t, patch, path, srv.AdminToken, map[string]any{"name": "Test DEVOPS",
		"email": "devops-required@example.test", "permission_name": "ANALYSIS"}).Want(t, http.StatusOK)
	me := srv.Do(t, get, "/backend/addoidcaccount/", token, nil).Want(t, http.StatusOK).Map(t)
	if got := me["user_permissions"].(map[string]any)["permission_name"]; got != "ANALYSIS" {
		t.Errorf("role after the change %v, want ANALYSIS", got)
	}
}

// TestAccountRoutesForbidBeforeNotFound answers a caller without the
// permission a 403 for an unknown account id as for a known one, on every
// route that changes an account, so that it cannot probe which ids exist.
func TestAccountRoutesForbidBeforeNotFound(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	_, token := srv.Account(t, "DEVOPS", srv.DefaultDepartment)
	other, _ := srv.Account(t, "DEVOPS", srv.DefaultDepartment)
	const unknown = 999

	for _, id := range []int64{other, unknown} {
		account := fmt.Sprintf("/backend/api/accounts/%d/", id)
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{post, tokenPath(id), nil},
			{del, tokenPath(id), nil},
			{del, tokenPath(id), map[string]any{"token_ids": []string{"nope"}}},
			{patch, account, map[string]any{"name": "Probe", "email": "probe@example.test"}},
			{patch, account, map[string]any{"name": "Probe", "email": "probe@example.test",
				"permission_name": "ANALYSIS"}},
			{del, account, nil},
		} {
			srv.Unchanged(t, fmt.Sprintf("%s %s", tc.method, tc.path), func() {
				r := srv.Do(t, tc.method, tc.path, token, tc.body)
				if r.Status != http.StatusForbidden {
					t.Errorf("%s %s %v: status %d (%v), want 403", tc.method, tc.path, tc.body,
						r.Status, r.Map(t)["error"])
				}
			})
		}
	}
}

// TestBootstrapEmailReserved refuses, appending nothing, an account
// created with or changed to the bootstrap administrator's address, in any
// case, saying that the address is reserved rather than taken.
func TestBootstrapEmailReserved(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	id, _ := srv.Account(t, "DEVOPS", srv.DefaultDepartment)
	const want = "email: this e-mail address is reserved for the bootstrap administrator"

	wantBadRequest(t, srv, patch, fmt.Sprintf("/backend/api/accounts/%d/", id),
		`{"name": "Ann", "email": "admin@localhost"}`, want)
	wantBadRequest(t, srv, post, "/backend/api/accounts/",
		`{"name": "X", "email": "Admin@LocalHost"}`, want)
	// The bootstrap administrator keeps its own address.
	srv.Do(t, patch, "/backend/api/accounts/1/", srv.AdminToken,
		map[string]any{"name": "Administrator", "email": "admin@localhost"}).Want(t, http.StatusOK)
}
