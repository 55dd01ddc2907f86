// Package variables resolves the variables of one run: it merges the
// department, environment and feature scopes, substitutes $NAME, ${NAME},
// %param and dynamic dates in step parameters, decrypts ciphertext through
// a caller-provided Decrypter, and masks every secret it has seen.
//
// It is the only place where an encrypted variable is turned into plain
// text; callers show step parameters only through Mask.
package variables

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Scope is where a variable is defined. A run sees one value per name, with
// precedence feature > environment > department; values set while the run
// executes (runtime variables, saved environment variables) override all.
type Scope string

// The scopes, in increasing precedence.
const (
	ScopeDepartment  Scope = "department"
	ScopeEnvironment Scope = "environment"
	ScopeFeature     Scope = "feature"
)

// DefaultEncryptedPrefix marks ciphertext: base64 of OpenSSL's "Salted__"
// header, which every value encrypted by Cometa starts with.
const DefaultEncryptedPrefix = "U2FsdGVkX1"

// Mask replaces secrets in anything this package's callers show.
const Mask = "[ENCRYPTED]"

// Errors of this package; test with errors.Is.
var (
	// ErrUndefined: a parameter names a variable the run does not have.
	ErrUndefined = errors.New("variable not defined")
	// ErrDecrypt: a ciphertext could not be decrypted.
	ErrDecrypt = errors.New("cannot decrypt value")
)

// UndefinedError names the missing variable.
type UndefinedError struct{ Name string }

func (e *UndefinedError) Error() string {
	return fmt.Sprintf("variable %q is not defined", e.Name)
}

// Is makes errors.Is(err, ErrUndefined) true.
func (e *UndefinedError) Is(target error) bool { return target == ErrUndefined }

// Variable is one variable as the run receives it.
type Variable struct {
	Name  string
	Value string
	// Scope decides precedence; variables already merged by the caller may
	// leave it empty (treated as the lowest scope).
	Scope Scope
	// Encrypted marks the value as secret. A value starting with the
	// encrypted prefix is ciphertext and secret whatever this says.
	Encrypted bool
}

// Decrypter turns ciphertext into plain text. The runner's composition root
// provides the implementation; this package never sees the passphrase.
type Decrypter interface {
	Decrypt(ciphertext string) (string, error)
}

// Options configure a Set.
type Options struct {
	// Decrypter decrypts ciphertext values; without one, using an encrypted
	// variable is an error.
	Decrypter Decrypter
	// EncryptedPrefix marks ciphertext; DefaultEncryptedPrefix when empty.
	EncryptedPrefix string
	// Now is the clock of dynamic dates; time.Now when nil.
	Now func() time.Time
}

// Set is the variables and job parameters of one run. It is safe for
// concurrent use.
type Set struct {
	opts Options

	mu      sync.Mutex
	vars    map[string]entry
	params  map[string]string
	secrets map[string]struct{}
}

type entry struct {
	value  string
	scope  int
	secret bool // Encrypted flag or ciphertext
	plain  bool // value is already plain text (decrypted or never encrypted)
}

// scopeRank orders scopes; runtime values (rank 4) beat everything.
func scopeRank(s Scope) int {
	switch s {
	case ScopeDepartment:
		return 1
	case ScopeEnvironment:
		return 2
	case ScopeFeature:
		return 3
	default:
		return 0
	}
}

const runtimeRank = 4

// New returns the Set of a run. For a name defined in several scopes the
// highest scope wins; within one scope the first definition wins. params
// are the job parameters (%name), e.g. from a schedule.
func New(vars []Variable, params map[string]string, opts Options) *Set {
	if opts.EncryptedPrefix == "" {
		opts.EncryptedPrefix = DefaultEncryptedPrefix
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Set{
		opts:    opts,
		vars:    make(map[string]entry, len(vars)),
		params:  make(map[string]string, len(params)),
		secrets: map[string]struct{}{},
	}
	for _, v := range vars {
		rank := scopeRank(v.Scope)
		if old, ok := s.vars[v.Name]; ok && old.scope >= rank {
			continue
		}
		cipher := strings.HasPrefix(v.Value, opts.EncryptedPrefix)
		e := entry{value: v.Value, scope: rank, secret: v.Encrypted || cipher, plain: !cipher}
		s.vars[v.Name] = e
		if e.secret && e.plain {
			s.addSecret(v.Value)
		}
	}
	for k, v := range params {
		s.params[k] = v
	}
	return s
}

// Set defines or replaces a variable for the rest of the run (a runtime
// variable, or an environment variable just saved). secret values are
// masked from then on.
func (s *Set) Set(name, value string, secret bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vars[name] = entry{value: value, scope: runtimeRank, secret: secret, plain: true}
	if secret {
		s.addSecret(value)
	}
}

// Lookup returns the plain value of a variable, decrypting it if needed.
func (s *Set) Lookup(name string) (value string, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookup(name)
}

func (s *Set) lookup(name string) (string, bool, error) {
	e, ok := s.vars[name]
	if !ok {
		return "", false, nil
	}
	if !e.plain {
		plain, err := s.decrypt(e.value)
		if err != nil {
			return "", true, fmt.Errorf("variable %q: %w", name, err)
		}
		e.value, e.plain = plain, true
		s.vars[name] = e
	}
	return e.value, true, nil
}

// IsSecret reports whether the variable's value is masked.
func (s *Set) IsSecret(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vars[name].secret
}

// SetParam defines a job parameter (%name), e.g. index in a loop or
// js_return after a JavaScript step.
func (s *Set) SetParam(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params[name] = value
}

// DeleteParam removes a job parameter.
func (s *Set) DeleteParam(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.params, name)
}

// Param returns a job parameter.
func (s *Set) Param(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.params[name]
	return v, ok
}

// decrypt must be called with s.mu held.
func (s *Set) decrypt(cipher string) (string, error) {
	if s.opts.Decrypter == nil {
		return "", fmt.Errorf("%w: no decrypter configured", ErrDecrypt)
	}
	plain, err := s.opts.Decrypter.Decrypt(cipher)
	if err != nil {
		// The decrypter's message could quote the ciphertext or worse; keep
		// only the category.
		return "", fmt.Errorf("%w: the value is not valid ciphertext for this installation", ErrDecrypt)
	}
	s.addSecret(plain)
	return plain, nil
}

// addSecret must be called with s.mu held.
func (s *Set) addSecret(v string) {
	if v != "" {
		s.secrets[v] = struct{}{}
	}
}

// Mask replaces every secret value this Set has seen (decrypted values,
// encrypted variables, secrets set at run time) with Mask.
func (s *Set) Mask(text string) string {
	s.mu.Lock()
	secrets := make([]string, 0, len(s.secrets))
	for v := range s.secrets {
		secrets = append(secrets, v)
	}
	s.mu.Unlock()
	return maskAll(text, secrets)
}

// maskAll replaces the longest secrets first, so that a secret contained
// in another does not leave part of the longer one visible.
func maskAll(text string, secrets []string) string {
	if len(secrets) == 0 || text == "" {
		return text
	}
	sortByLengthDesc(secrets)
	for _, v := range secrets {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Mask)
		}
	}
	return text
}

func sortByLengthDesc(list []string) {
	slices.SortFunc(list, func(a, b string) int { return len(b) - len(a) })
}
