package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/go-rod/rod"

	"github.com/cometa-es/cometa/runner/variables"
)

// Control-flow signals of the executor; never shown to users.
var (
	errStop        = errors.New("run stopped after a failed step")
	errBreak       = errors.New("break loop")
	errContinue    = errors.New("continue loop")
	errStepTimeout = errors.New("step timeout")
	errBrowserGone = errors.New("the browser is gone")
)

// failure is a step failure with the message the user sees.
type failure struct {
	msg string
	// lookup marks "not found" failures: when the step then times out,
	// this message is kept instead of the generic timeout message.
	lookup bool
	// fatal failures are not retried (an invalid selector, bad input).
	fatal bool
	cause error
}

func (f *failure) Error() string { return f.msg }
func (f *failure) Unwrap() error { return f.cause }

// failf is a step failure that retrying cannot fix.
func failf(format string, args ...any) error {
	return &failure{msg: fmt.Sprintf(format, args...), fatal: true}
}

// notFoundf is a lookup that has not succeeded (yet).
func notFoundf(format string, args ...any) error {
	return &failure{msg: fmt.Sprintf(format, args...), lookup: true}
}

// retryf is a condition not met yet, e.g. a value still different.
func retryf(format string, args ...any) error {
	return &failure{msg: fmt.Sprintf(format, args...)}
}

func isFatal(err error) bool {
	var f *failure
	return errors.As(err, &f) && f.fatal
}

func isLookup(err error) bool {
	var f *failure
	return errors.As(err, &f) && f.lookup
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// isConnectionLost recognises errors of a CDP connection whose browser has
// died: the websocket is closed or reset.
func isConnectionLost(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errBrowserGone) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "use of closed network connection") ||
		strings.Contains(msg, "connection reset by peer") || strings.Contains(msg, "broken pipe")
}

// userMessage turns an error into the text a step result shows.
func userMessage(err error) string {
	var f *failure
	if errors.As(err, &f) {
		return f.msg
	}
	var undef *variables.UndefinedError
	if errors.As(err, &undef) {
		return undef.Error()
	}
	var evalErr *rod.EvalError
	if errors.As(err, &evalErr) {
		return "JavaScript error: " + jsExceptionText(evalErr)
	}
	var nav *rod.NavigationError
	if errors.As(err, &nav) {
		return "the page could not be loaded: " + nav.Reason
	}
	if isConnectionLost(err) {
		return "the browser is gone: " + err.Error()
	}
	return err.Error()
}

// jsExceptionText is the first line of a JavaScript exception ("Error:
// boom"), without the stack.
func jsExceptionText(e *rod.EvalError) string {
	d := ""
	if e.Exception != nil {
		d = e.Exception.Description
		if d == "" {
			d = e.Exception.Value.String()
		}
	}
	if d == "" {
		d = e.Text
	}
	first, _, _ := strings.Cut(d, "\n")
	return strings.TrimSpace(first)
}
