package commands

import (
	"context"
	"fmt"

	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/eventschemas"
)

// Restore appends a new version of feature id equal to its version
// version (feature.Restore): nothing is rewritten, the new version records
// which one it restored. The restored definition is checked like any save
// (steps against the catalogue, sub-features in the library), so a version
// whose steps no longer validate cannot come back. With expectedVersion
// above 0 the restore is refused with domain.ErrConflict unless the feature
// is still at that version. changed is false when version already equals
// the current one (nothing is appended). An unknown version, or a feature
// the actor cannot see, is domain.ErrNotFound. The answer's Version is the
// new version (or, unchanged, the current one).
func (f *Features) Restore(ctx context.Context, meta Meta, actor access.Actor, id int64,
	version, expectedVersion int) (Saved, error) {
	var saved Saved
	res, changed, err := f.log.Execute(ctx, feature.Stream(id), meta,
		func(history []Recorded, exists bool) ([]eventschemas.Payload, error) {
			s, err := f.visible(ctx, actor, id, history)
			if err != nil {
				return nil, err
			}
			old, err := s.At(version)
			if err != nil {
				return nil, err
			}
			lib, err := f.lib.Library(ctx, old.DepartmentID, old.Steps)
			if err != nil {
				return nil, err
			}
			payloads, err := s.Decide(feature.Restore{Actor: actor, FeatureID: id, Version: version,
				ExpectedVersion: expectedVersion, Catalogue: f.cat, Lookup: lib})
			decided(&saved, s, payloads)
			return payloads, err
		})
	if err != nil {
		return Saved{AppendResult: res}, fmt.Errorf("restore version %d of feature %d: %w", version, id, err)
	}
	saved.AppendResult, saved.Changed = res, changed
	return saved, nil
}
