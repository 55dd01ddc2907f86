package commands

import (
	"context"
	"fmt"

	"github.com/cometa-es/cometa/domain/catalog"
	"github.com/cometa-es/cometa/domain/feature"
)

// currentNames gives def the names its department, application and
// environment have on their streams now. A feature holds the ids and a
// copy of the names, and a rename changes only the catalogue's stream, so
// the copy is refreshed whenever a version is saved or a run requested.
// An object that no longer exists (or an id of 0) keeps def's own copy.
func currentNames(ctx context.Context, l *Log, def *feature.Definition) error {
	if def.DepartmentID > 0 {
		dep, err := LoadDepartment(ctx, l, def.DepartmentID)
		if err != nil {
			return err
		}
		if dep.Exists && !dep.Deleted {
			def.DepartmentName = dep.Name
		}
	}
	if def.AppID > 0 {
		history, _, err := l.Load(ctx, catalog.ApplicationStream(def.AppID))
		if err != nil {
			return fmt.Errorf("load application %d: %w", def.AppID, err)
		}
		if app := catalog.FoldApplication(payloadsOf(history)); app.Exists && !app.Deleted {
			def.AppName = app.Name
		}
	}
	if def.EnvironmentID > 0 {
		history, _, err := l.Load(ctx, catalog.EnvironmentStream(def.EnvironmentID))
		if err != nil {
			return fmt.Errorf("load environment %d: %w", def.EnvironmentID, err)
		}
		if env := catalog.FoldEnvironment(payloadsOf(history)); env.Exists && !env.Deleted {
			def.EnvironmentName = env.Name
		}
	}
	return nil
}
