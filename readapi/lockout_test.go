package readapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/readapi"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestLastSuperuserKept refuses, with a 409 and no event, each request by
// which the only SUPERUSER would lock everyone out; with a second
// SUPERUSER, demoting one of them is allowed.
func TestLastSuperuserKept(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	demote := map[string]any{"name": commands.BootstrapName, "email": commands.BootstrapEmail,
		"permission_name": "MANAGER", "departments": []int64{1}}
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"delete", "DELETE", "/backend/api/accounts/1/", nil},
		{"demote", "PATCH", "/backend/api/accounts/1/", demote},
		{"demote as user_role", "PATCH", "/backend/api/accounts/1/",
			map[string]any{"name": commands.BootstrapName, "email": commands.BootstrapEmail, "user_role": "DEVOPS"}},
		{"revoke tokens", "DELETE", "/backend/api/accounts/1/tokens/", nil},
	} {
		srv.Unchanged(t, tc.name, func() {
			body := srv.Do(t, tc.method, tc.path, srv.AdminToken, tc.body).Want(t, http.StatusConflict).Map(t)
			if msg, _ := body["error"].(string); !strings.Contains(msg, "last SUPERUSER") {
				t.Errorf("%s: error %q does not name the last SUPERUSER", tc.name, msg)
			}
		})
	}
	srv.Do(t, "GET", "/backend/api/accounts/", srv.AdminToken, nil).Want(t, http.StatusOK)

	second, token := srv.Account(t, "SUPERUSER", 1)
	srv.Do(t, "PATCH", "/backend/api/accounts/1/", srv.AdminToken, demote).Want(t, http.StatusOK)
	// Account 1 is a MANAGER now and second the last SUPERUSER.
	srv.Unchanged(t, "delete the other", func() {
		srv.Do(t, "DELETE", "/backend/api/accounts/"+strconv.FormatInt(second, 10)+"/", token, nil).Want(t, http.StatusConflict)
	})
}

