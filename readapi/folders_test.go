package readapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// newFolder creates a folder through the API as user and returns its id.
func newFolder(t *testing.T, f *apitest.Fixture, user, name string, parent string) string {
	t.Helper()
	body := map[string]any{"name": name}
	if parent != "" {
		p, _ := strconv.ParseInt(f.Expand(parent), 10, 64)
		body["parent_id"] = p
	}
	var out struct {
		ID int64 `json:"folder_id"`
	}
	f.Srv.Do(t, http.MethodPost, "/backend/api/folders/", f.Tokens[user], body).Want(t, http.StatusCreated).JSON(t, &out)
	return strconv.FormatInt(out.ID, 10)
}

func folderCases() []apitest.Case {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	return []apitest.Case{
		{Method: get, Path: "/backend/api/folders/",
			Prep: func(t *testing.T, f *apitest.Fixture) {
				f.Vars["{dirA}"] = newFolder(t, f, "devops", "Ordner A ✓", "")
				f.Vars["{subA}"] = newFolder(t, f, "devops", "Sub", "{dirA}")
				f.Vars["{dirB}"] = newFolder(t, f, "devopsB", "Folder B", "")
				f.Srv.Do(t, patch, "/backend/api/folder/feature/", f.Tokens["devops"],
					f.Expand(`{"feature_id": {featA}, "new_folder": {subA}}`)).Want(t, 200)
			},
			OK: &apitest.Try{As: "devops", Status: 200, Check: all(listsExactly("folders", "folder_id", "{dirA}"),
				field("folders.0.folders.0.folder_id", "{subA}"), field("folders.0.folders.0.features", "[{featA}]"),
				field("folders.0.folders.0.parent_id", "{dirA}"), field("folders.0.owner", "{devops}"),
				field("features", "[]"))},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Check: all(
				listsExactly("folders", "folder_id", "{dirB}"), field("features", "[{featB}]"))},
			NA: "forbidden: Cometa's folder list needs no permission; bad body: the list takes no input"},
		{Method: get, Path: "/backend/api/folders/?tree",
			OK: &apitest.Try{As: "devops", Status: 200, Check: all(field("name", "Home"),
				field("children.0.id", "{deptA}"), field("children.0.children.0.name", "Variables"),
				field("children.0.children.1.id", "{dirA}"), field("children.0.children.1.children.0.id", "{subA}"),
				field("children.0.children.1.children.0.children.0.id", "{featA}"))},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				if strings.Contains(string(r.Body), "Ordner A") || lookup(t, r, "children.1") != "<missing>" {
					t.Errorf("department B's tree shows department A: %s", r.Body)
				}
			}},
			NA: "as the list"},
		{Method: post, Path: "/backend/api/folders/",
			OK: &apitest.Try{As: "devops", Status: 201, Body: `{"name": "Ünïcode 文件夹", "parent_id": {subA}}`,
				Check: all(field("success", "true"), field("name", "Ünïcode 文件夹"), field("parent_id", "{subA}"),
					field("department", "{deptA}"))},
			Forbidden: &apitest.Try{As: "anonymous", Status: 403, Body: `{"name": "x"}`,
				Check: says("Missing permission 'create_folder'.")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 400, Body: `{"name": "x", "parent_id": {dirA}}`,
				Check: says("parent_id: no folder {dirA}")},
			BadBody: &apitest.Try{As: "devops", Status: 400, Body: `{"name": "   "}`, Check: says("name: must not be empty")}},
		{Method: post, Path: "/api/folders",
			Prep: func(t *testing.T, f *apitest.Fixture) { f.Vars["{dirMove}"] = newFolder(t, f, "devops", "Mover", "") },
			OK: &apitest.Try{As: "devops", Status: 200, Body: `{"old_folder": {dirMove}, "new_folder": {dirA}}`,
				Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
					got := f.Srv.Do(t, get, f.Expand("/backend/api/folders/{dirMove}/"), f.Tokens["devops"], nil).Want(t, 200)
					if p := lookup(t, got, "0.parent_id"); p != f.Expand("{dirA}") {
						t.Errorf("moved folder's parent is %s", p)
					}
				}},
			Forbidden: &apitest.Try{As: "anonymous", Status: 403, Body: `{"old_folder": {dirMove}, "new_folder": 0}`,
				Check: says("Missing permission 'create_folder'.")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404, Body: `{"old_folder": {dirMove}, "new_folder": 0}`},
			BadBody: &apitest.Try{As: "devops", Status: 400, Body: `{"old_folder": {dirA}, "new_folder": {subA}}`,
				Check: says("cannot be moved into itself or its sub-folders")}},
		{Method: patch, Path: "/api/folders/",
			OK: &apitest.Try{As: "devops", Status: 200, Body: `{"folder_id": {dirA}, "folder_name": "Seed-Name ✓"}`,
				Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
					got := f.Srv.Do(t, get, f.Expand("/backend/api/folders/{dirA}/"), f.Tokens["devops"], nil).Want(t, 200)
					if n := lookup(t, got, "0.name"); n != "Seed-Name ✓" {
						t.Errorf("folder renamed by the seed's body is %q", n)
					}
				}},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404, Body: `{"folder_id": {dirA}, "folder_name": "x"}`},
			BadBody: &apitest.Try{As: "devops", Status: 400, Body: `{"folder_id": {dirA}, "folder_name": ["x"]}`,
				Check: says("folder_name")},
			NA: "the seed's body {folder_id, folder_name}, bare form with the slash; forbidden as below"},
		{Method: patch, Path: "/backend/api/folders",
			OK: &apitest.Try{As: "devops", Status: 200, Body: `{"folder_id": {dirA}, "name": "Renamed 🗂"}`,
				Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
					got := f.Srv.Do(t, get, f.Expand("/backend/api/folders/{dirA}/"), f.Tokens["devops"], nil).Want(t, 200)
					if n := lookup(t, got, "0.name"); n != "Renamed 🗂" {
						t.Errorf("renamed folder is %q", n)
					}
				}},
			Forbidden: &apitest.Try{As: "anonymous", Status: 403, Body: `{"folder_id": {dirA}, "name": "x"}`,
				Check: says("Missing permission 'create_folder'.")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404, Body: `{"folder_id": {dirA}, "name": "x"}`},
			BadBody:         &apitest.Try{As: "devops", Status: 400, Body: `{"name": "x"}`, Check: says("folder_id")}},
		{Method: patch, Path: "/backend/api/folder/feature/",
			OK: &apitest.Try{As: "devops", Status: 200, Body: `{"feature_id": {featA}, "new_folder": "Renamed 🗂"}`,
				Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
					got := f.Srv.Do(t, get, "/backend/api/folders/", f.Tokens["devops"], nil).Want(t, 200)
					if ids := lookup(t, got, "folders.0.features"); ids != f.Expand("[{featA}]") {
						t.Errorf("features of the renamed folder: %s", ids)
					}
				}},
			OtherDepartment: &apitest.Try{As: "devops", Status: 400, Body: `{"feature_id": {featA}, "new_folder": {dirB}}`,
				Check: says("new_folder")},
			BadBody: &apitest.Try{As: "devops", Status: 400, Body: `{"feature_id": {featA}, "new_folder": [1]}`,
				Check: says("new_folder")},
			NA: "forbidden: every default role has edit_feature"},
		{Method: del, Path: "/backend/api/folders/{dirA}/remove/",
			Prep: func(t *testing.T, f *apitest.Fixture) { f.Vars["{dirOther}"] = newFolder(t, f, "devops", "Other", "") },
			OK: &apitest.Try{As: "devops", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				got := f.Srv.Do(t, get, "/backend/api/folders/", f.Tokens["devops"], nil).Want(t, 200)
				if !strings.Contains(lookup(t, got, "features"), f.Expand("{featA}")) {
					t.Errorf("the feature of the deleted sub-folder is not at the root: %s", got.Body)
				}
				listsExactly("folders", "folder_id", "{dirOther}")(t, f, got)
				f.Srv.Do(t, get, f.Expand("/backend/api/folders/{subA}/"), f.Tokens["devops"], nil).Want(t, 404)
			}},
			Forbidden: &apitest.Try{As: "anonymous", Path: "/backend/api/folders/{dirOther}/remove/", Status: 403,
				Check: says("Missing permission 'delete_folder'.")},
			OtherDepartment: &apitest.Try{As: "devops", Path: "/backend/api/folders/{dirB}/remove/", Status: 404,
				Check: says("folder {dirB}: not found")},
			BadBody: &apitest.Try{As: "devops", Path: "/backend/api/folders/abc/remove/", Status: 400, Check: says("folder_id")}},
		{Method: del, Path: "/backend/api/folders/{dirDel}",
			Prep: func(t *testing.T, f *apitest.Fixture) {
				f.Vars["{dirDel}"] = newFolder(t, f, "manager", "Manager's", "")
				f.Vars["{dirKeep}"] = newFolder(t, f, "manager", "Kept", "")
			},
			OK: &apitest.Try{As: "admin", Status: 200},
			Forbidden: &apitest.Try{As: "anonymous", Path: "/backend/api/folders/{dirKeep}", Status: 403,
				Check: says("Missing permission 'delete_folder'.")},
			OtherDepartment: &apitest.Try{As: "devopsB", Path: "/backend/api/folders/{dirKeep}", Status: 404},
			BadBody:         &apitest.Try{As: "admin", Path: "/backend/api/folders/0", Status: 400}},
	}
}

