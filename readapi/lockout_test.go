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
