package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventschemas"
)

// Folders is the read model of the folder trees: every folder with its
// parent and department, and where every feature is placed (folder 0: the
// department root). Deleting a folder deletes its sub-folders and returns
// the features they held to the root; moving a folder to another department
// moves its sub-folders with it; deleting a department deletes its folders
// and hides its features, as a feature deletion does (Cometa orphans them).
// Deleted folders keep a row (deleted = true), so that the highest folder
// id survives. The deleted departments are kept (gone_departments), so
// that a feature saved into one is hidden too.
type Folders struct{}

// NewFolders returns the folders read model.
func NewFolders() *Folders { return &Folders{} }

var (
	_ ReadModel = (*Folders)(nil)
	_ Queuer    = (*Folders)(nil)
)

// Name returns "folders".
func (*Folders) Name() string { return "folders" }

// Version returns the version of the tables and Apply logic.
func (*Folders) Version() int { return 2 }

// DDL creates the tables.
func (*Folders) DDL() string {
	return `
CREATE TABLE folders (
	folder_id bigint PRIMARY KEY,
	name text NOT NULL,
	department_id bigint NOT NULL,
	parent_id bigint NOT NULL,
	owner_id bigint NOT NULL,
	created_on timestamptz NOT NULL,
	deleted boolean NOT NULL DEFAULT false);
CREATE INDEX folders_parent ON folders (parent_id) WHERE NOT deleted;
CREATE INDEX folders_department ON folders (department_id) WHERE NOT deleted;
CREATE TABLE placements (
	feature_id bigint PRIMARY KEY,
	department_id bigint NOT NULL DEFAULT 0,
	folder_id bigint NOT NULL DEFAULT 0,
	feature_name text NOT NULL DEFAULT '',
	depends_on_others boolean NOT NULL DEFAULT false,
	deleted boolean NOT NULL DEFAULT false);
CREATE INDEX placements_folder ON placements (folder_id) WHERE NOT deleted;
CREATE TABLE departments (department_id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE gone_departments (department_id bigint PRIMARY KEY);`
}

// EventTypes lists the events the model projects.
func (*Folders) EventTypes() []string {
	return []string{
		eventschemas.TypeFolderCreated, eventschemas.TypeFolderRenamed, eventschemas.TypeFolderMoved,
		eventschemas.TypeFolderDeleted,
		eventschemas.TypeFeatureCreated, eventschemas.TypeFeatureSaved, eventschemas.TypeFeatureMovedToFolder,
		eventschemas.TypeFeatureDeleted,
		eventschemas.TypeDepartmentCreated, eventschemas.TypeDepartmentRenamed, eventschemas.TypeDepartmentDeleted,
	}
}

// Apply projects one event.
func (m *Folders) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	b := &pgx.Batch{}
	if err := m.Queue(b, ev); err != nil {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}

// subtree selects a live folder ($1) and its live descendants.
const subtree = `WITH RECURSIVE sub AS (
		SELECT folder_id FROM folders WHERE folder_id = $1 AND NOT deleted
		UNION SELECT f.folder_id FROM folders f JOIN sub ON f.parent_id = sub.folder_id WHERE NOT f.deleted)`

