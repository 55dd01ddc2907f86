package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
	"github.com/cometa-es/cometa/runner/steps"
)

// world is a store with the feature, folder and variable read models
// running, and the commands on it.
type world struct {
	t         *testing.T
	h         *projectiontest.Harness
	log       *commands.Log
	features  *commands.Features
	folders   *commands.Folders
	variables *commands.Variables
	fr        *projections.FeatureReader
	folderR   *projections.FolderReader
	varR      *projections.VariableReader
}

const passphrase = "test passphrase"

func newWorld(t *testing.T) *world {
	t.Helper()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	h := projectiontest.New(t, reg, projections.NewFeatures(), projections.NewFolders(), projections.NewVariables(), projections.NewRuns())
	w := &world{t: t, h: h, log: commands.NewLog(h.Store, reg),
		fr: projections.NewFeatureReader(h.Pool), folderR: projections.NewFolderReader(h.Pool),
		varR: projections.NewVariableReader(h.Pool)}
	ids := commands.NewIDs(w.log, func(ctx context.Context, kind string) (int64, error) {
		switch kind {
		case commands.FeatureKind:
			return w.fr.MaxID(ctx)
		case commands.FolderKind:
			return w.folderR.MaxID(ctx)
		default:
			return w.varR.MaxID(ctx)
		}
	})
	w.features = commands.NewFeatures(w.log, ids, steps.NewCatalogue(), w.fr)
	w.folders = commands.NewFolders(w.log, ids, w.folderR, w.features)
	w.variables = commands.NewVariables(w.log, ids, w.varR, passphrase)

	for _, d := range []int64{3, 4} {
		h.Append("department-"+itoa(d), &eventschemas.DepartmentCreated{DepartmentID: d, Name: "Dep " + itoa(d)})
	}
	h.Append("application-1", &eventschemas.ApplicationCreated{ApplicationID: 1, Name: "Shop"})
	h.Append("environment-2", &eventschemas.EnvironmentCreated{EnvironmentID: 2, Name: "ENV-3"})
	h.Sync()
	return w
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// sync waits until the read models have applied res.
func (w *world) sync(res eventstore.AppendResult) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.h.Manager.WaitFor(ctx, res.Position); err != nil {
		w.t.Fatal(err)
	}
}

func meta() commands.Meta { return commands.Meta{Actor: "account-5", Now: time.Now()} }

func actor(t *testing.T, id int64, roleName string, departments ...int64) access.Actor {
	t.Helper()
	a, err := access.Account(id, roleName, departments)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func stepOf(content string) feature.Step {
	return feature.Step{Keyword: "Given", Content: content, Enabled: true}
}

func def(name string, department int64, steps ...feature.Step) feature.Definition {
	return feature.Definition{FeatureName: name, AppID: 1, EnvironmentID: 2, DepartmentID: department, Steps: steps}
}

// create makes a feature and waits for the read models.
func (w *world) create(a access.Actor, d feature.Definition) int64 {
	w.t.Helper()
	id, res, err := w.features.Create(context.Background(), meta(), a, d)
	if err != nil {
		w.t.Fatal(err)
	}
	w.sync(res)
	return id
}

func replace(d feature.Definition) commands.Edit {
	return func(context.Context, feature.Definition) (feature.Definition, error) { return d, nil }
}

func fixtureSteps(t *testing.T) []feature.Step {
	t.Helper()
	raw, err := os.ReadFile("testdata/first-testcase.steps.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []feature.Step
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFeatureCreateKeepsSteps(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	author := actor(t, 5, role.Anonymous, 3)
	want := fixtureSteps(t)
	id := w.create(author, def("Första testfall ✓", 3, want...))

	got, err := w.fr.Steps(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d steps back, want %d", len(got), len(want))
	}
	for i, s := range got {
		back := feature.Step{Keyword: s.StepKeyword, Content: s.StepContent, Type: s.StepType, Enabled: s.Enabled,
			Screenshot: s.Screenshot, Compare: s.Compare, ContinueOnFailure: s.ContinueOnFailure, Timeout: s.Timeout}
		if diff := cmp.Diff(want[i], back); diff != "" {
			t.Errorf("step %d (-sent +stored):\n%s", i+1, diff)
		}
	}
}

func TestFeatureSaveRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3)
	outsider := actor(t, 6, role.Devops, 4)
	admin := actor(t, 1, role.Superuser)

	login := w.create(author, def("Login", 3, stepOf(`Goto URL "https://example.com"`)))
	wrapper := w.create(author, def("Wrapper", 3, stepOf(`Run feature with id "`+itoa(login)+`" before continuing`)))

	cases := []struct {
		name     string
		actor    access.Actor
		id       int64
		expected int
		d        feature.Definition
		err      error
		message  string
	}{
		{name: "unknown step names position and closest", actor: author, id: login,
			d:   def("Login", 3, stepOf(`Goto URL "https://example.com"`), stepOf("Press Entr")),
			err: domain.ErrInvalid, message: "step 2: step_content: unknown step: Press Entr (the closest known step is: Press Enter)"},
		{name: "nested loop", actor: author, id: login,
			d: def("Login", 3, stepOf(`Loop "2" times starting at "1" and do`), stepOf(`Loop "2" times starting at "1" and do`),
				stepOf("End Loop"), stepOf("End Loop")),
			err: domain.ErrInvalid, message: "Multi level loop are not allowed."},
		{name: "sub-feature cycle", actor: author, id: login,
			d:   def("Login", 3, stepOf(`Run feature with id "`+itoa(wrapper)+`" before continuing`)),
			err: domain.ErrInvalid, message: "Infinite loop found. Trace: " + itoa(login) + " ➔ " + itoa(wrapper) + " ➔ " + itoa(login)},
		{name: "missing sub-feature", actor: author, id: login,
			d:   def("Login", 3, stepOf(`Run feature with id "999" before continuing`)),
			err: domain.ErrInvalid, message: `no feature with id "999"`},
		{name: "another department is not found", actor: outsider, id: login,
			d: def("Login", 4), err: domain.ErrNotFound},
		{name: "moving out to a department of none's", actor: author, id: login,
			d: def("Login", 4), err: domain.ErrForbidden},
		{name: "stale version", actor: admin, id: login, expected: 7,
			d: def("Login", 3), err: domain.ErrConflict},
		{name: "unknown feature", actor: admin, id: 999, d: def("X", 3), err: domain.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _, _ := w.h.Store.Head(ctx)
			_, err := w.features.Save(ctx, meta(), tc.actor, tc.id, tc.expected, replace(tc.d))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.message != "" && !strings.Contains(err.Error(), tc.message) {
				t.Errorf("err = %q, want it to contain %q", err, tc.message)
			}
			if after, _, _ := w.h.Store.Head(ctx); after != before {
				t.Errorf("a refused save appended events")
			}
		})
	}
}

