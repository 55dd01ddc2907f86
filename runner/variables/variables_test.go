package variables_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cometa-es/cometa/runner/variables"
)

// reverser is a test Decrypter: "U2FsdGVkX1" + reversed plain text.
type reverser struct{}

func (reverser) Decrypt(c string) (string, error) {
	rest, ok := strings.CutPrefix(c, variables.DefaultEncryptedPrefix)
	if !ok || rest == "" {
		return "", errors.New("bad ciphertext " + c)
	}
	r := []rune(rest)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r), nil
}

func encrypt(plain string) string {
	r := []rune(plain)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return variables.DefaultEncryptedPrefix + string(r)
}

var fixedNow = time.Date(2024, 2, 28, 13, 4, 5, 123456000, time.UTC)

func newSet() *variables.Set {
	return variables.New([]variables.Variable{
		{Name: "user", Value: "dep-user", Scope: variables.ScopeDepartment},
		{Name: "user", Value: "env-user", Scope: variables.ScopeEnvironment},
		{Name: "username", Value: "alice", Scope: variables.ScopeDepartment},
		{Name: "host", Value: "feature-host", Scope: variables.ScopeFeature},
		{Name: "host", Value: "env-host", Scope: variables.ScopeEnvironment},
		{Name: "host", Value: "dep-host", Scope: variables.ScopeDepartment},
		{Name: "PASSWORD", Value: encrypt("s3cret!")},
		{Name: "TOKEN", Value: "plain-token", Encrypted: true},
		{Name: "year", Value: "2024"},
		{Name: "month", Value: "02"},
		{Name: "path", Value: `C:\new\u00e9`},
		{Name: "first", Value: "first wins", Scope: variables.ScopeFeature},
		{Name: "first", Value: "second loses", Scope: variables.ScopeFeature},
		{Name: "nested", Value: "$user"},
	}, map[string]string{"index": "3", "jobId": "7"}, variables.Options{
		Decrypter: reverser{},
		Now:       func() time.Time { return fixedNow },
	})
}

