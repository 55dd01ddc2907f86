package role_test

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
)

// rolesTSV is Cometa's default roles as shipped beside the project.
const rolesTSV = "testdata/roles.tsv" // a copy of shared/fixtures/cometa/roles.tsv

func TestDefaultsMatchCometaFixture(t *testing.T) {
	t.Parallel()
	f, err := os.Open(rolesTSV)
	if err != nil {
		t.Fatalf("the roles fixture must be beside the project: %v", err)
	}
	t.Cleanup(func() { f.Close() })

	defaults := map[string]role.Role{}
	for _, r := range role.Defaults() {
		defaults[r.Name] = r
	}
	var header []string
	rows := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if header == nil {
			header = cols
			continue
		}
		rows++
		r, ok := defaults[cols[0]]
		if !ok {
			t.Errorf("fixture role %s is not a default role", cols[0])
			continue
		}
		if power, _ := strconv.Atoi(cols[1]); power != r.Power {
			t.Errorf("%s: power %d, fixture %d", r.Name, r.Power, power)
		}
		inFixture := map[role.Flag]bool{}
		for i, name := range header[2:] {
			flag, ok := role.ParseFlag(name)
			if !ok {
				t.Errorf("fixture flag %q is not a flag", name)
				continue
			}
			inFixture[flag] = true
			if want := cols[i+2] == "1"; r.Has(flag) != want {
				t.Errorf("%s: %s is %v, fixture %v", r.Name, flag, r.Has(flag), want)
			}
		}
		for _, flag := range r.Granted() {
			if !inFixture[flag] {
				t.Errorf("%s grants %s, which the fixture does not list", r.Name, flag)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != len(defaults) {
		t.Errorf("fixture has %d roles, Defaults %d", rows, len(defaults))
	}
}

func TestFlagsAreTheFullModel(t *testing.T) {
	t.Parallel()
	flags := role.Flags()
	if len(flags) != 44 {
		t.Errorf("%d flags, Cometa's model has 44", len(flags))
	}
	seen := map[role.Flag]bool{}
	for _, f := range flags {
		if seen[f] {
			t.Errorf("flag %s listed twice", f)
		}
		seen[f] = true
	}
}

func TestViewAdminPanelIsDerived(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flags []role.Flag
		want  bool
	}{
		{nil, false},
		{[]role.Flag{role.ViewAdminPanel}, false},
		{[]role.Flag{role.ViewOthersPanel}, false},
		{[]role.Flag{role.ViewBrowsersPanel}, true},
		{[]role.Flag{role.ViewAccountsPanel, role.CreateFeature}, true},
	}
	for _, tt := range tests {
		r, err := role.New("X", 1, tt.flags...)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Has(role.ViewAdminPanel); got != tt.want {
			t.Errorf("flags %v: view_admin_panel %v, want %v", tt.flags, got, tt.want)
		}
	}
	if _, err := role.New("X", 1, "fly"); err == nil {
		t.Error("New accepted an unknown flag")
	}
}

func TestCanGrantByPower(t *testing.T) {
	t.Parallel()
	names := []string{role.Superuser, role.Manager, role.Devops, role.Anonymous, role.Analysis}
	for i, granter := range names {
		g, err := role.Lookup(granter)
		if err != nil {
			t.Fatal(err)
		}
		var assignable []string
		for _, r := range role.Assignable(g) {
			assignable = append(assignable, r.Name)
		}
		if diff := cmp.Diff(names[i:], assignable); diff != "" {
			t.Errorf("%s may assign (-want +got):\n%s", granter, diff)
		}
		for j, target := range names {
			tr, _ := role.Lookup(target)
			if got, want := role.CanGrant(g, tr), j >= i; got != want {
				t.Errorf("CanGrant(%s, %s) = %v, want %v", granter, target, got, want)
			}
		}
	}
}

func TestRequireAlternatives(t *testing.T) {
	t.Parallel()
	manager, _ := role.Lookup(role.Manager)
	tests := []struct {
		requirement string
		ok          bool
	}{
		{"edit_feature", true},
		{"delete_feature", false},
		{"view_accounts||view_accounts_panel", false},
		{"delete_feature||create_folder", true},
		{"create_folder || delete_feature", true},
		{"", false},
		{"no_such_flag", false},
	}
	for _, tt := range tests {
		err := manager.Require(tt.requirement)
		if tt.ok {
			if err != nil {
				t.Errorf("Require(%q): %v", tt.requirement, err)
			}
			continue
		}
		var pe *domain.PermissionError
		if !errors.As(err, &pe) || pe.Flags != tt.requirement || !errors.Is(err, domain.ErrForbidden) {
			t.Errorf("Require(%q): got %v, want a forbidden PermissionError for it", tt.requirement, err)
		}
	}
}

func TestLookupUnknownRole(t *testing.T) {
	t.Parallel()
	_, err := role.Lookup("ROOT")
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	if fields := domain.Fields(err); len(fields) != 1 || fields[0].Field != "permission_name" {
		t.Errorf("fields %v, want permission_name", fields)
	}
}
