package catalog_test

import (
	"encoding/json"
	"testing"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/catalog"
	dt "github.com/cometa-es/cometa/domain/decidetest"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

type ev = eventschemas.Payload

var (
	admin  = dt.Account(1, role.Superuser)
	devops = dt.Account(5, role.Devops, 3)
)

func TestApplication(t *testing.T) {
	t.Parallel()
	created := []ev{&eventschemas.ApplicationCreated{ApplicationID: 1, Name: "Shop", Slug: "Shop"}}
	deleted := append(created[:1:1], &eventschemas.ApplicationDeleted{ApplicationID: 1})
	dt.Run(t, catalog.Application{}, []dt.Case[catalog.ApplicationCommand]{
		{Name: "create", When: catalog.CreateApplication{Actor: admin, ApplicationID: 1, Name: "Web shop"},
			Then: []ev{&eventschemas.ApplicationCreated{ApplicationID: 1, Name: "Web shop", Slug: "Web-shop"}}},
		{Name: "create needs the flag", When: catalog.CreateApplication{Actor: devops, ApplicationID: 1, Name: "X"},
			Err: domain.ErrForbidden},
		{Name: "create twice", Given: created, When: catalog.CreateApplication{Actor: admin, ApplicationID: 1, Name: "X"},
			Err: domain.ErrConflict},
		{Name: "create nameless", When: catalog.CreateApplication{Actor: admin, ApplicationID: 1},
			Err: domain.ErrInvalid, Fields: []string{"app_name"}},
		{Name: "rename", Given: created, When: catalog.RenameApplication{Actor: admin, ApplicationID: 1, Name: "Shop 2"},
			Then: []ev{&eventschemas.ApplicationRenamed{ApplicationID: 1, Name: "Shop 2", Slug: "Shop-2"}}},
		{Name: "rename to the same", Given: created, When: catalog.RenameApplication{Actor: admin, ApplicationID: 1, Name: "Shop"}},
		{Name: "rename with a newline", Given: created,
			When: catalog.RenameApplication{Actor: admin, ApplicationID: 1, Name: "a\nb"},
			Err:  domain.ErrInvalid, Fields: []string{"app_name"}},
		{Name: "rename unknown", When: catalog.RenameApplication{Actor: admin, ApplicationID: 1, Name: "X"},
			Err: domain.ErrNotFound},
		{Name: "delete", Given: created, When: catalog.DeleteApplication{Actor: admin, ApplicationID: 1},
			Then: []ev{&eventschemas.ApplicationDeleted{ApplicationID: 1}}},
		{Name: "delete twice", Given: deleted, When: catalog.DeleteApplication{Actor: admin, ApplicationID: 1},
			Err: domain.ErrNotFound},
		{Name: "delete on another stream", Given: created, When: catalog.DeleteApplication{Actor: admin, ApplicationID: 2},
			Err: domain.ErrConflict},
		{Name: "delete needs the flag", Given: created, When: catalog.DeleteApplication{Actor: devops, ApplicationID: 1},
			Err: domain.ErrForbidden},
		{Name: "delete in use", Given: created, When: catalog.DeleteApplication{Actor: admin, ApplicationID: 1,
			UsedBy: catalog.Usage{Features: 4, FeatureIDs: []int64{3, 5, 7, 9}}},
			Err: domain.ErrConflict, Message: "application 1 is used by 4 features (ids 3, 5, 7, 9): " +
				"move them to another application first"},
		{Name: "delete in use needs the flag first", Given: created, When: catalog.DeleteApplication{
			Actor: devops, ApplicationID: 1, UsedBy: catalog.Usage{Features: 1, FeatureIDs: []int64{3}}},
			Err: domain.ErrForbidden},
		{Name: "delete deleted in use", Given: deleted, When: catalog.DeleteApplication{Actor: admin, ApplicationID: 1,
			UsedBy: catalog.Usage{Features: 1, FeatureIDs: []int64{3}}},
			Err: domain.ErrNotFound},
	})
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	created := []ev{&eventschemas.EnvironmentCreated{EnvironmentID: 4, Name: "staging"}}
	dt.Run(t, catalog.Environment{}, []dt.Case[catalog.EnvironmentCommand]{
		{Name: "create", When: catalog.CreateEnvironment{Actor: admin, EnvironmentID: 4, Name: " staging "},
			Then: created},
		{Name: "create needs the flag", When: catalog.CreateEnvironment{Actor: devops, EnvironmentID: 4, Name: "x"},
			Err: domain.ErrForbidden},
		{Name: "create twice", Given: created, When: catalog.CreateEnvironment{Actor: admin, EnvironmentID: 4, Name: "x"},
			Err: domain.ErrConflict},
		{Name: "rename", Given: created, When: catalog.RenameEnvironment{Actor: admin, EnvironmentID: 4, Name: "prod"},
			Then: []ev{&eventschemas.EnvironmentRenamed{EnvironmentID: 4, Name: "prod"}}},
		{Name: "rename empty", Given: created, When: catalog.RenameEnvironment{Actor: admin, EnvironmentID: 4},
			Err: domain.ErrInvalid, Fields: []string{"environment_name"}},
		{Name: "delete", Given: created, When: catalog.DeleteEnvironment{Actor: admin, EnvironmentID: 4},
			Then: []ev{&eventschemas.EnvironmentDeleted{EnvironmentID: 4}}},
		{Name: "delete unknown", When: catalog.DeleteEnvironment{Actor: admin, EnvironmentID: 4},
			Err: domain.ErrNotFound},
		{Name: "delete used by a feature", Given: created, When: catalog.DeleteEnvironment{Actor: admin, EnvironmentID: 4,
			UsedBy: catalog.Usage{Features: 1, FeatureIDs: []int64{8}}},
			Err: domain.ErrConflict, Message: "environment 4 is used by 1 feature (id 8): move them"},
		{Name: "delete used by variables", Given: created, When: catalog.DeleteEnvironment{Actor: admin, EnvironmentID: 4,
			UsedBy: catalog.Usage{Variables: 7, VariableIDs: []int64{1, 2, 3}}},
			Err: domain.ErrConflict, Message: "environment 4 is used by 7 variables (ids 1, 2, 3, ...): "},
		{Name: "delete used by both", Given: created, When: catalog.DeleteEnvironment{Actor: admin, EnvironmentID: 4,
			UsedBy: catalog.Usage{Features: 2, FeatureIDs: []int64{1, 6}, Variables: 1, VariableIDs: []int64{5}}},
			Err: domain.ErrConflict, Message: "used by 2 features (ids 1, 6) and 1 variable (id 5): " +
				"move them to another environment first"},
		{Name: "delete in use needs the flag first", Given: created, When: catalog.DeleteEnvironment{
			Actor: devops, EnvironmentID: 4, UsedBy: catalog.Usage{Variables: 1}},
			Err: domain.ErrForbidden},
	})
}

func TestBrowser(t *testing.T) {
	t.Parallel()
	chrome := json.RawMessage(`{"os":"Generic","browser":"chrome","browser_version":"134.0"}`)
	added := []ev{&eventschemas.BrowserAdded{BrowserID: 1, BrowserJSON: chrome}}
	dt.Run(t, catalog.Browser{}, []dt.Case[catalog.BrowserCommand]{
		{Name: "add", When: catalog.AddBrowser{Actor: admin, BrowserID: 1,
			BrowserJSON: json.RawMessage(`{"os": "Generic", "browser": "chrome", "browser_version": "134.0"}`)},
			Then: added},
		{Name: "add again is nothing", Given: added, When: catalog.AddBrowser{Actor: admin, BrowserID: 1, BrowserJSON: chrome}},
		{Name: "add another over it", Given: added,
			When: catalog.AddBrowser{Actor: admin, BrowserID: 1, BrowserJSON: json.RawMessage(`{"browser":"firefox"}`)},
			Err:  domain.ErrConflict},
		{Name: "service seeds", When: catalog.AddBrowser{Actor: access.Service(), BrowserID: 1, BrowserJSON: chrome},
			Then: added},
		{Name: "add needs the flag", When: catalog.AddBrowser{Actor: devops, BrowserID: 1, BrowserJSON: chrome},
			Err: domain.ErrForbidden},
		{Name: "add without browser", When: catalog.AddBrowser{Actor: admin, BrowserID: 1, BrowserJSON: json.RawMessage(`{"os":"x"}`)},
			Err: domain.ErrInvalid, Fields: []string{"browser_json"}},
		{Name: "add an array", When: catalog.AddBrowser{Actor: admin, BrowserID: 1, BrowserJSON: json.RawMessage(`[]`)},
			Err: domain.ErrInvalid, Fields: []string{"browser_json"}},
		{Name: "remove", Given: added, When: catalog.RemoveBrowser{Actor: admin, BrowserID: 1},
			Then: []ev{&eventschemas.BrowserRemoved{BrowserID: 1}}},
		{Name: "remove unknown", When: catalog.RemoveBrowser{Actor: admin, BrowserID: 1},
			Err: domain.ErrNotFound},
		{Name: "remove needs the flag", Given: added, When: catalog.RemoveBrowser{Actor: devops, BrowserID: 1},
			Err: domain.ErrForbidden},
	})
}

func TestStreams(t *testing.T) {
	t.Parallel()
	for got, want := range map[string]string{
		catalog.ApplicationStream(1): "application-1",
		catalog.EnvironmentStream(2): "environment-2",
		catalog.BrowserStream(3):     "browser-3",
	} {
		if got != want {
			t.Errorf("stream %q, want %q", got, want)
		}
	}
	s := catalog.FoldApplication([]ev{
		&eventschemas.ApplicationCreated{ApplicationID: 1, Name: "Shop", Slug: "Shop"},
		&eventschemas.ApplicationRenamed{ApplicationID: 1, Name: "Web", Slug: "Web"},
	})
	if s.Name != "Web" || !s.Exists {
		t.Errorf("folded %+v", s)
	}
}
