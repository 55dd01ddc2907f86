package browser

import (
	"context"
	"fmt"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// guardFiles makes the browser refuse every file: request for as long as
// this connection lasts, whoever asks for it: a navigation, a new window,
// view-source:file:, a frame or a history entry. The steps open only http
// and https URLs already; this is the second line, so that no path through
// the runner (a future step, a CDP call of its own) can read the runner's
// files, such as the encryption passphrase in its data folder.
//
// It intercepts through the Fetch domain of the browser target, which sees
// the requests of every page of the browser, and fails each file: request
// as access denied (the page shows Chromium's error page). The returned
// function stops the interception; without it the browser's file: requests
// stay paused, so a lost connection fails closed. For a remote browser the
// interception covers its other contexts too while this connection lasts.
func guardFiles(ctx context.Context, rb *rod.Browser) (stop func(), err error) {
	gctx, cancel := context.WithCancel(context.Background())
	g := rb.Context(gctx)
	// Subscribe before enabling, so that no paused request is missed.
	wait := g.EachEvent(func(e *proto.FetchRequestPaused) {
		_ = proto.FetchFailRequest{RequestID: e.RequestID,
			ErrorReason: proto.NetworkErrorReasonAccessDenied}.Call(g)
	})
	go wait()
	err = proto.FetchEnable{Patterns: []*proto.FetchRequestPattern{{URLPattern: "file:*"}}}.Call(rb.Context(ctx))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("refuse file: URLs: %w", err)
	}
	return cancel, nil
}
