package slug_test

import (
	"testing"

	"github.com/cometa-es/cometa/domain/slug"
)

func TestMake(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Default", "Default"},
		{"Any text", "Any-text"},
		{"  Qualität & Test  ", "Qualitat-Test"},
		{"Search on two engines!", "Search-on-two-engines"},
		{"it's_mine", "its_mine"},
		{"Привет мир", "Privet-mir"},
		{"---", ""},
		{"a--b..c", "a-b-c"},
	}
	for _, tt := range tests {
		if got := slug.Make(tt.in); got != tt.want {
			t.Errorf("Make(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
