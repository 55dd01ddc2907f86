package feature_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/domain"
	dt "github.com/cometa-es/cometa/domain/decidetest"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

var (
	author    = dt.Account(5, role.Anonymous, 3)
	devops    = dt.Account(6, role.Devops, 3)
	outsider  = dt.Account(7, role.Devops, 4)
	traveller = dt.Account(8, role.Devops, 3, 4)
	admin     = dt.Account(1, role.Superuser)
	cat       = testCatalogue()
	// library holds feature 7 (a login) and two features named "Twin".
	library = feature.Library{
		{ID: 7, Name: "Login", Steps: []feature.Step{step(`Goto URL "https://example.com/login"`)}},
		{ID: 8, Name: "Twin"}, {ID: 9, Name: "Twin"},
	}
)

func create(steps ...feature.Step) feature.Create {
	return feature.Create{Actor: author, FeatureID: 12, Definition: definition(steps...),
		Catalogue: cat, Lookup: library, NewStepID: ids()}
}

func saved(version int, steps ...feature.Step) *eventschemas.FeatureSaved {
	return &eventschemas.FeatureSaved{FeatureID: 12, Version: version, Definition: definition(steps...)}
}

func createdWith(steps ...feature.Step) []ev {
	return []ev{&eventschemas.FeatureCreated{FeatureID: 12, CreatedBy: 5}, saved(1, steps...)}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	goto1 := step(`Goto URL "https://example.com/"`)
	loop := step(`Loop "3" times starting at "1" and do`)
	endLoop := step("End Loop")
	ifStep, elseStep, endIf := step(`If "$a" "equals" "b"`), step("Else"), step("End If")
	press := step("Press Enter")
	with := func(c feature.Create, change func(*feature.Create)) feature.Create {
		change(&c)
		return c
	}
	substep := step(`Goto URL "https://example.com/login"`)
	substep.Type = feature.TypeSubstep
	rawKeyword := goto1
	rawKeyword.Keyword, rawKeyword.Timeout, rawKeyword.Type = " AND ", 0, ""

	dt.Run(t, feature.State{}, []dt.Case[feature.Command]{
		{Name: "create", When: create(goto1, press),
			Then: createdWith(withID("n1", goto1), withID("n2", press))},
		{Name: "defaults filled", When: create(rawKeyword),
			Then: createdWith(withID("n1", func() feature.Step { s := goto1; s.Keyword = "and"; return s }()))},
		{Name: "sleep timeout is seconds plus five", When: create(step(`I sleep "10" seconds`)),
			Then: createdWith(func() feature.Step {
				s := withID("n1", step(`I sleep "10" seconds`))
				s.Timeout = 15
				return s
			}())},
		{Name: "sleep beyond the timeout limit", When: create(step(`I can sleep "7196" seconds`)),
			Err: domain.ErrInvalid, Fields: []string{"1:step_content"}},
		{Name: "a fractional sleep's timeout is rounded up", When: create(step(`I sleep "0.5" seconds`)),
			Then: createdWith(func() feature.Step {
				s := withID("n1", step(`I sleep "0.5" seconds`))
				s.Timeout = 6
				return s
			}())},
		{Name: "no timeout is the default timeout", When: create(func() feature.Step { s := goto1; s.Timeout = 0; return s }()),
			Then: createdWith(withID("n1", goto1))},
		{Name: "timeout above the limit", When: create(func() feature.Step { s := goto1; s.Timeout = 7201; return s }()),
			Err: domain.ErrInvalid, Fields: []string{"1:timeout"}},
		{Name: "needs create_feature", When: with(create(goto1), func(c *feature.Create) {
			c.Actor.Role, _ = role.New("VIEWER", 1, role.ViewFeature)
		}), Err: domain.ErrForbidden, Message: "create_feature"},
		{Name: "in another department", When: with(create(goto1), func(c *feature.Create) { c.Actor = outsider }),
			Err: domain.ErrForbidden},
		{Name: "exists", Given: createdWith(), When: create(goto1), Err: domain.ErrConflict},
		{Name: "every bad field", When: with(create(), func(c *feature.Create) {
			c.Definition = feature.Definition{Browsers: []byte(`{}`), MaximumNotificationOnError: -1,
				Steps: []feature.Step{{Keyword: "Maybe", Timeout: -1}}}
		}), Err: domain.ErrInvalid, Fields: []string{"feature_name", "app_id", "environment_id",
			"department_id", "browsers", "maximum_notification_on_error",
			"1:step_keyword", "1:step_content", "1:timeout"}},
		{Name: "browsers other than Chromium, or not browser objects", When: with(create(goto1), func(c *feature.Create) {
			c.Definition.Browsers = json.RawMessage(`[{"browser": "chrome"}, {"browser": "firefox"}, "x",
				{"browser_version": "1"}, {"browser": "Chromium", "mobile_emulation": true}]`)
		}), Err: domain.ErrInvalid, Fields: []string{"browsers[1].browser", "browsers[2]", "browsers[3].browser"},
			Message: `only Chromium is available on this server ("chrome" or "chromium"), got "firefox"`},
		{Name: "browsers as a string", When: with(create(goto1), func(c *feature.Create) {
			c.Definition.Browsers = json.RawMessage(`"x"`)
		}), Err: domain.ErrInvalid, Fields: []string{"browsers"}},
		{Name: "e-mail items that are not addresses; blank ones are dropped", When: with(create(goto1),
			func(c *feature.Create) {
				c.Definition.EmailAddress = []string{"ann@example.com", " ", "not an email"}
				c.Definition.EmailCCAddress = []string{"Bob <bob@example.com>", "@"}
			}), Err: domain.ErrInvalid, Fields: []string{"email_address[2]", "email_cc_address[1]"},
			Message: `email_address[2]: must be an e-mail address, got "not an email"`},
		{Name: "Chromium browser objects and addresses are kept", When: with(create(goto1), func(c *feature.Create) {
			c.Definition.Browsers = json.RawMessage(`[{"browser": "chrome", "browser_version": "latest"}]`)
			c.Definition.EmailAddress = []string{" ann@example.com ", ""}
		}), Then: []ev{&eventschemas.FeatureCreated{FeatureID: 12, CreatedBy: 5}, func() ev {
			e := saved(1, withID("n1", goto1))
			e.Definition.Browsers = json.RawMessage(`[{"browser":"chrome","browser_version":"latest"}]`)
			e.Definition.EmailAddress = []string{"ann@example.com"}
			return e
		}()}},
		{Name: "unknown sentence names position and closest step", When: create(goto1, step("Press Entr")),
			Err: domain.ErrInvalid, Fields: []string{"2:step_content"}, Message: `closest known step is "Press Enter"`},
		{Name: "unknown disabled sentence is kept", When: create(goto1, disabled(step("TODO: later"))),
			Then: createdWith(withID("n1", goto1), withID("n2", disabled(step("TODO: later"))))},
		{Name: "positions count the substeps sent back", When: create(goto1, substep, step("Press Entr")),
			Err: domain.ErrInvalid, Fields: []string{"3:step_content"}},
		{Name: "loop", When: create(loop, press, endLoop),
			Then: createdWith(withID("n1", loop), withID("n2", press), withID("n3", endLoop))},
		{Name: "nested loop", When: create(loop, loop, endLoop, endLoop),
			Err: domain.ErrInvalid, Fields: []string{"2:step_content"}, Message: "Multi level loop are not allowed."},
		{Name: "nested loop through a disabled one is fine", When: create(loop, disabled(loop), press, endLoop),
			Then: createdWith(withID("n1", loop), withID("n2", disabled(loop)), withID("n3", press), withID("n4", endLoop))},
		{Name: "Break and Continue Loop inside a loop", When: create(loop, step("Break Loop"), step("Continue Loop"), endLoop),
			Then: createdWith(withID("n1", loop), withID("n2", step("Break Loop")), withID("n3", step("Continue Loop")),
				withID("n4", endLoop))},
		{Name: "Break Loop outside a loop", When: create(press, step("Break Loop")),
			Err: domain.ErrInvalid, Fields: []string{"2:step_content"}, Message: "Break Loop outside a Loop"},
		{Name: "Continue Loop after the loop", When: create(loop, endLoop, step("Continue Loop")),
			Err: domain.ErrInvalid, Fields: []string{"3:step_content"}, Message: "Continue Loop outside a Loop"},
		{Name: "End Loop without Loop", When: create(press, endLoop),
			Err: domain.ErrInvalid, Fields: []string{"2:step_content"}, Message: "End Loop without a Loop"},
		{Name: "Loop never ended", When: create(loop, press),
			Err: domain.ErrInvalid, Fields: []string{"1:step_content"}},
		{Name: "if else end if", When: create(ifStep, press, elseStep, press, endIf),
			Then: createdWith(withID("n1", ifStep), withID("n2", press), withID("n3", elseStep),
				withID("n4", press), withID("n5", endIf))},
		{Name: "nested ifs", When: create(ifStep, ifStep, endIf, elseStep, endIf),
			Then: createdWith(withID("n1", ifStep), withID("n2", ifStep), withID("n3", endIf),
				withID("n4", elseStep), withID("n5", endIf))},
		{Name: "Else without If", When: create(elseStep), Err: domain.ErrInvalid, Fields: []string{"1:step_content"}},
		{Name: "two Else", When: create(ifStep, elseStep, elseStep, endIf),
			Err: domain.ErrInvalid, Fields: []string{"3:step_content"}},
		{Name: "End If without If", When: create(press, endIf), Err: domain.ErrInvalid, Fields: []string{"2:step_content"}},
		{Name: "If never ended", When: create(ifStep, press), Err: domain.ErrInvalid, Fields: []string{"1:step_content"}},
		{Name: "If left open across End Loop", When: create(loop, ifStep, endLoop, endIf),
			Err: domain.ErrInvalid, Fields: []string{"3:step_content"}},
		{Name: "If outside closed inside a loop", When: create(ifStep, loop, endIf, endLoop),
			Err: domain.ErrInvalid, Fields: []string{"3:step_content"}},
		{Name: "sub-feature by id", When: create(step(`Run feature with id "7" before continuing`)),
			Then: createdWith(func() feature.Step {
				s := withID("n1", step(`Run feature with id "7" before continuing`))
				s.Type = feature.TypeSubfeature
				return s
			}())},
		{Name: "sub-feature missing", When: create(goto1, step(`Run feature with id "70" before continuing`)),
			Err: domain.ErrInvalid, Fields: []string{"2:step_content"}, Message: `no feature with id "70"`},
		{Name: "sub-feature name ambiguous", When: create(step(`Run feature with name "Twin" before continuing`)),
			Err: domain.ErrInvalid, Fields: []string{"1:step_content"}, Message: "more than one"},
		{Name: "sub-feature is itself", When: create(step(`Run feature with id "12" before continuing`)),
			Err: domain.ErrInvalid, Message: "Infinite loop found. Trace: 12 ➔ 12"},
		{Name: "loop inside a sub-feature inside a loop", When: with(create(loop,
			step(`Run feature with id "20" before continuing`), endLoop), func(c *feature.Create) {
			c.Lookup = feature.Library{{ID: 20, Steps: []feature.Step{loop, press, endLoop}}}
		}), Err: domain.ErrInvalid, Fields: []string{"2:step_content"},
			Message: "Multi level loop are not allowed. (feature 20, which step 2 runs, has a Loop, and it runs inside the Loop of step 1)"},
		{Name: "a sub-feature's loop left open around a loop", When: with(create(
			step(`Run feature with id "21" before continuing`), loop, endLoop), func(c *feature.Create) {
			c.Lookup = feature.Library{{ID: 21, Steps: []feature.Step{loop, press}}}
		}), Err: domain.ErrInvalid, Fields: []string{"2:step_content"},
			Message: "(the Loop of feature 21, which step 1 runs, is still open)"},
		{Name: "Break Loop from a sub-feature outside a loop", When: with(create(
			step(`Run feature with id "22" before continuing`)), func(c *feature.Create) {
			c.Lookup = feature.Library{{ID: 22, Steps: []feature.Step{press, step("Break Loop")}}}
		}), Err: domain.ErrInvalid, Fields: []string{"1:step_content"}, Message: "Break Loop outside a Loop"},
		{Name: "the catalogue's flow check names the step running the sub-feature", When: with(create(goto1, substep,
			step(`Run feature with id "23" before continuing`), press), func(c *feature.Create) {
			c.Catalogue = flowCatalogue{catalogue: cat, refuse: `Send keys "x"`}
			c.Lookup = feature.Library{{ID: 23, Steps: []feature.Step{goto1, step(`Send keys "x"`)}}}
		}), Err: domain.ErrInvalid, Fields: []string{"3:step_content"}, Message: "step 3: refused by the flow check"},
		{Name: "the catalogue's flow check passes", When: with(create(goto1, press), func(c *feature.Create) {
			c.Catalogue = flowCatalogue{catalogue: cat, refuse: `Send keys "x"`}
		}), Then: createdWith(withID("n1", goto1), withID("n2", press))},
	})
}

