package readapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// rootFolder creates a folder at the root of department as the admin.
func rootFolder(t *testing.T, srv *apitest.Server, department int64, name string) int64 {
	t.Helper()
	var out struct {
		ID int64 `json:"folder_id"`
	}
	srv.Do(t, http.MethodPost, "/backend/api/folders/", srv.AdminToken,
		map[string]any{"name": name, "department": department}).Want(t, http.StatusCreated).JSON(t, &out)
	return out.ID
}

// folderParents walks GET /backend/api/folders/ and returns the parent of
// every folder listed (0 at the root), failing on a folder listed twice.
func folderParents(t *testing.T, srv *apitest.Server) map[int64]int64 {
	t.Helper()
	type node struct {
		ID      int64  `json:"folder_id"`
		Folders []node `json:"folders"`
	}
	var list struct {
		Folders []node `json:"folders"`
	}
	srv.Do(t, http.MethodGet, "/backend/api/folders/", srv.AdminToken, nil).Want(t, http.StatusOK).JSON(t, &list)
	out := map[int64]int64{}
	var walk func(parent int64, ns []node)
	walk = func(parent int64, ns []node) {
		for _, n := range ns {
			if _, dup := out[n.ID]; dup {
				t.Fatalf("folder %d listed twice", n.ID)
			}
			out[n.ID] = parent
			walk(n.ID, n.Folders)
		}
	}
	walk(0, list.Folders)
	return out
}

// storedParent returns folder id's parent_id as GET
// /backend/api/folders/<id>/ has it (0 at the root).
func storedParent(t *testing.T, srv *apitest.Server, id int64) int64 {
	t.Helper()
	var out []struct {
		ParentID *int64 `json:"parent_id"`
	}
	srv.Do(t, http.MethodGet, fmt.Sprintf("/backend/api/folders/%d/", id), srv.AdminToken, nil).
		Want(t, http.StatusOK).JSON(t, &out)
	if len(out) != 1 || out[0].ParentID == nil {
		return 0
	}
	return *out[0].ParentID
}

// treeFolders returns the ids of the folder nodes of GET
// /backend/api/folders/?tree.
func treeFolders(t *testing.T, srv *apitest.Server) map[int64]bool {
	t.Helper()
	type node struct {
		ID       *int64 `json:"id"`
		Type     string `json:"type"`
		Children []node `json:"children"`
	}
	var home node
	srv.Do(t, http.MethodGet, "/backend/api/folders/?tree", srv.AdminToken, nil).Want(t, http.StatusOK).JSON(t, &home)
	out := map[int64]bool{}
	var walk func(n node)
	walk = func(n node) {
		if n.Type == "folder" && n.ID != nil {
			out[*n.ID] = true
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(home)
	return out
}

// TestFolderOppositeMovesMakeNoCycle moves two folders into each other at
// the same time, round after round: at most one move succeeds (the other
// is the 400 naming parent_id), and both folders stay in the list and the
// tree, neither under the other both ways.
func TestFolderOppositeMovesMakeNoCycle(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	dept := srv.Department(t, "Tree race")
	const rounds = 20

	for round := range rounds {
		x := rootFolder(t, srv, dept, fmt.Sprintf("X %d", round))
		y := rootFolder(t, srv, dept, fmt.Sprintf("Y %d", round))
		statuses := [2]int{}
		bodies := [2]string{}
		var wg sync.WaitGroup
		for i, move := range [2][2]int64{{x, y}, {y, x}} {
			wg.Go(func() {
				r := srv.Do(t, http.MethodPost, "/backend/api/folders/", srv.AdminToken,
					map[string]any{"old_folder": move[0], "new_folder": move[1]})
				statuses[i], bodies[i] = r.Status, string(r.Body)
			})
		}
		wg.Wait()

		ok := 0
		for i, s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusBadRequest, http.StatusConflict:
			default:
				t.Errorf("round %d, move %d: status %d (%s), want 200, 400 or 409", round, i, s, bodies[i])
			}
		}
		if ok > 1 {
			t.Errorf("round %d: both opposite moves succeeded", round)
		}
		parents := folderParents(t, srv)
		if _, ok := parents[x]; !ok {
			t.Fatalf("round %d: folder %d missing from the list: %v", round, x, parents)
		}
		if _, ok := parents[y]; !ok {
			t.Fatalf("round %d: folder %d missing from the list: %v", round, y, parents)
		}
		if storedParent(t, srv, x) == y && storedParent(t, srv, y) == x {
			t.Fatalf("round %d: folders %d and %d are each other's parent", round, x, y)
		}
		tree := treeFolders(t, srv)
		if !tree[x] || !tree[y] {
			t.Fatalf("round %d: folders %d and %d missing from the tree", round, x, y)
		}
	}
}

// TestFolderCycleInOldDataShown writes a cycle into the log, as two moves
// could before they were claimed on the folder tree stream: both folders
// are still listed, at the department root by the lower id.
func TestFolderCycleInOldDataShown(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	dept := srv.Department(t, "Old cycle")
	x := rootFolder(t, srv, dept, "X")
	y := rootFolder(t, srv, dept, "Y")
	ctx := context.Background()
	meta := commands.Meta{Actor: "account-1", CommandID: uuid.New(), Now: time.Now()}
	var last eventstore.AppendResult
	for _, m := range [][2]int64{{x, y}, {y, x}} {
		res, err := srv.Log.Append(ctx, fmt.Sprintf("folder-%d", m[0]), eventstore.StreamExists(), meta,
			&eventschemas.FolderMoved{FolderID: m[0], ParentID: m[1], DepartmentID: dept, FromDepartmentID: dept})
		if err != nil {
			t.Fatal(err)
		}
		last = res
	}
	if err := srv.Manager.WaitFor(ctx, last.Position); err != nil {
		t.Fatal(err)
	}

	low, high := min(x, y), max(x, y)
	parents := folderParents(t, srv)
	if p, ok := parents[low]; !ok || p != 0 {
		t.Errorf("folder %d: listed %v with parent %d, want at the root", low, ok, p)
	}
	if p, ok := parents[high]; !ok || p != low {
		t.Errorf("folder %d: listed %v with parent %d, want under %d", high, ok, p, low)
	}
	tree := treeFolders(t, srv)
	if !tree[x] || !tree[y] {
		t.Errorf("the tree lacks folder %d or %d", x, y)
	}
}
