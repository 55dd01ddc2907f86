package readapi

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/folder"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
)

// folderAPI serves the folder trees and moves features between folders.
// Folders of a department the caller is not a member of answer 404.
type folderAPI struct {
	*api
	folders  *projections.FolderReader
	features *featureAPI
	commands *commands.Folders
}

func (a *api) folderRoutes(r *routes) {
	features := a.featureAPI()
	reader := projections.NewFolderReader(a.Pool)
	h := &folderAPI{api: a, folders: reader, features: features,
		commands: commands.NewFolders(a.Log, a.IDs, reader, features.commands)}
	r.get("/api/folders/", h.list)
	r.get("/api/folders/:folder_id/", h.get)
	r.post("/api/folders/", h.create)
	r.patch("/api/folders/", h.update)
	r.delete("/api/folders/:folder_id/remove/", h.remove)
	r.delete("/api/folders/:folder_id/", h.remove)
	r.patch("/api/folder/feature/", h.moveFeature)
}

// folderJSON is a folder as Cometa serializes it in the folder list: its
// features (ids) and sub-folders nested.
type folderJSON struct {
	FolderID   int64        `json:"folder_id"`
	Name       string       `json:"name"`
	Owner      *int64       `json:"owner"`
	Department int64        `json:"department"`
	ParentID   *int64       `json:"parent_id"`
	CreatedOn  string       `json:"created_on"`
	Features   []int64      `json:"features"`
	Folders    []folderJSON `json:"folders"`
}

func toFolderJSON(f projections.FolderRow) folderJSON {
	out := folderJSON{FolderID: f.FolderID, Name: f.Name, Department: f.DepartmentID,
		CreatedOn: f.CreatedOn.UTC().Format(isoMicro), Features: []int64{}, Folders: []folderJSON{}}
	if f.OwnerID != 0 {
		out.Owner = &f.OwnerID
	}
	if f.ParentID != 0 {
		out.ParentID = &f.ParentID
	}
	return out
}

// tree is what the folder list is built from: the caller's folders and
// where the caller's features are.
type tree struct {
	folders  []projections.FolderRow
	placed   []projections.PlacementRow
	children map[int64][]projections.FolderRow
	inFolder map[int64][]projections.PlacementRow
}

func (h *folderAPI) load(ctx context.Context, who Caller) (*tree, error) {
	all := who.SeesAllDepartments()
	folders, err := h.folders.Folders(ctx, who.Departments, all)
	if err != nil {
		return nil, err
	}
	placed, err := h.folders.Placements(ctx, who.Departments, all)
	if err != nil {
		return nil, err
	}
	t := &tree{folders: folders, placed: placed, children: map[int64][]projections.FolderRow{},
		inFolder: map[int64][]projections.PlacementRow{}}
	live := map[int64]bool{}
	for _, f := range folders {
		live[f.FolderID] = true
	}
	for _, f := range folders {
		parent := f.ParentID
		if !live[parent] {
			parent = 0
		}
		t.children[parent] = append(t.children[parent], f)
	}
	t.rootUnreachable()
	for _, p := range placed {
		folder := p.FolderID
		if !live[folder] {
			folder = 0
		}
		t.inFolder[folder] = append(t.inFolder[folder], p)
	}
	return t, nil
}

// rootUnreachable puts at the root the folders that no root leads to,
// which only a cycle in the parent links can do (two moves raced before
// moves were claimed on the folder tree stream): they are shown rather
// than lost. Going by id, the lowest unreachable folder of each such part
// becomes a root, so the answer does not depend on timing or rebuilds.
func (t *tree) rootUnreachable() {
	reached := map[int64]bool{}
	var reach func(id int64)
	reach = func(id int64) {
		for _, sub := range t.children[id] {
			if !reached[sub.FolderID] {
				reached[sub.FolderID] = true
				reach(sub.FolderID)
			}
		}
	}
	reach(0)
	for _, f := range t.folders {
		if reached[f.FolderID] {
			continue
		}
		t.children[f.ParentID] = slices.DeleteFunc(t.children[f.ParentID], func(sub projections.FolderRow) bool {
			return sub.FolderID == f.FolderID
		})
		t.children[0] = append(t.children[0], f)
		reached[f.FolderID] = true
		reach(f.FolderID)
	}
}

// nest returns folder f with everything below it.
func (t *tree) nest(f projections.FolderRow) folderJSON {
	out := toFolderJSON(f)
	for _, p := range t.inFolder[f.FolderID] {
		out.Features = append(out.Features, p.FeatureID)
	}
	for _, sub := range t.children[f.FolderID] {
		out.Folders = append(out.Folders, t.nest(sub))
	}
	return out
}