func TestCreateKeepsCometaSteps(t *testing.T) {
	t.Parallel()
	steps := firstTestcase(t)
	got, err := feature.State{}.Decide(feature.Create{Actor: author, FeatureID: 12,
		Definition: definition(steps...), Catalogue: cat, Lookup: library, NewStepID: ids()})
	if err != nil {
		t.Fatal(err)
	}
	def := got[1].(*eventschemas.FeatureSaved).Definition
	for i := range def.Steps {
		def.Steps[i].StepID = ""
	}
	if diff := cmp.Diff(steps, def.Steps); diff != "" {
		t.Errorf("Cometa's steps changed on the way in (-sent +saved):\n%s", diff)
	}
	if n := feature.EnabledCount(def.Steps); n != 14 {
		t.Errorf("enabled steps %d, want 14", n)
	}
}

func TestSave(t *testing.T) {
	t.Parallel()
	a, b, c := step(`Goto URL "https://a/"`), step(`Goto URL "https://b/"`), step("Press Enter")
	given := createdWith(withID("n1", a), withID("n2", b), withID("n3", c))
	save := func(steps ...feature.Step) feature.Save {
		return feature.Save{Actor: author, FeatureID: 12, Definition: definition(steps...),
			Catalogue: cat, Lookup: library, NewStepID: func() string { return "new" }}
	}
	with := func(s feature.Save, change func(*feature.Save)) feature.Save {
		change(&s)
		return s
	}
	edited := withID("n2", b)
	edited.Screenshot = true
	renamed := definition(withID("n1", a), withID("n2", b), withID("n3", c))
	renamed.FeatureName, renamed.Slug = "Search again", "Search-again"
	deleted := append(given[:2:2], &eventschemas.FeatureDeleted{FeatureID: 12})

	dt.Run(t, feature.State{}, []dt.Case[feature.Command]{
		{Name: "ids kept by matching and in place, new otherwise", Given: given,
			When: save(c, step(`Goto URL "https://b2/"`), a, step(`Send keys "x"`)),
			Then: []ev{saved(2, withID("n3", c), withID("n2", step(`Goto URL "https://b2/"`)),
				withID("n1", a), withID("new", step(`Send keys "x"`)))}},
		{Name: "ids kept when sent", Given: given, When: save(withID("n2", a), withID("n1", b)),
			Then: []ev{saved(2, withID("n2", a), withID("n1", b))}},
		{Name: "an unknown sent id is replaced", Given: given, When: save(withID("forged", a), withID("n1", b)),
			Then: []ev{saved(2, withID("new", a), withID("n1", b))}},
		{Name: "nothing changed", Given: given, When: save(a, b, c)},
		{Name: "flags changed", Given: given, When: save(a, edited, c),
			Then: []ev{saved(2, withID("n1", a), edited, withID("n3", c))}},
		{Name: "fields changed", Given: given, When: with(save(a, b, c), func(s *feature.Save) {
			s.Definition.FeatureName = "  Search again "
		}), Then: []ev{&eventschemas.FeatureSaved{FeatureID: 12, Version: 2, Definition: renamed}}},
		{Name: "expected version matches", Given: given, When: with(save(a), func(s *feature.Save) { s.ExpectedVersion = 1 }),
			Then: []ev{saved(2, withID("n1", a))}},
		{Name: "lost the race", Given: append(given, saved(2, withID("n1", a))),
			When: with(save(b), func(s *feature.Save) { s.ExpectedVersion = 1 }), Err: domain.ErrConflict},
		{Name: "needs edit_feature", Given: given, When: with(save(a), func(s *feature.Save) {
			s.Actor.Role, _ = role.New("VIEWER", 1, role.ViewFeature)
		}), Err: domain.ErrForbidden, Message: "edit_feature"},
		{Name: "outsider", Given: given, When: with(save(a), func(s *feature.Save) { s.Actor = outsider }),
			Err: domain.ErrForbidden},
		{Name: "into a department one is not in", Given: given, When: with(save(a), func(s *feature.Save) {
			s.Definition.DepartmentID = 4
		}), Err: domain.ErrForbidden},
		{Name: "deleted", Given: deleted, When: save(a), Err: domain.ErrNotFound},
		{Name: "unknown", When: save(a), Err: domain.ErrNotFound},
		{Name: "invalid", Given: given, When: save(step("Jump")), Err: domain.ErrInvalid, Fields: []string{"1:step_content"}},
		{Name: "cycle through another feature", Given: given, When: with(save(step(`Run feature with id "7" before continuing`)),
			func(s *feature.Save) {
				s.Lookup = feature.Library{{ID: 7, Steps: []feature.Step{
					{Content: `Run feature with id "12" before continuing`, Type: feature.TypeSubfeature, Enabled: true}}}}
			}), Err: domain.ErrInvalid, Fields: []string{"1:step_content"}, Message: "Infinite loop found. Trace: 12 ➔ 7 ➔ 12"},
	})
}