func TestFolderEndpoints(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	apitest.RunCases(t, f, folderCases())
	sameAfterRebuild(t, f, map[string][]string{
		"devops":  {"/backend/api/folders/", "/backend/api/folders/?tree", "/backend/api/folders/{dirKeep}/"},
		"admin":   {"/backend/api/folders/", "/backend/api/folders/?tree"},
		"devopsB": {"/backend/api/folders/?tree"},
	})
}

// TestFolderDepth builds a chain of 20 folders through the API: a 21st
// level is refused and appends nothing, and so is moving a folder into its
// own sub-folder.
func TestFolderDepth(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	parent := ""
	var chain []string
	for i := range 20 {
		parent = newFolder(t, f, "devops", fmt.Sprintf("Level %d", i+1), parent)
		chain = append(chain, parent)
	}
	f.Srv.Unchanged(t, "a 21st level", func() {
		f.Srv.Do(t, http.MethodPost, "/backend/api/folders/", f.Tokens["devops"],
			`{"name": "Level 21", "parent_id": `+parent+`}`).Want(t, 400)
	})
	f.Srv.Unchanged(t, "a folder into its sub-folder", func() {
		r := f.Srv.Do(t, http.MethodPatch, "/backend/api/folders/", f.Tokens["devops"],
			`{"folder_id": `+chain[0]+`, "parent_id": `+chain[5]+`}`).Want(t, 400)
		says("into itself")(t, f, r)
	})
	f.Srv.Unchanged(t, "a folder into itself", func() {
		f.Srv.Do(t, http.MethodPatch, "/backend/api/folders/", f.Tokens["devops"],
			`{"folder_id": `+chain[3]+`, "parent_id": `+chain[3]+`}`).Want(t, 400)
	})
	// The last level moved to the root is fine, and then has room below.
	f.Srv.Do(t, http.MethodPatch, "/backend/api/folders/", f.Tokens["devops"],
		`{"folder_id": `+parent+`, "parent_id": 0}`).Want(t, 200)
	newFolder(t, f, "devops", "Below the moved one", parent)
}

