package projections

import (
	"context"
	"fmt"
)

// FeaturesOfApplication returns how many live features (not deleted, not in
// a deleted department) use application id, and the lowest limit of their
// ids. The application is read from each feature's definition: deleting
// an application is rare, so a scan of the live features serves it.
func (r *FeatureReader) FeaturesOfApplication(ctx context.Context, id int64, limit int) (
	int, []int64, error) {
	n, ids, err := r.featuresUsing(ctx, "app_id", id, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("features of application %d: %w", id, err)
	}
	return n, ids, nil
}

// FeaturesOfEnvironment is FeaturesOfApplication for environment id.
func (r *FeatureReader) FeaturesOfEnvironment(ctx context.Context, id int64, limit int) (
	int, []int64, error) {
	n, ids, err := r.featuresUsing(ctx, "environment_id", id, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("features of environment %d: %w", id, err)
	}
	return n, ids, nil
}

// featuresUsing counts the live features whose definition has id under key.
// The definition is read as json, which is only parsed for the one key,
// rather than converted to jsonb.
func (r *FeatureReader) featuresUsing(ctx context.Context, key string, id int64, limit int) (
	int, []int64, error) {
	var (
		n   int
		ids []int64
	)
	err := r.pool.QueryRow(ctx, `SELECT count(*),
			coalesce((array_agg(feature_id ORDER BY feature_id))[1:$3], '{}')
		FROM rm_features.features
		WHERE NOT deleted AND version > 0 AND (definition::json ->> $1)::bigint = $2`,
		key, id, limit).Scan(&n, &ids)
	return n, ids, err
}

// VariablesOfEnvironment returns how many live variables are scoped to
// environment id, and the lowest limit of their ids. The variables of a
// deleted department or feature are not live.
func (r *VariableReader) VariablesOfEnvironment(ctx context.Context, id int64, limit int) (
	int, []int64, error) {
	var (
		n   int
		ids []int64
	)
	err := r.pool.QueryRow(ctx, `SELECT count(*),
			coalesce((array_agg(variable_id ORDER BY variable_id))[1:$2], '{}')
		FROM rm_variables.variables WHERE NOT deleted AND environment_id = $1`, id, limit).Scan(&n, &ids)
	if err != nil {
		return 0, nil, fmt.Errorf("variables of environment %d: %w", id, err)
	}
	return n, ids, nil
}