func TestFeatureConcurrentSaves(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3)
	id := w.create(author, def("Racy", 3))

	const writers = 3
	var wg sync.WaitGroup
	errs := make([]error, writers)
	saved := make([]commands.Saved, writers)
	for i := range writers {
		wg.Go(func() {
			saved[i], errs[i] = w.features.Save(ctx, meta(), author, id, 0,
				func(_ context.Context, cur feature.Definition) (feature.Definition, error) {
					cur.Steps = append(cur.Steps, stepOf(`Send keys "`+itoa(int64(i))+`"`))
					return cur, nil
				})
		})
	}
	wg.Wait()
	s, err := w.features.Load(ctx, author, id)
	if err != nil {
		t.Fatal(err)
	}
	// Every save that succeeded built on the one before: no step lost.
	if n := len(s.Current().Steps); n != s.Version()-1 {
		t.Errorf("version %d has %d steps; each save added one", s.Version(), n)
	}
	// Each reports the version it wrote: the one whose last step is its own.
	versions := map[int]bool{}
	for i, err := range errs {
		if err != nil {
			if !errors.Is(err, eventstore.ErrConflict) {
				t.Errorf("concurrent save %d: %v", i, err)
			}
			continue
		}
		if !saved[i].Changed || versions[saved[i].Version] {
			t.Errorf("save %d reports %+v; versions so far %v", i, saved[i], versions)
			continue
		}
		versions[saved[i].Version] = true
		def, err := s.At(saved[i].Version)
		if err != nil {
			t.Fatalf("save %d: version %d: %v", i, saved[i].Version, err)
		}
		if last := def.Steps[len(def.Steps)-1].Content; last != `Send keys "`+itoa(int64(i))+`"` {
			t.Errorf("save %d reports version %d, whose last step is %q", i, saved[i].Version, last)
		}
	}
	// Saving what is there changes nothing and reports the current version.
	same, err := w.features.Save(ctx, meta(), author, id, 0,
		func(_ context.Context, cur feature.Definition) (feature.Definition, error) { return cur, nil })
	if err != nil || same.Changed || same.Version != s.Version() {
		t.Errorf("an unchanged save reports %+v, %v; want version %d, not changed", same, err, s.Version())
	}
}

func TestFeatureDeleteNeedsOwnerOrFlag(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3)
	colleague := actor(t, 6, role.Devops, 3)
	id := w.create(author, def("Mine", 3))

	if _, err := w.features.Delete(ctx, meta(), colleague, id); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("colleague deletes: %v, want forbidden", err)
	}
	res, err := w.features.Delete(ctx, meta(), author, id)
	if err != nil {
		t.Fatalf("author deletes: %v", err)
	}
	w.sync(res)
	if _, ok, _ := w.fr.Get(ctx, id); ok {
		t.Error("deleted feature still in the read model")
	}
	if _, err := w.features.Delete(ctx, meta(), author, id); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("second delete: %v, want not found", err)
	}
}
