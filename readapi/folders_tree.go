package readapi

import (
	"context"
	"slices"

	"github.com/cometa-es/cometa/projections"
)

// treeNode is a node of GET /backend/api/folders/?tree: "home",
// "department", "variables", "variable", "folder" or "feature". Which keys
// a node has depends on its type, as in Cometa.
type treeNode struct {
	ID              *int64     `json:"id,omitempty"`
	ParentID        *int64     `json:"parent_id,omitempty"`
	Department      *int64     `json:"department,omitempty"`
	Name            string     `json:"name"`
	Type            string     `json:"type"`
	Value           *string    `json:"value,omitempty"`
	DependsOnOthers *bool      `json:"depends_on_others,omitempty"`
	Children        []treeNode `json:"children"`
}

// homeTree builds the ?tree answer: Home, then one node per department of
// the caller with its variables (and the features using each), its
// folders and its root features; each feature lists the features it uses,
// those that use it, and the variables it mentions.
func (h *folderAPI) homeTree(ctx context.Context, who Caller, t *tree) (treeNode, error) {
	all := who.SeesAllDepartments()
	names, err := h.folders.DepartmentNames(ctx)
	if err != nil {
		return treeNode{}, err
	}
	departments := slices.Clone(who.Departments)
	if all {
		departments = departments[:0]
		for id := range names {
			departments = append(departments, id)
		}
	}
	slices.Sort(departments)
	variables, err := projections.NewVariableReader(h.Pool).List(ctx,
		projections.VariableFilter{Departments: who.Departments, All: all})
	if err != nil {
		return treeNode{}, err
	}
	refs, err := h.features.reader.Refs(ctx, who.Departments, all)
	if err != nil {
		return treeNode{}, err
	}
	g := newFeatureGraph(t.placed, refs, variables)

	home := treeNode{Name: "Home", Type: "home", Children: []treeNode{}}
	for _, dep := range departments {
		node := treeNode{ID: treeRef(dep), Name: names[dep], Type: "department", Children: []treeNode{}}
		vars := treeNode{Name: "Variables", Type: "variables", Children: []treeNode{}}
		for _, v := range variables {
			if v.Department == dep {
				leaf := treeNode{Name: v.VariableName, Type: "variable", Value: treeRef(v.VariableValue),
					Children: []treeNode{}}
				for _, f := range v.InUse {
					if p, ok := g.byID[f]; ok {
						leaf.Children = append(leaf.Children, featureLeaf(p))
					}
				}
				vars.Children = append(vars.Children, leaf)
			}
		}
		node.Children = append(node.Children, vars)
		for _, f := range t.children[0] {
			if f.DepartmentID == dep {
				node.Children = append(node.Children, g.folderNode(t, f))
			}
		}
		for _, p := range t.inFolder[0] {
			if p.DepartmentID == dep {
				node.Children = append(node.Children, g.featureNode(p))
			}
		}
		home.Children = append(home.Children, node)
	}
	return home, nil
}

func treeRef[T any](v T) *T { return &v }

// featureGraph is who uses whom among the caller's features.
type featureGraph struct {
	byID   map[int64]projections.PlacementRow
	uses   map[int64][]int64
	usedBy map[int64][]int64
	vars   map[int64][]projections.VariableView
}

func newFeatureGraph(placed []projections.PlacementRow, refs []projections.FeatureRef,
	variables []projections.VariableView) *featureGraph {
	g := &featureGraph{byID: map[int64]projections.PlacementRow{}, uses: map[int64][]int64{},
		usedBy: map[int64][]int64{}, vars: map[int64][]projections.VariableView{}}
	byName := map[[2]any][]int64{}
	for _, p := range placed {
		g.byID[p.FeatureID] = p
		key := [2]any{p.DepartmentID, p.FeatureName}
		byName[key] = append(byName[key], p.FeatureID)
	}
	for _, r := range refs {
		from, ok := g.byID[r.FeatureID]
		if !ok {
			continue
		}
		to := r.RefID
		if to == 0 {
			if ids := byName[[2]any{from.DepartmentID, r.RefName}]; len(ids) == 1 {
				to = ids[0]
			}
		}
		if _, ok := g.byID[to]; ok && to != r.FeatureID {
			g.uses[r.FeatureID] = append(g.uses[r.FeatureID], to)
			g.usedBy[to] = append(g.usedBy[to], r.FeatureID)
		}
	}
	for _, v := range variables {
		for _, f := range v.InUse {
			g.vars[f] = append(g.vars[f], v)
		}
	}
	return g
}

func featureLeaf(p projections.PlacementRow) treeNode {
	return treeNode{ID: treeRef(p.FeatureID), Name: p.FeatureName, Type: "feature",
		DependsOnOthers: treeRef(p.DependsOnOthers), Children: []treeNode{}}
}

func (g *featureGraph) featureNode(p projections.PlacementRow) treeNode {
	n := featureLeaf(p)
	group := func(name, typ string, ids []int64) treeNode {
		out := treeNode{Name: name, Type: typ, Children: []treeNode{}}
		for _, id := range ids {
			out.Children = append(out.Children, featureLeaf(g.byID[id]))
		}
		return out
	}
	vars := treeNode{Name: "Variables", Type: "variable", Children: []treeNode{}}
	for _, v := range g.vars[p.FeatureID] {
		vars.Children = append(vars.Children, treeNode{Name: v.VariableName, Type: "variable",
			Value: treeRef(v.VariableValue), Children: []treeNode{}})
	}
	n.Children = append(n.Children, group("Uses", "folder", g.uses[p.FeatureID]),
		group("Used By", "folder", g.usedBy[p.FeatureID]), vars)
	return n
}

func (g *featureGraph) folderNode(t *tree, f projections.FolderRow) treeNode {
	n := treeNode{ID: treeRef(f.FolderID), ParentID: treeRef(f.ParentID), Department: treeRef(f.DepartmentID),
		Name: f.Name, Type: "folder", Children: []treeNode{}}
	for _, sub := range t.children[f.FolderID] {
		n.Children = append(n.Children, g.folderNode(t, sub))
	}
	for _, p := range t.inFolder[f.FolderID] {
		n.Children = append(n.Children, g.featureNode(p))
	}
	return n
}
