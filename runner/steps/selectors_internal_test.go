package steps

import (
	"reflect"
	"testing"
)

func TestParseSelector(t *testing.T) {
	t.Parallel()
	all := func(v string) [][2]string {
		var out [][2]string
		for _, s := range []strategy{byCSS, byID, byLinkText, byXPath, byName, byTag, byClass} {
			out = append(out, [2]string{string(s), v})
		}
		return out
	}
	tests := []struct {
		in       string
		tries    [][2]string
		explicit bool
	}{
		{"#main .btn", [][2]string{{"css", "#main .btn"}, {"id", "main .btn"}}, false},
		{"#a:b", [][2]string{{"css", "#a:b"}, {"id", "a:b"}}, false},
		{".todo.done", [][2]string{{"css", ".todo.done"}, {"class", "todo.done"}}, false},
		{"//button[1]", [][2]string{{"xpath", "//button[1]"}}, true},
		{"(//li)[2]", [][2]string{{"xpath", "(//li)[2]"}}, true},
		{"css@@.foo", [][2]string{{"css", ".foo"}}, true},
		{"link_text@@Sign in", [][2]string{{"link_text", "Sign in"}}, true},
		{"NAME@@q", [][2]string{{"name", "q"}}, true},
		{"input[name=q]", all("input[name=q]"), false},
		{"unknown@@x", all("unknown@@x"), false},
		{"  Submit ", all("Submit"), false},
	}
	for _, tc := range tests {
		l := parseSelector(tc.in)
		if !reflect.DeepEqual(l.tries, tc.tries) || l.explicit != tc.explicit || l.raw != tc.in {
			t.Errorf("parseSelector(%q) = %+v", tc.in, l)
		}
	}
}

func TestSplitDocstring(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, sentence, doc string }{
		{"Press Enter", "Press Enter", ""},
		{"Send keys \"x\"\n'''\n  a\n    b\n'''", `Send keys "x"`, "a\n  b"},
		{"Send keys \"x\"\r\n\"\"\"\r\nunclosed", `Send keys "x"`, "unclosed"},
		{"Run Javascript function \"a;\nb;\"", "Run Javascript function \"a;\nb;\"", ""},
	}
	for _, tc := range tests {
		s, d := splitDocstring(tc.in)
		if s != tc.sentence || d != tc.doc {
			t.Errorf("splitDocstring(%q) = %q, %q", tc.in, s, d)
		}
	}
}