// list is GET /backend/api/folders/: {"folders": [...], "features": [ids
// of the features at a department root]}; with ?tree, the tree of spec
// §5.12 from "Home" down.
func (h *folderAPI) list(c *fiber.Ctx) error {
	who := callerOf(c)
	ctx := c.UserContext()
	t, err := h.load(ctx, who)
	if err != nil {
		return err
	}
	if c.Context().QueryArgs().Has("tree") {
		home, err := h.homeTree(ctx, who, t)
		if err != nil {
			return err
		}
		return c.JSON(home)
	}
	out := fiber.Map{"folders": []folderJSON{}, "features": []int64{}}
	roots := []folderJSON{}
	for _, f := range t.children[0] {
		roots = append(roots, t.nest(f))
	}
	rootFeatures := []int64{}
	for _, p := range t.inFolder[0] {
		rootFeatures = append(rootFeatures, p.FeatureID)
	}
	out["folders"], out["features"] = roots, rootFeatures
	return c.JSON(out)
}

// get is GET /backend/api/folders/<id>/: [folder], as Cometa answers it
// (features always empty there).
func (h *folderAPI) get(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "folder_id")
	if err != nil {
		return err
	}
	f, err := h.visible(c.UserContext(), who, id)
	if err != nil {
		return err
	}
	return c.JSON([]folderJSON{toFolderJSON(f)})
}

func (h *folderAPI) visible(ctx context.Context, who Caller, id int64) (projections.FolderRow, error) {
	f, ok, err := h.folders.Folder(ctx, id)
	if err != nil {
		return f, err
	}
	if !ok || !who.InDepartment(f.DepartmentID) {
		return f, domain.NotFound("folder", id)
	}
	return f, nil
}

// folderBody is the body of the folder writes. Cometa names the new name
// "name" (and the old doc "folder_name"), the department "department".
type folderBody struct {
	FolderID     *int64  `json:"folder_id"`
	Name         *string `json:"name"`
	FolderName   *string `json:"folder_name"`
	Department   *int64  `json:"department"`
	DepartmentID *int64  `json:"department_id"`
	ParentID     *int64  `json:"parent_id"`
	OldFolder    *int64  `json:"old_folder"`
	NewFolder    *int64  `json:"new_folder"`
}

func (b folderBody) name() *string {
	if b.Name != nil {
		return b.Name
	}
	return b.FolderName
}

func (b folderBody) department() int64 {
	switch {
	case b.Department != nil:
		return *b.Department
	case b.DepartmentID != nil:
		return *b.DepartmentID
	}
	return 0
}

// create is POST /backend/api/folders/: a new folder {name, department,
// parent_id} answered 201 with the folder; or, with old_folder and
// new_folder, folder old_folder moved into folder new_folder (0: the
// root), answered {"success": true}.
func (h *folderAPI) create(c *fiber.Ctx) error {
	who := callerOf(c)
	var body folderBody
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	ctx := c.UserContext()
	if body.OldFolder != nil || body.NewFolder != nil {
		if body.OldFolder == nil || body.NewFolder == nil {
			return domain.Invalid("old_folder", "old_folder and new_folder go together: move folder old_folder into new_folder")
		}
		res, _, err := h.commands.Move(ctx, h.meta(c), who.Actor, *body.OldFolder, *body.NewFolder, body.department())
		return h.answer(c, res.Position, err, featureModels...)
	}
	if err := who.Require(string(role.CreateFolder)); err != nil {
		return err
	}
	name := body.name()
	if name == nil {
		return domain.Invalid("name", "is required")
	}
	parent := int64(0)
	if body.ParentID != nil {
		parent = *body.ParentID
	}
	department := body.department()
	if department == 0 && parent == 0 && len(who.Departments) == 1 {
		department = who.Departments[0]
	}
	id, res, err := h.commands.Create(ctx, h.meta(c), who.Actor, *name, parent, department)
	if err != nil {
		return err
	}
	if err := h.settle(ctx, res.Position, "folders"); err != nil {
		return err
	}
	f, err := h.visible(ctx, who, id)
	if err != nil {
		return err
	}
	return created(c, struct {
		Success bool `json:"success"`
		folderJSON
	}{true, toFolderJSON(f)})
}

// update is PATCH /backend/api/folders: {folder_id, name?, parent_id?,
// department?} renames and/or moves a folder. The move, which more checks
// can refuse, goes first; a name is checked before either.
func (h *folderAPI) update(c *fiber.Ctx) error {
	who := callerOf(c)
	var body folderBody
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	if body.FolderID == nil {
		return domain.Invalid("folder_id", "is required")
	}
	id, name := *body.FolderID, body.name()
	move := body.ParentID != nil || body.department() != 0
	if name == nil && !move {
		return domain.Invalid("name", "nothing to change: send name, parent_id or department")
	}
	if name != nil {
		if _, err := domain.RequireText("name", *name, folder.MaxNameLength); err != nil {
			return err
		}
	}
	ctx := c.UserContext()
	var last eventstore.AppendResult
	if move {
		s, err := h.commands.Load(ctx, who.Actor, id)
		if err != nil {
			return err
		}
		// Under a parent, a department sent must be the parent's: Move
		// refuses any other rather than drop it.
		parent, department := s.ParentID, body.department()
		if body.ParentID != nil {
			parent = *body.ParentID
		}
		if last, _, err = h.commands.Move(ctx, h.meta(c), who.Actor, id, parent, department); err != nil {
			return err
		}
	}
	if name != nil {
		res, _, err := h.commands.Rename(ctx, h.meta(c), who.Actor, id, *name)
		if err != nil {
			return err
		}
		if last.Position.Less(res.Position) {
			last = res
		}
	}
	return h.answer(c, last.Position, nil, featureModels...)
}