// TestBootstrapRecovers locks everyone out behind the API's back (account 1
// deleted by an event appended here) and restarts the seeding with the
// same bootstrap token: it opens a new SUPERUSER admin@localhost whose
// token works, and a second restart changes nothing.
func TestBootstrapRecovers(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	events, _, err := srv.Log.Load(ctx, "account-1")
	if err != nil {
		t.Fatal(err)
	}
	meta := commands.Meta{Actor: "service:test", Now: time.Now()}
	res, err := srv.Log.Append(ctx, "account-1", eventstore.Exact(events[len(events)-1].Revision), meta,
		&eventschemas.AccountDeleted{AccountID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Manager.WaitFor(ctx, res.Position, "accounts"); err != nil {
		t.Fatal(err)
	}
	srv.Do(t, "GET", "/backend/api/accounts/", srv.AdminToken, nil).Want(t, http.StatusUnauthorized)

	if err := readapi.Prepare(ctx, srv.Deps, readapi.Seed{BootstrapToken: srv.AdminToken}); err != nil {
		t.Fatal(err)
	}
	var page struct {
		Results []struct {
			UserID         int64  `json:"user_id"`
			Email          string `json:"email"`
			PermissionName string `json:"permission_name"`
		} `json:"results"`
	}
	srv.Do(t, "GET", "/backend/api/accounts/", srv.AdminToken, nil).Want(t, http.StatusOK).JSON(t, &page)
	if len(page.Results) != 1 || page.Results[0].UserID == 1 ||
		page.Results[0].Email != commands.BootstrapEmail || page.Results[0].PermissionName != "SUPERUSER" {
		t.Errorf("accounts after the recovery %+v, want one new SUPERUSER %s", page.Results, commands.BootstrapEmail)
	}
	recovered, _, err := srv.Log.Load(ctx, "account-"+strconv.FormatInt(page.Results[0].UserID, 10))
	if err != nil || len(recovered) == 0 || recovered[0].Actor != commands.BootstrapActor {
		t.Errorf("the recovered account's events %+v (%v), want them by %s", recovered, err, commands.BootstrapActor)
	}

	srv.Unchanged(t, "a second restart", func() {
		if err := readapi.Prepare(ctx, srv.Deps, readapi.Seed{BootstrapToken: srv.AdminToken}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLastSuperuserWithToken counts only SUPERUSERs that can still act: with
// a second SUPERUSER whose tokens are revoked, the only SUPERUSER with a
// token may neither delete nor demote itself nor revoke its own tokens.
func TestLastSuperuserWithToken(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	second, _ := srv.Account(t, "SUPERUSER", 1)
	srv.Do(t, "DELETE", "/backend/api/accounts/"+strconv.FormatInt(second, 10)+"/tokens/", srv.AdminToken, nil).
		Want(t, http.StatusOK)
	demote := map[string]any{"name": commands.BootstrapName, "email": commands.BootstrapEmail,
		"permission_name": "MANAGER", "departments": []int64{1}}
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"demote", "PATCH", "/backend/api/accounts/1/", demote},
		{"revoke tokens", "DELETE", "/backend/api/accounts/1/tokens/", nil},
		{"delete", "DELETE", "/backend/api/accounts/1/", nil},
	} {
		srv.Unchanged(t, tc.name, func() {
			body := srv.Do(t, tc.method, tc.path, srv.AdminToken, tc.body).Want(t, http.StatusConflict).Map(t)
			if msg, _ := body["error"].(string); !strings.Contains(msg, "last SUPERUSER") {
				t.Errorf("%s: error %q does not name the last SUPERUSER", tc.name, msg)
			}
		})
	}
	srv.Do(t, "GET", "/backend/api/accounts/", srv.AdminToken, nil).Want(t, http.StatusOK)
}

// TestLastSuperuserNamedToken applies the last SUPERUSER's guard to a
// revocation by token id: revoking the only SUPERUSER's last live token is a
// 409, revoking one while another stays live is allowed, and a token id the
// account does not hold is its 404 rather than the guard's 409.
func TestLastSuperuserNamedToken(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	const path = "/backend/api/accounts/1/tokens/"
	wantKept := func(what, token string, ids ...string) {
		t.Helper()
		srv.Unchanged(t, what, func() {
			body := srv.Do(t, "DELETE", path, token, map[string]any{"token_ids": ids}).
				Want(t, http.StatusConflict).Map(t)
			if msg, _ := body["error"].(string); !strings.Contains(msg, "last SUPERUSER") {
				t.Errorf("%s: error %q does not name the last SUPERUSER", what, msg)
			}
		})
	}
	wantKept("revoking the only token", srv.AdminToken, "bootstrap")

	var issued struct {
		TokenID string `json:"token_id"`
		Token   string `json:"token"`
	}
	srv.Do(t, "POST", path, srv.AdminToken, nil).Want(t, http.StatusCreated).JSON(t, &issued)
	wantKept("revoking both tokens", srv.AdminToken, "bootstrap", issued.TokenID)
	srv.Do(t, "DELETE", path, srv.AdminToken, map[string]any{"token_ids": []string{"bootstrap"}}).
		Want(t, http.StatusOK)
	srv.Do(t, "GET", "/backend/api/accounts/", srv.AdminToken, nil).Want(t, http.StatusUnauthorized)

	wantKept("revoking the last token left", issued.Token, issued.TokenID)
	srv.Unchanged(t, "revoking the revoked token", func() {
		srv.Do(t, "DELETE", path, issued.Token, map[string]any{"token_ids": []string{"bootstrap"}}).
			Want(t, http.StatusNotFound)
	})
	srv.Do(t, "GET", "/backend/api/accounts/", issued.Token, nil).Want(t, http.StatusOK)
}

// TestLastSuperuserBadRole answers a request that names an unknown role
// with its 400, not with the last SUPERUSER's 409.
func TestLastSuperuserBadRole(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	srv.Unchanged(t, "an unknown role", func() {
		resp := srv.Do(t, "PATCH", "/backend/api/accounts/1/", srv.AdminToken,
			map[string]any{"permission_name": "BOGUS"}).Want(t, http.StatusBadRequest)
		if body := string(resp.Body); !strings.Contains(body, `unknown role \"BOGUS\"`) {
			t.Errorf("answer %s does not name the unknown role", body)
		}
	})
}

// TestBootstrapEmailReservedAPI refuses with a 400 on email an account
// created with admin@localhost or changed to it, also once the account
// that had it is deleted; account 1 keeps the address through an edit.
func TestBootstrapEmailReservedAPI(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	manager, token := srv.Account(t, "MANAGER", 1)
	_, second := srv.Account(t, "SUPERUSER", 1)
	srv.Do(t, "PATCH", "/backend/api/accounts/1/", srv.AdminToken,
		map[string]any{"name": "Renamed", "email": " ADMIN@localhost"}).Want(t, http.StatusOK)
	srv.Do(t, "DELETE", "/backend/api/accounts/1/", srv.AdminToken, nil).Want(t, http.StatusOK)

	// admin@localhost is free now that account 1 is deleted, and still
	// reserved.
	wantReserved := func(resp *apitest.Response) {
		t.Helper()
		resp.Want(t, http.StatusBadRequest)
		if body := string(resp.Body); !strings.Contains(body, "email") ||
			!strings.Contains(body, "reserved for the bootstrap administrator") {
			t.Errorf("answer %s does not name email as reserved", body)
		}
	}
	srv.Unchanged(t, "changing to the address", func() {
		wantReserved(srv.Do(t, "PATCH", "/backend/api/accounts/"+strconv.FormatInt(manager, 10)+"/", token,
			map[string]any{"name": "Manager", "email": "Admin@Localhost"}))
	})
	srv.Unchanged(t, "creating with the address", func() {
		wantReserved(srv.Do(t, "POST", "/backend/api/accounts/", second, map[string]any{
			"name": "Someone", "email": "admin@localhost ", "permission_name": "MANAGER", "departments": []int64{1},
		}))
	})
}
