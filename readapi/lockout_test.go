package readapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/commands"
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