// Queue queues the statements for one event.
func (m *Folders) Queue(b *pgx.Batch, ev Event) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.FolderCreated:
		b.Queue(`INSERT INTO folders (folder_id, name, department_id, parent_id, owner_id, created_on)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (folder_id) DO NOTHING`,
			e.FolderID, e.Name, e.DepartmentID, e.ParentID, e.OwnerID, ev.OccurredAt)
	case *eventschemas.FolderRenamed:
		b.Queue(`UPDATE folders SET name = $2 WHERE folder_id = $1`, e.FolderID, e.Name)
	case *eventschemas.FolderMoved:
		b.Queue(subtree+` UPDATE folders SET department_id = $2 WHERE folder_id IN (SELECT folder_id FROM sub)`,
			e.FolderID, e.DepartmentID)
		b.Queue(`UPDATE folders SET parent_id = $2 WHERE folder_id = $1`, e.FolderID, e.ParentID)
	case *eventschemas.FolderDeleted:
		b.Queue(subtree+` UPDATE folders SET deleted = true WHERE folder_id IN (SELECT folder_id FROM sub)`,
			e.FolderID)
		b.Queue(`UPDATE placements p SET folder_id = 0 FROM folders f
			WHERE p.folder_id = f.folder_id AND f.deleted`)
	case *eventschemas.FeatureCreated:
		b.Queue(`INSERT INTO placements (feature_id) VALUES ($1) ON CONFLICT (feature_id) DO NOTHING`, e.FeatureID)
	case *eventschemas.FeatureSaved:
		b.Queue(`UPDATE placements SET department_id = $2, feature_name = $3, depends_on_others = $4
			WHERE feature_id = $1`, e.FeatureID, e.Definition.DepartmentID, e.Definition.FeatureName,
			e.Definition.DependsOnOthers)
		// A deleted feature is never saved again, so deleted can only have
		// been set by its department's deletion.
		b.Queue(`UPDATE placements
			SET deleted = EXISTS (SELECT 1 FROM gone_departments g WHERE g.department_id = $2)
			WHERE feature_id = $1`, e.FeatureID, e.Definition.DepartmentID)
	case *eventschemas.FeatureMovedToFolder:
		b.Queue(`UPDATE placements SET folder_id = $2 WHERE feature_id = $1`, e.FeatureID, e.FolderID)
	case *eventschemas.FeatureDeleted:
		b.Queue(`UPDATE placements SET deleted = true WHERE feature_id = $1`, e.FeatureID)
	case *eventschemas.DepartmentDeleted:
		b.Queue(`INSERT INTO gone_departments (department_id) VALUES ($1) ON CONFLICT (department_id) DO NOTHING`,
			e.DepartmentID)
		b.Queue(`UPDATE folders SET deleted = true WHERE department_id = $1`, e.DepartmentID)
		b.Queue(`UPDATE placements p SET folder_id = 0 FROM folders f
			WHERE p.folder_id = f.folder_id AND f.deleted`)
		b.Queue(`UPDATE placements SET deleted = true WHERE department_id = $1`, e.DepartmentID)
		return queueNames(b, ev, false)
	default:
		return queueNames(b, ev, false)
	}
	return nil
}

// FolderRow is one live folder.
type FolderRow struct {
	FolderID     int64
	Name         string
	DepartmentID int64
	ParentID     int64
	OwnerID      int64
	CreatedOn    time.Time
}

// PlacementRow is where a live feature is.
type PlacementRow struct {
	FeatureID       int64
	DepartmentID    int64
	FolderID        int64
	FeatureName     string
	DependsOnOthers bool
}

// FolderReader queries the folders read model.
type FolderReader struct{ pool *pgxpool.Pool }

// NewFolderReader returns a reader on pool.
func NewFolderReader(pool *pgxpool.Pool) *FolderReader { return &FolderReader{pool: pool} }

// Folders returns the live folders of the departments (all when all is
// set), by id.
func (r *FolderReader) Folders(ctx context.Context, departments []int64, all bool) ([]FolderRow, error) {
	rows, err := r.pool.Query(ctx, `SELECT folder_id, name, department_id, parent_id, owner_id, created_on
		FROM rm_folders.folders WHERE NOT deleted AND ($2 OR department_id = ANY($1)) ORDER BY folder_id`,
		departments, all)
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[FolderRow])
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	return out, nil
}

