// Package domain holds what the aggregates below it share: the error
// categories that the API maps to HTTP statuses, the typed errors that
// carry details, and the fold of a stream's history into a state.
//
// The aggregates themselves (account, department, catalog, feature, folder,
// variable) are pure: no clock, no id generation, no I/O. Ids, names of
// referenced objects and the acting account come in with each command.
package domain

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The error categories of a refused command. Every error a Decide returns
// matches exactly one of them with errors.Is.
var (
	// ErrInvalid: the command's input is wrong (HTTP 400). The error names
	// the fields through one or more *FieldError.
	ErrInvalid = errors.New("invalid input")
	// ErrForbidden: the actor may not do this (HTTP 403). A missing
	// permission flag is a *PermissionError.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the object does not exist or was deleted (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the object is not in the state the command expects,
	// for example it already exists or another version was saved first
	// (HTTP 409).
	ErrConflict = errors.New("conflict")
)

// FieldError is an invalid value of one input field. It matches ErrInvalid.
type FieldError struct {
	// Field is the JSON name of the field, e.g. "feature_name" or
	// "step_content".
	Field string
	// Step is the 1-based position of the step the field belongs to, or 0.
	Step int
	// Err is the reason; it may wrap an error of another package (the step
	// catalogue's, for example).
	Err error
}

// Error reads "step 3: step_content: <reason>" or "name: <reason>".
func (e *FieldError) Error() string {
	if e.Step > 0 {
		return fmt.Sprintf("step %d: %s: %v", e.Step, e.Field, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Field, e.Err)
}

// Unwrap returns the reason.
func (e *FieldError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a *FieldError for field with a formatted reason.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// InvalidStep returns a *FieldError for a field of the step at the 1-based
// position step.
func InvalidStep(step int, field string, err error) error {
	return &FieldError{Field: field, Step: step, Err: err}
}

// Fields returns every *FieldError in err's tree (through errors.Join and
// %w wrapping), in order, so an API can name all invalid fields at once.
func Fields(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// PermissionError is a missing permission flag. It matches ErrForbidden.
type PermissionError struct {
	// Flags is the requirement as Cometa writes it: one flag or
	// alternatives joined by "||", e.g. "view_accounts||view_accounts_panel".
	Flags string
}

// Error reads "missing permission 'edit_feature'".
func (e *PermissionError) Error() string {
	return "missing permission '" + e.Flags + "'"
}

// Is makes errors.Is(err, ErrForbidden) true.
func (e *PermissionError) Is(target error) bool { return target == ErrForbidden }

// Forbidden returns an ErrForbidden error with a formatted reason.
func Forbidden(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrForbidden)
}

// NotFound returns an ErrNotFound error naming the object, e.g.
// "feature 12: not found".
func NotFound(kind string, id int64) error {
	return fmt.Errorf("%s %d: %w", kind, id, ErrNotFound)
}

// Conflict returns an ErrConflict error with a formatted reason.
func Conflict(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrConflict)
}

// Category names the category of err ("invalid", "forbidden", "not_found",
// "conflict") or returns "" for an error of none of them. It is meant for
// metrics and logs; code should test with errors.Is.
func Category(err error) string {
	for _, c := range []struct {
		name string
		err  error
	}{
		{"invalid", ErrInvalid}, {"forbidden", ErrForbidden},
		{"not_found", ErrNotFound}, {"conflict", ErrConflict},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return ""
}

// RequireText returns s without surrounding white space, or a *FieldError
// for field when no visible character remains (only white space, control
// characters, or characters drawn as nothing: see isVisible), the rest is
// longer than max runes, or it holds a control character (names are one
// line of text).
func RequireText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case !strings.ContainsFunc(s, isVisible):
		return "", Invalid(field, "must not be empty")
	case len([]rune(s)) > max:
		return "", Invalid(field, "longer than %d characters", max)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", Invalid(field, "must not contain control characters")
	case !utf8.ValidString(s):
		return "", Invalid(field, "must be valid UTF-8")
	}
	return s, nil
}

// blank are the characters that are drawn as an empty cell although they
// are letters or symbols: the Hangul fillers and the blank braille pattern.
var blank = &unicode.RangeTable{R16: []unicode.Range16{
	{Lo: 0x115f, Hi: 0x1160, Stride: 1},
	{Lo: 0x2800, Hi: 0x2800, Stride: 1},
	{Lo: 0x3164, Hi: 0x3164, Stride: 1},
	{Lo: 0xffa0, Hi: 0xffa0, Stride: 1},
}}

// isVisible reports whether r shows as something: it is not white space, a
// control character, a default-ignorable code point (format characters
// such as zero-width spaces, joiners and direction marks; variation
// selectors; the combining grapheme joiner; Khmer inherent vowels) or one
// of the blank fillers.
func isVisible(r rune) bool {
	return !unicode.IsSpace(r) && !unicode.IsControl(r) && !hidden(r)
}

// hidden reports whether r is drawn as nothing although it is neither white
// space nor a control character: a format character, a default-ignorable
// code point, a variation selector or a blank filler (see isVisible).
func hidden(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point,
		unicode.Variation_Selector, blank)
}

// NameKey is the form in which unique names (of departments, applications,
// accounts' e-mail addresses) are compared: the characters drawn as
// nothing (see hidden) removed, surrounding white space trimmed and case
// folded, so that "Default", "default ", "Default\u200b" and "Def\u00adault"
// are one name. A name without such characters keys as
// strings.ToLower(strings.TrimSpace(name)), as before they were removed.
func NameKey(name string) string {
	return strings.ToLower(ExactNameKey(name))
}

// ExactNameKey is NameKey without the case folding, for the names compared
// with their case (variable names).
func ExactNameKey(name string) string {
	if strings.ContainsFunc(name, hidden) {
		name = strings.Map(func(r rune) rune {
			if hidden(r) {
				return -1
			}
			return r
		}, name)
	}
	return strings.TrimSpace(name)
}

// AllVisible reports whether every character of s shows as something: s
// holds no white space, control character or character drawn as nothing.
func AllVisible(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return !isVisible(r) })
}

// CheckFreeText returns a *FieldError for field when s, a text that may
// span lines, is not valid UTF-8 or holds a NUL character (which
// PostgreSQL cannot store).
func CheckFreeText(field, s string) error {
	switch {
	case !utf8.ValidString(s):
		return Invalid(field, "must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return Invalid(field, "must not contain NUL characters")
	}
	return nil
}
