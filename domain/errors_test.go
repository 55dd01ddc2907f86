package domain_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/domain"
)

func TestCategories(t *testing.T) {
	t.Parallel()
	catalogueErr := errors.New(`unknown step, closest is "Goto URL {url}"`)
	tests := []struct {
		err      error
		category string
		message  string
	}{
		{domain.Invalid("name", "must not be empty"), "invalid", "name: must not be empty"},
		{domain.InvalidStep(3, "step_content", catalogueErr), "invalid",
			`step 3: step_content: unknown step, closest is "Goto URL {url}"`},
		{&domain.PermissionError{Flags: "a||b"}, "forbidden", "missing permission 'a||b'"},
		{domain.Forbidden("not a member of department %d", 2), "forbidden",
			"not a member of department 2: forbidden"},
		{domain.NotFound("feature", 12), "not_found", "feature 12: not found"},
		{domain.Conflict("feature %d exists", 12), "conflict", "feature 12 exists: conflict"},
		{fmt.Errorf("save feature 12: %w", domain.NotFound("feature", 12)), "not_found",
			"save feature 12: feature 12: not found"},
		{errors.New("disk on fire"), "", "disk on fire"},
	}
	for _, tt := range tests {
		if got := domain.Category(tt.err); got != tt.category {
			t.Errorf("Category(%v) = %q, want %q", tt.err, got, tt.category)
		}
		if got := tt.err.Error(); got != tt.message {
			t.Errorf("message %q, want %q", got, tt.message)
		}
	}
	if !errors.Is(domain.InvalidStep(1, "step_content", catalogueErr), catalogueErr) {
		t.Error("a step error does not unwrap to the catalogue's error")
	}
}

func TestFieldsFindsEveryFieldError(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("create feature: %w", errors.Join(
		domain.Invalid("feature_name", "must not be empty"),
		errors.Join(domain.InvalidStep(2, "timeout", errors.New("negative"))),
		errors.New("not a field"),
		domain.Invalid("app_id", "required"),
	))
	var got []string
	for _, fe := range domain.Fields(err) {
		got = append(got, fmt.Sprintf("%d:%s", fe.Step, fe.Field))
	}
	if diff := cmp.Diff([]string{"0:feature_name", "2:timeout", "0:app_id"}, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if !errors.Is(err, domain.ErrInvalid) {
		t.Error("joined field errors are not ErrInvalid")
	}
}

func TestTextChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"  Zoë  ", "Zoë", true},
		{"", "", false},
		{"a\nb", "", false},
		{"a\x00b", "", false},
		{"\xff", "", false},
		{"abcdef", "", false},
		{"a\u200db", "a\u200db", true},
		{"a\u17b4", "a\u17b4", true},
		{"\ufe0f\u2764", "\ufe0f\u2764", true},
	}
	for _, tt := range tests {
		got, err := domain.RequireText("name", tt.in, 5)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("RequireText(%q) = %q, %v", tt.in, got, err)
		}
	}
	// A name with nothing to see is as empty as one of spaces.
	for _, in := range []string{"   ", "\u200b", " \u200d\u2060\ufeff\u200e ", "\x07", "\u00ad\t",
		"\u3164", "\u034f", "\u115f", "\u1160", "\uffa0", "\ufe00", "\ufe0f", "\u2800", "\u17b4",
		"\U000e0100", " \u3164\u2800 "} {
		if _, err := domain.RequireText("name", in, 5); err == nil || !strings.Contains(err.Error(), "must not be empty") {
			t.Errorf("RequireText(%q) = %v, want must not be empty", in, err)
		}
	}
	for in, ok := range map[string]bool{"line\nline": true, "nul\x00": false, "\xff": false} {
		if err := domain.CheckFreeText("description", in); (err == nil) != ok {
			t.Errorf("CheckFreeText(%q) = %v", in, err)
		}
	}
}

func TestRequireJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		array    bool
		ok       bool
	}{
		{"", "{}", false, true},
		{` { "a" : 1 } `, `{"a":1}`, false, true},
		{`[1]`, "", false, false},
		{`{"a":`, "", false, false},
		{`{"a":"\u0000"}`, "", false, false},
		{`{"a":"\\u0000"}`, `{"a":"\\u0000"}`, false, true},
		{"", "[]", true, true},
		{`[ {"b": true} ]`, `[{"b":true}]`, true, true},
		{`{}`, "", true, false},
	}
	for _, tt := range tests {
		check := domain.RequireObject
		if tt.array {
			check = domain.RequireArray
		}
		got, err := check("f", json.RawMessage(tt.in))
		if (err == nil) != tt.ok || string(got) != tt.want {
			t.Errorf("check(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestNameKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, key, exact string }{
		{"Default", "default", "Default"},
		{" Default Team ", "default team", "Default Team"},
		{"Default\u200b", "default", "Default"},
		{"Def\u00adault", "default", "Default"},
		{"Default\u3164", "default", "Default"},
		{"\ufeffDe\u2060fault\ufe0f \u200d", "default", "Default"},
		{"Default\u115f\u1160\u2800\uffa0", "default", "Default"},
		{"par1\u200b", "par1", "par1"},
		{"Ünïcode", "ünïcode", "Ünïcode"},
	}
	for _, tt := range tests {
		if got := domain.NameKey(tt.name); got != tt.key {
			t.Errorf("NameKey(%q) = %q, want %q", tt.name, got, tt.key)
		}
		if got := domain.ExactNameKey(tt.name); got != tt.exact {
			t.Errorf("ExactNameKey(%q) = %q, want %q", tt.name, got, tt.exact)
		}
	}
}

func TestAllVisible(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"admin@localhost": true, "admin@localhost\u200b": false, "admin @localhost": false,
		"admin@localhost\u00a0": false, "admin@local\x7fhost": false, "ädmin@localhost": true,
	} {
		if got := domain.AllVisible(s); got != want {
			t.Errorf("AllVisible(%q) = %v, want %v", s, got, want)
		}
	}
}
