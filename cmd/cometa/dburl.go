package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// databaseURLFile is where a process running the private cluster writes
// the cluster's connection URL, so that `cometa projections ...` can reach
// the database of a running server instead of starting a second cluster
// on the same files. It is removed again when the process stops.
const databaseURLFile = "database.url"

// publishDatabaseURL writes url into dataDir (mode 0600) and returns the
// function that removes it.
func publishDatabaseURL(dataDir, url string) (remove func(), err error) {
	path := filepath.Join(dataDir, databaseURLFile)
	if err := os.WriteFile(path, []byte(url+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("publish database url: %w", err)
	}
	return func() { _ = os.Remove(path) }, nil
}

// runningDatabaseURL returns the URL a running process published in
// dataDir, if it answers; ok is false when no server is running there.
func runningDatabaseURL(ctx context.Context, dataDir string) (url string, ok bool) {
	raw, err := os.ReadFile(filepath.Join(dataDir, databaseURLFile))
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return "", false
	}
	url = strings.TrimSpace(string(raw))
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", false // a stale file of a process that was killed
	}
	_ = conn.Close(ctx)
	return url, true
}