func TestExpand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		mode           variables.Mode
	}{
		{"plain text", "Buy milk", "Buy milk", variables.Strict},
		{"dollar", "$user", "env-user", variables.Strict},
		{"braces", "${user}", "env-user", variables.Strict},
		{"longest name wins", "$username and $user", "alice and env-user", variables.Strict},
		{"braces inside text", "x${user}y", "xenv-usery", variables.Strict},
		{"feature beats environment and department", "$host", "feature-host", variables.Strict},
		{"first of a scope wins", "$first", "first wins", variables.Strict},
		{"embedded", "item_$year-$month", "item_2024-02", variables.Strict},
		{"backslashes literal", "$path", `C:\new\u00e9`, variables.Strict},
		{"values are not rescanned", "$nested", "$user", variables.Strict},
		{"escaped dollar", "costs $$5 and $$user", "costs $5 and $user", variables.Strict},
		{"lone dollar", "costs $5 $", "costs $5 $", variables.Strict},
		{"encrypted variable", "pw=$PASSWORD", "pw=s3cret!", variables.Strict},
		{"job params", "row %index of %jobId", "row 3 of 7", variables.Strict},
		{"unknown percent kept", "100% %indexes %Y", "100% %indexes %Y", variables.Strict},
		{"lenient keeps unknown", "`${x}` $el.value $user", "`${x}` $el.value env-user", variables.Lenient},
		{"ciphertext parameter", encrypt("direct"), "direct", variables.Strict},
		{"date default", "#today", "2024-02-28", variables.Strict},
		{"date format", "#today;%d.%m.%Y", "28.02.2024", variables.Strict},
		{"date plus days", "#today;%d.%m.%Y;days=+2", "01.03.2024", variables.Strict},
		{"date minus weeks", "#today;%Y-%m-%d;weeks=-1", "2024-02-21", variables.Strict},
		{"date offset only", "#today;hours=+11", "2024-02-29", variables.Strict},
		{"date with time", "on #today;%Y-%m-%d %H:%M:%S.%f", "on 2024-02-28 13:04:05.123456", variables.Strict},
		{"date after substitution", "$year #today;%b %A %j", "2024 Feb Wednesday 059", variables.Strict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := newSet().Expand(tc.in, tc.mode)
			if err != nil {
				t.Fatalf("Expand(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestExpandErrors(t *testing.T) {
	t.Parallel()
	s := newSet()
	_, err := s.Expand("hello $missing", variables.Strict)
	var undef *variables.UndefinedError
	if !errors.As(err, &undef) || undef.Name != "missing" || !errors.Is(err, variables.ErrUndefined) {
		t.Fatalf("undefined: %v", err)
	}
	if !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("error does not name the variable: %v", err)
	}

	noKey := variables.New([]variables.Variable{{Name: "PW", Value: encrypt("x")}}, nil, variables.Options{})
	if _, err := noKey.Expand("$PW", variables.Strict); !errors.Is(err, variables.ErrDecrypt) {
		t.Fatalf("no decrypter: %v", err)
	}
	bad := variables.New([]variables.Variable{{Name: "PW", Value: variables.DefaultEncryptedPrefix}}, nil,
		variables.Options{Decrypter: reverser{}})
	_, err = bad.Expand("$PW", variables.Strict)
	if !errors.Is(err, variables.ErrDecrypt) || strings.Contains(err.Error(), variables.DefaultEncryptedPrefix) {
		t.Fatalf("bad ciphertext: %v", err)
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	s := newSet()
	// The plain secret TOKEN is known from the start; PASSWORD only once
	// it has been decrypted.
	if got := s.Mask("token plain-token"); got != "token [ENCRYPTED]" {
		t.Fatalf("Mask = %q", got)
	}
	if _, err := s.Expand("$PASSWORD", variables.Strict); err != nil {
		t.Fatal(err)
	}
	s.Set("otp", "123456", true)
	s.Set("visible", "hello", false)
	got := s.Mask("could not find s3cret! or 123456 near hello")
	if got != "could not find [ENCRYPTED] or [ENCRYPTED] near hello" {
		t.Fatalf("Mask = %q", got)
	}
	if !s.IsSecret("PASSWORD") || !s.IsSecret("otp") || s.IsSecret("visible") {
		t.Fatal("IsSecret wrong")
	}
}

func TestRuntimeOverridesAndParams(t *testing.T) {
	t.Parallel()
	s := newSet()
	s.Set("host", "runtime-host", false)
	s.SetParam("index", "9")
	got, err := s.Expand("$host %index", variables.Strict)
	if err != nil || got != "runtime-host 9" {
		t.Fatalf("Expand = %q, %v", got, err)
	}
	s.DeleteParam("index")
	if _, ok := s.Param("index"); ok {
		t.Fatal("index still set")
	}
	if v, ok, err := s.Lookup("PASSWORD"); !ok || err != nil || v != "s3cret!" {
		t.Fatalf("Lookup = %q %v %v", v, ok, err)
	}
}

func TestReferences(t *testing.T) {
	t.Parallel()
	got := variables.References(`Set value "$user ${PASSWORD} $user $$literal" on "#x"`)
	want := []string{"user", "PASSWORD"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("References = %v, want %v", got, want)
	}
}

func TestLiteral(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, prefix string
		whole        bool
	}{
		{"https://example.org/a?b=%20c", "https://example.org/a?b=%20c", true},
		{"price $$5 and $5", "price $5 and $5", true},
		{"${ not a name", "${ not a name", true},
		{"file:///$DATA/secret", "file:///", false},
		{"${HOST}/login", "", false},
		{"%index", "", false},
		{"item %index of 3", "item ", false},
		{"100%", "100%", true},
		{"on #today;%d", "on ", false},
		{encrypt("https://x"), "", false},
		{"", "", true},
	}
	for _, tc := range tests {
		prefix, whole := variables.Literal(tc.text)
		if prefix != tc.prefix || whole != tc.whole {
			t.Errorf("Literal(%q) = %q, %v, want %q, %v", tc.text, prefix, whole, tc.prefix, tc.whole)
		}
	}
	// Whatever Literal calls whole, Expand leaves as Literal says.
	s := newSet()
	for _, tc := range tests {
		if !tc.whole {
			continue
		}
		if got, err := s.Expand(tc.text, variables.Strict); err != nil || got != tc.prefix {
			t.Errorf("Expand(%q) = %q, %v; Literal said %q", tc.text, got, err, tc.prefix)
		}
	}
}