// Placements returns where the live features of the departments (all when
// all is set) are, by feature id.
func (r *FolderReader) Placements(ctx context.Context, departments []int64, all bool) ([]PlacementRow, error) {
	rows, err := r.pool.Query(ctx, `SELECT feature_id, department_id, folder_id, feature_name, depends_on_others
		FROM rm_folders.placements WHERE NOT deleted AND department_id <> 0 AND ($2 OR department_id = ANY($1))
		ORDER BY feature_id`, departments, all)
	if err != nil {
		return nil, fmt.Errorf("list feature placements: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[PlacementRow])
	if err != nil {
		return nil, fmt.Errorf("list feature placements: %w", err)
	}
	return out, nil
}

// Folder returns live folder id.
func (r *FolderReader) Folder(ctx context.Context, id int64) (FolderRow, bool, error) {
	rows, err := r.pool.Query(ctx, `SELECT folder_id, name, department_id, parent_id, owner_id, created_on
		FROM rm_folders.folders WHERE folder_id = $1 AND NOT deleted`, id)
	if err != nil {
		return FolderRow{}, false, fmt.Errorf("get folder %d: %w", id, err)
	}
	f, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[FolderRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return FolderRow{}, false, nil
	}
	if err != nil {
		return FolderRow{}, false, fmt.Errorf("get folder %d: %w", id, err)
	}
	return f, true, nil
}

// Descendants returns the live folders below folder id, parents before
// children, and the height of its subtree (0 without sub-folders).
func (r *FolderReader) Descendants(ctx context.Context, id int64) (ids []int64, height int, err error) {
	rows, err := r.pool.Query(ctx, liveSubtree+`
		SELECT folder_id, depth FROM sub WHERE depth > 0 ORDER BY depth, folder_id`, id)
	if err != nil {
		return nil, 0, fmt.Errorf("folders below folder %d: %w", id, err)
	}
	var fid int64
	var depth int
	_, err = pgx.ForEachRow(rows, []any{&fid, &depth}, func() error {
		ids = append(ids, fid)
		height = max(height, depth)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("folders below folder %d: %w", id, err)
	}
	return ids, height, nil
}

// liveSubtree selects, as sub, the live folder $1 (depth 0) and its live
// descendants with their depth below it.
const liveSubtree = `WITH RECURSIVE sub AS (
		SELECT folder_id, 0 AS depth FROM rm_folders.folders WHERE folder_id = $1 AND NOT deleted
		UNION ALL SELECT f.folder_id, sub.depth + 1 FROM rm_folders.folders f
			JOIN sub ON f.parent_id = sub.folder_id WHERE NOT f.deleted AND sub.depth < 100)`

// FeaturesUnder returns the live features placed in folder id or any live
// folder below it.
func (r *FolderReader) FeaturesUnder(ctx context.Context, id int64) ([]int64, error) {
	rows, err := r.pool.Query(ctx, liveSubtree+`
		SELECT p.feature_id FROM rm_folders.placements p JOIN sub ON p.folder_id = sub.folder_id
		WHERE NOT p.deleted ORDER BY p.feature_id`, id)
	if err != nil {
		return nil, fmt.Errorf("features under folder %d: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("features under folder %d: %w", id, err)
	}
	return out, nil
}

// DepartmentName returns the name of department id.
func (r *FolderReader) DepartmentName(ctx context.Context, id int64) (string, bool, error) {
	var name string
	err := r.pool.QueryRow(ctx, `SELECT name FROM rm_folders.departments WHERE department_id = $1`, id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("name of department %d: %w", id, err)
	}
	return name, true, nil
}

// FoldersByName returns the ids of the live folders named name in
// department, lowest first, at most limit of them. Folder names are unique
// only among siblings, so a name may stand for several folders.
func (r *FolderReader) FoldersByName(ctx context.Context, department int64, name string, limit int) ([]int64, error) {
	rows, err := r.pool.Query(ctx, `SELECT folder_id FROM rm_folders.folders
		WHERE department_id = $1 AND name = $2 AND NOT deleted ORDER BY folder_id LIMIT $3`,
		department, name, limit)
	if err != nil {
		return nil, fmt.Errorf("folders named %q: %w", name, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("folders named %q: %w", name, err)
	}
	return ids, nil
}

// MaxID returns the highest folder id ever projected (a seed for
// commands.IDs).
func (r *FolderReader) MaxID(ctx context.Context) (int64, error) {
	var id int64
	if err := r.pool.QueryRow(ctx, `SELECT coalesce(max(folder_id), 0) FROM rm_folders.folders`).Scan(&id); err != nil {
		return 0, fmt.Errorf("highest folder id: %w", err)
	}
	return id, nil
}

// DepartmentNames returns the names of the departments the model knows.
func (r *FolderReader) DepartmentNames(ctx context.Context) (map[int64]string, error) {
	rows, err := r.pool.Query(ctx, `SELECT department_id, name FROM rm_folders.departments`)
	if err != nil {
		return nil, fmt.Errorf("department names: %w", err)
	}
	out := map[int64]string{}
	var id int64
	var name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		out[id] = name
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("department names: %w", err)
	}
	return out, nil
}
