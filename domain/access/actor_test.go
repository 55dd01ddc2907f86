package access_test

import (
	"errors"
	"testing"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/role"
)

func TestActorChecks(t *testing.T) {
	t.Parallel()
	devops, err := access.Account(5, role.Devops, []int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	super, err := access.Account(1, role.Superuser, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"member", devops.RequireDepartment(1, 2), nil},
		{"not a member", devops.RequireDepartment(1, 3), domain.ErrForbidden},
		{"superuser everywhere", super.RequireDepartment(99), nil},
		{"service everywhere", access.Service().RequireDepartment(99), nil},
		{"flag granted", devops.Require("create_folder"), nil},
		{"flag missing", devops.Require("delete_feature"), domain.ErrForbidden},
		{"owner without flag", devops.RequireOrOwn("delete_feature", 5), nil},
		{"other owner", devops.RequireOrOwn("delete_feature", 6), domain.ErrForbidden},
		{"service owns nothing", access.Actor{}.RequireOrOwn("delete_feature", 0), domain.ErrForbidden},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) || (tt.want == nil && tt.err != nil) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if _, err := access.Account(1, "ROOT", nil); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("unknown role: got %v, want ErrInvalid", err)
	}
}
