package commands

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain/catalog"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// CreateApplication adds an application with the next free id
// (c.ApplicationID is ignored), behind a claim on its name
// (ApplicationName).
func CreateApplication(ctx context.Context, ids *IDs, meta Meta, c catalog.CreateApplication) (int64, eventstore.AppendResult, error) {
	return createNamed(ctx, ids, "application", meta, ApplicationName, c.Name,
		func(s catalog.Application, id int64) ([]eventschemas.Payload, error) {
			c.ApplicationID = id
			return s.Decide(c)
		})
}

// ChangeApplication carries out a catalog.RenameApplication or
// DeleteApplication on application id's stream. A rename claims the new
// name first and releases the old one after; a deletion releases the name.
func ChangeApplication(ctx context.Context, l *Log, meta Meta, id int64, c catalog.ApplicationCommand) (eventstore.AppendResult, bool, error) {
	stream := catalog.ApplicationStream(id)
	decide := folded(func(s catalog.Application) ([]eventschemas.Payload, error) {
		return s.Decide(c)
	})
	switch c := c.(type) {
	case catalog.RenameApplication:
		return renamed(ctx, l, meta, ApplicationName, stream, c.Name, decide)
	case catalog.DeleteApplication:
		return removed(ctx, l, meta, ApplicationName, stream, decide)
	}
	return l.Execute(ctx, stream, meta, decide)
}

// CreateEnvironment adds an environment with the next free id
// (c.EnvironmentID is ignored).
func CreateEnvironment(ctx context.Context, ids *IDs, meta Meta, c catalog.CreateEnvironment) (int64, eventstore.AppendResult, error) {
	return Create(ctx, ids, "environment", meta, func(s catalog.Environment, id int64) ([]eventschemas.Payload, error) {
		c.EnvironmentID = id
		return s.Decide(c)
	})
}

// ChangeEnvironment carries out a catalog.RenameEnvironment or
// DeleteEnvironment on environment id's stream.
func ChangeEnvironment(ctx context.Context, l *Log, meta Meta, id int64, c catalog.EnvironmentCommand) (eventstore.AppendResult, bool, error) {
	return Handle(ctx, l, catalog.EnvironmentStream(id), meta, func(s catalog.Environment) ([]eventschemas.Payload, error) {
		return s.Decide(c)
	})
}

// browserNamespace derives the command ids of browser seeding.
var browserNamespace = uuid.MustParse("3f0f6d3e-8a53-4c1e-9d0c-8b1f1d5c2a61")

// AddBrowser puts a browser into the catalogue with the next free id
// (c.BrowserID is ignored). The command id is derived from the browser
// object, so two processes seeding the same browser at the same time from
// the same read-model state write it once: the second append repeats the
// first one's event ids on the same stream and is acknowledged as a retry.
func AddBrowser(ctx context.Context, ids *IDs, meta Meta, c catalog.AddBrowser) (int64, eventstore.AppendResult, error) {
	var compact json.RawMessage = c.BrowserJSON
	if canon, err := json.Marshal(c.BrowserJSON); err == nil {
		compact = canon
	}
	meta.CommandID = uuid.NewSHA1(browserNamespace, compact)
	return Create(ctx, ids, "browser", meta, func(s catalog.Browser, id int64) ([]eventschemas.Payload, error) {
		c.BrowserID = id
		return s.Decide(c)
	})
}

// RemoveBrowser takes browser id out of the catalogue.
func RemoveBrowser(ctx context.Context, l *Log, meta Meta, id int64, c catalog.RemoveBrowser) (eventstore.AppendResult, bool, error) {
	return Handle(ctx, l, catalog.BrowserStream(id), meta, func(s catalog.Browser) ([]eventschemas.Payload, error) {
		return s.Decide(c)
	})
}