func TestRestoreMoveDelete(t *testing.T) {
	t.Parallel()
	a, b := step(`Goto URL "https://a/"`), step("Press Enter")
	v1 := createdWith(withID("n1", a), withID("n2", b))
	v2 := append(v1, saved(2, withID("n3", step(`Send keys "x"`))))
	moved := append(v1[:2:2], &eventschemas.FeatureMovedToFolder{FeatureID: 12, FolderID: 7})
	otherDept := definition(withID("n1", a), withID("n2", b))
	otherDept.DepartmentID, otherDept.DepartmentName = 4, "Ops"

	dt.Run(t, feature.State{}, []dt.Case[feature.Command]{
		{Name: "restore", Given: v2, When: feature.Restore{Actor: author, FeatureID: 12, Version: 1,
			Catalogue: cat, Lookup: library},
			Then: []ev{&eventschemas.FeatureSaved{FeatureID: 12, Version: 3, RestoredFrom: 1,
				Definition: definition(withID("n1", a), withID("n2", b))}}},
		{Name: "restore the current version", Given: v2, When: feature.Restore{Actor: author, FeatureID: 12,
			Version: 2, Catalogue: cat, Lookup: library}},
		{Name: "restore an unknown version", Given: v2, When: feature.Restore{Actor: author, FeatureID: 12,
			Version: 9, Catalogue: cat, Lookup: library}, Err: domain.ErrNotFound},
		{Name: "restore a version the catalogue no longer knows", Given: v2, When: feature.Restore{
			Actor: author, FeatureID: 12, Version: 1, Catalogue: catalogue{`Send keys "{keys}"`}, Lookup: library},
			Err: domain.ErrInvalid, Fields: []string{"1:step_content", "2:step_content"}},
		{Name: "move to a folder", Given: v1, When: feature.MoveToFolder{Actor: author, FeatureID: 12, FolderID: 7},
			Then: []ev{&eventschemas.FeatureMovedToFolder{FeatureID: 12, FolderID: 7}}},
		{Name: "move where it is", Given: moved, When: feature.MoveToFolder{Actor: author, FeatureID: 12,
			FolderID: 7, FolderDepartmentID: 3}},
		{Name: "move back to the root", Given: moved, When: feature.MoveToFolder{Actor: author, FeatureID: 12},
			Then: []ev{&eventschemas.FeatureMovedToFolder{FeatureID: 12, FolderID: 0, FromFolderID: 7}}},
		{Name: "move into another department", Given: moved, When: feature.MoveToFolder{Actor: traveller,
			FeatureID: 12, FolderID: 9, FolderDepartmentID: 4, FolderDepartmentName: "Ops"},
			Then: []ev{&eventschemas.FeatureMovedToFolder{FeatureID: 12, FolderID: 9, FromFolderID: 7},
				&eventschemas.FeatureSaved{FeatureID: 12, Version: 2, Definition: otherDept}}},
		{Name: "move into a department one is not in", Given: v1, When: feature.MoveToFolder{Actor: devops,
			FeatureID: 12, FolderID: 9, FolderDepartmentID: 4}, Err: domain.ErrForbidden},
		{Name: "creator deletes without the flag", Given: v1, When: feature.Delete{Actor: author, FeatureID: 12},
			Then: []ev{&eventschemas.FeatureDeleted{FeatureID: 12}}},
		{Name: "others need delete_feature", Given: v1, When: feature.Delete{Actor: devops, FeatureID: 12},
			Err: domain.ErrForbidden, Message: "delete_feature"},
		{Name: "superuser deletes", Given: v1, When: feature.Delete{Actor: admin, FeatureID: 12},
			Then: []ev{&eventschemas.FeatureDeleted{FeatureID: 12}}},
		{Name: "delete twice", Given: append(v1, &eventschemas.FeatureDeleted{FeatureID: 12}),
			When: feature.Delete{Actor: admin, FeatureID: 12}, Err: domain.ErrNotFound},
	})
}

func TestVersions(t *testing.T) {
	t.Parallel()
	a := withID("n1", step("Press Enter"))
	s := feature.Fold(append(createdWith(a), saved(2), &eventschemas.FeatureMovedToFolder{FeatureID: 12, FolderID: 3}))
	if s.Version() != 2 || s.FolderID != 3 {
		t.Errorf("version %d folder %d, want 2 and 3", s.Version(), s.FolderID)
	}
	v1, err := s.At(1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(definition(a), v1); diff != "" {
		t.Errorf("version 1 (-want +got):\n%s", diff)
	}
	for _, n := range []int{0, 3} {
		if _, err := s.At(n); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("At(%d): %v, want not found", n, err)
		}
	}
	if got := feature.Stream(12); got != "feature-12" {
		t.Errorf("Stream(12) = %q", got)
	}
}