// TestFolderUnknownDepartment asks, as a SUPERUSER, for folders in a
// department that never existed: the create and the move are 400s naming
// the field, and append nothing.
func TestFolderUnknownDepartment(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	dir := newFolder(t, f, "devops", "Mine", "")
	f.Srv.Unchanged(t, "a folder created in department 999", func() {
		r := f.Srv.Do(t, http.MethodPost, "/backend/api/folders/", f.Tokens["admin"],
			`{"name": "ghost", "department": 999, "parent_id": 0}`).Want(t, 400)
		says("department: no such object: 999")(t, f, r)
	})
	f.Srv.Unchanged(t, "a folder moved to department 999", func() {
		r := f.Srv.Do(t, http.MethodPatch, "/backend/api/folders/", f.Tokens["admin"],
			`{"folder_id": `+dir+`, "department": 999}`).Want(t, 400)
		says("department: no such object: 999")(t, f, r)
	})
}

// TestSubFolderDepartment moves, with a department, a sub-folder whose
// parent stays: a sub-folder is in its parent's department, so a deleted
// or unknown department is a 400 naming department, as at the root, and
// a live one other than the parent's is a 400 saying so; each appends
// nothing. The parent's own department is no change.
func TestSubFolderDepartment(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	dir := newFolder(t, f, "devops", "Parent", "")
	sub := newFolder(t, f, "devops", "Child", dir)
	gone := f.Srv.Department(t, "Gone")
	f.Srv.Do(t, http.MethodDelete, fmt.Sprintf("/backend/api/departments/%d/", gone), f.Srv.AdminToken, nil).
		Want(t, 200)

	for _, tc := range []struct {
		as, department, says string
	}{
		{"admin", strconv.FormatInt(gone, 10), fmt.Sprintf("department: no such object: %d", gone)},
		{"admin", "-1", "department: no such object: -1"},
		{"admin", "{deptB}", "department: {deptB} is not the department of parent folder " + dir},
		{"devops", "-1", "department: -1 is not the department of parent folder " + dir},
		{"devops", "{deptB}", "department: {deptB} is not the department of parent folder " + dir},
	} {
		f.Srv.Unchanged(t, tc.as+" moving with department "+tc.department, func() {
			r := f.Srv.Do(t, http.MethodPatch, "/backend/api/folders/", f.Tokens[tc.as],
				f.Expand(`{"folder_id": `+sub+`, "department": `+tc.department+`}`)).Want(t, 400)
			says(tc.says)(t, f, r)
		})
	}
	f.Srv.Unchanged(t, "the parent's department", func() {
		f.Srv.Do(t, http.MethodPatch, "/backend/api/folders/", f.Tokens["devops"],
			f.Expand(`{"folder_id": `+sub+`, "department": {deptA}}`)).Want(t, 200)
	})
	f.Srv.Unchanged(t, "a root folder moved to a deleted department", func() {
		r := f.Srv.Do(t, http.MethodPatch, "/backend/api/folders/", f.Tokens["admin"],
			fmt.Sprintf(`{"folder_id": %s, "department": %d}`, dir, gone)).Want(t, 400)
		says(fmt.Sprintf("department: no such object: %d", gone))(t, f, r)
	})
}
