// Package decidetest runs the table tests every aggregate has: given a
// history, when a command, then these events or this error.
package decidetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/eventschemas"
)

// Aggregate is a state that decides commands of type C and evolves by
// events.
type Aggregate[S any, C any] interface {
	domain.Evolver[S]
	Decide(C) ([]eventschemas.Payload, error)
}

// Case is one row of a decide table.
type Case[C any] struct {
	Name  string
	Given []eventschemas.Payload
	When  C
	// Then are the expected events; nil with Err nil means "no change".
	Then []eventschemas.Payload
	// Err is the expected error category (domain.ErrInvalid, ...), or nil.
	Err error
	// Fields are the expected invalid fields, as "field" or "3:field" for a
	// field of the step at position 3; checked only when not nil.
	Fields []string
	// Message, when not empty, must be contained in the error's text.
	Message string
}

// Run folds each case's history from zero, decides its command and checks
// the outcome. A command that succeeds must also evolve the state without
// changing the given history's meaning: its events are folded to catch
// Evolve panics.
func Run[S Aggregate[S, C], C any](t *testing.T, zero S, cases []Case[C]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			state := domain.Fold(zero, tc.Given)
			got, err := state.Decide(tc.When)
			if tc.Err == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if diff := cmp.Diff(tc.Then, got, cmp.Comparer(jsonEqual)); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				domain.Fold(state, got)
				return
			}
			if !errors.Is(err, tc.Err) {
				t.Fatalf("error %v, want category %v", err, tc.Err)
			}
			if len(got) != 0 {
				t.Errorf("refused command returned events %v", got)
			}
			if tc.Fields != nil {
				var fields []string
				for _, fe := range domain.Fields(err) {
					if fe.Step > 0 {
						fields = append(fields, fmt.Sprintf("%d:%s", fe.Step, fe.Field))
					} else {
						fields = append(fields, fe.Field)
					}
				}
				if diff := cmp.Diff(tc.Fields, fields); diff != "" {
					t.Errorf("invalid fields of %v (-want +got):\n%s", err, diff)
				}
			}
			if tc.Message != "" && !strings.Contains(err.Error(), tc.Message) {
				t.Errorf("error %q does not say %q", err, tc.Message)
			}
		})
	}
}

// jsonEqual compares embedded JSON by content, ignoring layout.
func jsonEqual(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// Account returns the actor of account id with the named default role and
// departments. It panics on an unknown role: tables are written by hand.
func Account(id int64, roleName string, departments ...int64) access.Actor {
	a, err := access.Account(id, roleName, departments)
	if err != nil {
		panic(err)
	}
	return a
}
