package esdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// clientLogger routes the client's log to logger (by default the client
// prints to the standard logger). Its debug and info lines (one per
// discovery attempt) go out at Debug. Its warnings and errors go out at
// Warn: the adapter reports the same failures to its callers, who decide
// whether they are errors. A line about a canceled call goes out at Debug,
// since canceling is how subscriptions end.
func clientLogger(logger *slog.Logger) esdb.LoggingFunc {
	return func(level esdb.LogLevel, format string, args ...any) {
		lvl := slog.LevelDebug
		if (level == esdb.LogWarn || level == esdb.LogError) && !mentionsCancel(args) {
			lvl = slog.LevelWarn
		}
		ctx := context.Background()
		if !logger.Enabled(ctx, lvl) {
			return
		}
		logger.Log(ctx, lvl, fmt.Sprintf(format, args...), "logged_by", "esdb_client")
	}
}

func mentionsCancel(args []any) bool {
	for _, a := range args {
		if err, ok := a.(error); ok &&
			(errors.Is(err, context.Canceled) || status.Code(err) == codes.Canceled) {
			return true
		}
	}
	return false
}