// remove is DELETE /backend/api/folders/<id>/remove/: the folder and its
// sub-folders go; their features return to the department root.
func (h *folderAPI) remove(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "folder_id")
	if err != nil {
		return err
	}
	res, err := h.commands.Delete(c.UserContext(), h.meta(c), who.Actor, id)
	return h.answer(c, res.Position, err, featureModels...)
}

// moveFeatureBody is PATCH /backend/api/folder/feature/. new_folder is a
// folder id or name; absent or 0, the department root.
type moveFeatureBody struct {
	FeatureID    *int64          `json:"feature_id"`
	OldFolder    json.RawMessage `json:"old_folder"`
	NewFolder    json.RawMessage `json:"new_folder"`
	DepartmentID *int64          `json:"department_id"`
}

// moveFeature puts a feature into a folder, or at the root of its (or
// another) department.
func (h *folderAPI) moveFeature(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.EditFeature)); err != nil {
		return err
	}
	var body moveFeatureBody
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	if body.FeatureID == nil {
		return domain.Invalid("feature_id", "is required")
	}
	ctx := c.UserContext()
	v, err := h.features.visible(ctx, who, *body.FeatureID)
	if err != nil {
		return err
	}
	department := v.DepartmentID
	if body.DepartmentID != nil && *body.DepartmentID != 0 {
		department = *body.DepartmentID
	}
	folder, err := h.targetFolder(ctx, who, department, body.NewFolder)
	if err != nil {
		return err
	}
	if folder.FolderID != 0 {
		department = folder.DepartmentID
	}
	name, known, err := h.folders.DepartmentName(ctx, department)
	if err != nil {
		return err
	}
	if !known {
		return domain.Invalid("department_id", "no department %d", department)
	}
	res, _, err := h.features.commands.MoveToFolder(ctx, h.meta(c), who.Actor, v.FeatureID, folder.FolderID,
		department, name)
	return h.answer(c, res.Position, err, featureModels...)
}

// targetFolder resolves new_folder: a folder id (number or numeric
// string) or a folder name in department; absent, null, "" or 0 is the
// root.
func (h *folderAPI) targetFolder(ctx context.Context, who Caller, department int64, raw json.RawMessage) (
	projections.FolderRow, error) {
	if !given(raw) {
		return projections.FolderRow{}, nil
	}
	var id int64
	if err := json.Unmarshal(raw, &id); err != nil {
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return projections.FolderRow{}, domain.Invalid("new_folder", "must be a folder id or name")
		}
		if err := domain.CheckFreeText("new_folder", name); err != nil {
			return projections.FolderRow{}, err
		}
		switch name = strings.TrimSpace(name); {
		case name == "":
		case isDigits(name):
			id, _ = strconv.ParseInt(name, 10, 64)
		default:
			found, err := h.folderByName(ctx, who, department, name)
			if err != nil {
				return projections.FolderRow{}, err
			}
			id = found
		}
	}
	if id == 0 {
		return projections.FolderRow{}, nil
	}
	f, err := h.visible(ctx, who, id)
	if err != nil {
		return f, domain.Invalid("new_folder", "no folder %d", id)
	}
	return f, nil
}

// folderByName resolves a folder name of new_folder. Names are unique only
// among siblings: a name several folders of the department have is
// refused, naming some of their ids when the caller can see them, rather
// than one of them picked.
func (h *folderAPI) folderByName(ctx context.Context, who Caller, department int64, name string) (int64, error) {
	const shown = 5
	ids, err := h.folders.FoldersByName(ctx, department, name, shown+1)
	switch {
	case err != nil:
		return 0, err
	case len(ids) == 0:
		return 0, domain.Invalid("new_folder", "no folder named %q in department %d", name, department)
	case len(ids) == 1:
		return ids[0], nil
	case !who.InDepartment(department):
		return 0, domain.Invalid("new_folder",
			"%q is the name of more than one folder in department %d: give the folder id instead", name, department)
	}
	list := make([]string, 0, shown)
	for _, id := range ids[:min(len(ids), shown)] {
		list = append(list, strconv.FormatInt(id, 10))
	}
	if len(ids) > shown {
		list = append(list, "...")
	}
	return 0, domain.Invalid("new_folder",
		"%q is the name of more than one folder in department %d: give the folder id instead (one of %s)",
		name, department, strings.Join(list, ", "))
}

func isDigits(s string) bool {
	_, err := strconv.ParseUint(s, 10, 63)
	return err == nil
}

// answer finishes a write: the error, or {"success": true} once the
// models have the write.
func (h *folderAPI) answer(c *fiber.Ctx, pos eventstore.Position, err error, models ...string) error {
	if err != nil {
		return err
	}
	if err := h.settle(c.UserContext(), pos, models...); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true})
}
