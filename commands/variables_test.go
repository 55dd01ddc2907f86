package commands_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/internal/cryptojs"
	"github.com/cometa-es/cometa/projections"
)

func TestVariableEncryptedOnlyAsCiphertext(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3)
	const secret = "pässwörd ✓ 12345"

	id, res, err := w.variables.Create(ctx, meta(), author, commands.VariableInput{DepartmentID: 3,
		EnvironmentID: 2, Name: "password", Encrypted: true, Value: secret})
	if err != nil {
		t.Fatal(err)
	}
	w.sync(res)

	events, err := w.h.Store.ReadAll(ctx, eventstore.Position{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if strings.Contains(string(ev.Data), "pässwörd") {
			t.Errorf("event %s %s holds the plain value", ev.Stream, ev.Type)
		}
	}
	v, ok, err := w.varR.Get(ctx, id)
	if err != nil || !ok || !v.Encrypted {
		t.Fatalf("variable %d: %+v %v %v", id, v, ok, err)
	}
	plain, err := cryptojs.Decrypt(passphrase, v.VariableValue)
	if err != nil || plain != secret {
		t.Errorf("stored value decrypts to %q, %v", plain, err)
	}

	// An update that keeps the value keeps the same ciphertext.
	_, changed, err := w.variables.Update(ctx, meta(), author, id,
		func(in commands.VariableInput) (commands.VariableInput, error) { return in, nil })
	if err != nil || changed {
		t.Errorf("unchanged update: changed %v, %v", changed, err)
	}

	// The plain text is checked before it is encrypted, as it would be
	// unencrypted.
	for _, bad := range []string{"a\x00b", "a\xffb"} {
		_, _, err := w.variables.Create(ctx, meta(), author, commands.VariableInput{DepartmentID: 3,
			EnvironmentID: 2, Name: "z6", Encrypted: true, Value: bad})
		if fields := domain.Fields(err); len(fields) != 1 || fields[0].Field != "variable_value" {
			t.Errorf("encrypted value %q: %v, want a variable_value error", bad, err)
		}
	}
}

func TestVariableRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3)
	outsider := actor(t, 6, role.Devops, 4)
	admin := actor(t, 1, role.Superuser)
	in := commands.VariableInput{DepartmentID: 3, EnvironmentID: 2, Name: "host", Value: "https://a"}
	id, res, err := w.variables.Create(ctx, meta(), author, in)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(res)

	// Put with the same name replaces the value.
	in.Value = "https://b"
	again, res, created, err := w.variables.Put(ctx, meta(), author, in)
	if err != nil || created || again != id {
		t.Fatalf("put = %d created %v, %v; want %d replaced", again, created, err, id)
	}
	w.sync(res)
	if v, _, _ := w.varR.Get(ctx, id); v.VariableValue != "https://b" {
		t.Errorf("value after put: %q", v.VariableValue)
	}

	cases := []struct {
		name   string
		run    func() error
		err    error
		fields []string
	}{
		{"duplicate name", func() error {
			_, _, err := w.variables.Create(ctx, meta(), author, in)
			return err
		}, domain.ErrInvalid, []string{"variable_name"}},
		{"unknown environment and department", func() error {
			_, _, err := w.variables.Create(ctx, meta(), admin, commands.VariableInput{DepartmentID: 9,
				EnvironmentID: 8, Name: "x"})
			return err
		}, domain.ErrInvalid, []string{"department", "environment"}},
		{"unknown feature", func() error {
			_, _, err := w.variables.Create(ctx, meta(), author, commands.VariableInput{DepartmentID: 3,
				EnvironmentID: 2, FeatureID: 77, Name: "x"})
			return err
		}, domain.ErrInvalid, []string{"feature"}},
		{"other department is not found", func() error {
			_, _, err := w.variables.Update(ctx, meta(), outsider, id,
				func(in commands.VariableInput) (commands.VariableInput, error) { return in, nil })
			return err
		}, domain.ErrNotFound, nil},
		{"delete needs delete_variable", func() error {
			_, err := w.variables.Delete(ctx, meta(), author, id)
			return err
		}, domain.ErrForbidden, nil},
		{"create in a department of none's", func() error {
			_, _, err := w.variables.Create(ctx, meta(), author, commands.VariableInput{DepartmentID: 4,
				EnvironmentID: 2, Name: "y"})
			return err
		}, domain.ErrForbidden, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _, _ := w.h.Store.Head(ctx)
			err := tc.run()
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			var got []string
			for _, f := range domain.Fields(err) {
				got = append(got, f.Field)
			}
			if tc.fields != nil && strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("fields %v, want %v", got, tc.fields)
			}
			if after, _, _ := w.h.Store.Head(ctx); after != before {
				t.Error("a refused command appended events")
			}
		})
	}

	res, err = w.variables.Delete(ctx, meta(), admin, id)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(res)
	if _, ok, _ := w.varR.Get(ctx, id); ok {
		t.Error("deleted variable still listed")
	}
}

// TestVariablePutConcurrent sets one new name from 8 Puts at once, in a
// few rounds: every Put succeeds (the losers of the race to create the
// name replace the winner's value), and one variable carries the name,
// with one of the values sent.
func TestVariablePutConcurrent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Devops, 3)
	const puts = 8
	for round := range 4 {
		name := "RACE_" + itoa(int64(round))
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			ids     [puts]int64
			created [puts]bool
			errs    [puts]error
			last    [puts]eventstore.AppendResult
		)
		for i := range puts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ids[i], last[i], created[i], errs[i] = w.variables.Put(ctx, meta(), author, commands.VariableInput{
					DepartmentID: 3, EnvironmentID: 2, Name: name, Value: "value " + itoa(int64(i))})
			}()
		}
		close(start)
		wg.Wait()

		values := map[string]bool{}
		news := 0
		for i := range puts {
			if errs[i] != nil {
				t.Fatalf("round %d, put %d: %v", round, i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Errorf("round %d: puts set variables %v, want one", round, ids)
			}
			if created[i] {
				news++
			}
			values["value "+itoa(int64(i))] = true
			w.sync(last[i])
		}
		if news != 1 {
			t.Errorf("round %d: %d puts created the variable, want 1", round, news)
		}
		list, err := w.varR.List(ctx, projections.VariableFilter{All: true})
		if err != nil {
			t.Fatal(err)
		}
		var named []projections.VariableView
		for _, v := range list {
			if v.VariableName == name {
				named = append(named, v)
			}
		}
		if len(named) != 1 || !values[named[0].VariableValue] {
			t.Errorf("round %d: variables named %s: %+v, want one with a value sent", round, name, named)
		}
	}
}
