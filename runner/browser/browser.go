// Package browser starts and stops the Chromium that one test run drives.
//
// A Browser is either a local Chromium launched through rod's launcher
// (Debian's binary, never a downloaded one) or a remote browser reached by
// its CDP websocket URL. Close is the only way out: after it returns nil no
// process of a local browser is alive and its temporary folders are gone,
// whether the run succeeded, failed, timed out, crashed or was killed.
// While connected, a Browser refuses every file: URL (see guardFiles).
package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/cdp"
	"github.com/go-rod/rod/lib/launcher"
	"github.com/go-rod/rod/lib/launcher/flags"
	"github.com/go-rod/rod/lib/proto"
)

// DefaultBin is Debian's Chromium wrapper. It execs the real binary, so the
// PID it starts with is the browser's.
const DefaultBin = "/usr/bin/chromium"

// LoopbackOnly is the host-resolver rule that makes every host name except
// localhost and 127.0.0.1 unresolvable, so that neither Chromium's own
// background traffic nor a page under test can leave the machine.
const LoopbackOnly = "MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"

// Default window size of a local browser and viewport of its pages.
const (
	DefaultWidth  = 1920
	DefaultHeight = 1080
)

// Errors of this package; test with errors.Is.
var (
	// ErrStart: the browser could not be started or reached.
	ErrStart = errors.New("browser did not start")
	// ErrLeftover: Close could not make every process of the browser exit.
	ErrLeftover = errors.New("browser processes left behind")
)

// Options configure a browser. The zero value launches Debian's Chromium
// headless at 1920x1080 with loopback-only name resolution.
type Options struct {
	// Bin is the Chromium executable; DefaultBin when empty.
	Bin string
	// ResolveAllHosts drops the LoopbackOnly host-resolver rule, for
	// deployments whose features test applications on other hosts.
	ResolveAllHosts bool
	// NoSandbox passes --no-sandbox. It is set anyway when the process runs
	// as root, where Chromium refuses to start with its sandbox.
	NoSandbox bool
	// Width and Height of the window and of every page's viewport.
	Width, Height int
	// TempDir holds the per-browser folder (profile and Chromium's own
	// temporary files); os.TempDir() when empty.
	TempDir string
	// Flags are extra command-line switches, name to value ("" for none).
	Flags map[string]string
	// Logger receives debug lines on start and stop; discarded when nil.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Bin == "" {
		o.Bin = DefaultBin
	}
	if o.Width <= 0 {
		o.Width = DefaultWidth
	}
	if o.Height <= 0 {
		o.Height = DefaultHeight
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if os.Geteuid() == 0 {
		o.NoSandbox = true
	}
	return o
}

// Browser is one running browser. Its methods are safe for concurrent use.
type Browser struct {
	rod    *rod.Browser
	ws     *cdp.WebSocket
	url    string
	log    *slog.Logger
	width  int
	height int

	// Local browsers only.
	pid    int
	dir    string // per-browser folder, removed by Close
	tmp    string // Chromium's TMPDIR, removed by Close
	exited chan struct{}
	stop   chan struct{} // ends the exit watcher

	// Remote browsers only: the incognito context this browser owns.
	remote  bool
	context proto.BrowserBrowserContextID

	// stopGuard ends the refusal of file: URLs (see guardFiles).
	stopGuard func()

	closeOnce sync.Once
	closeErr  error
}

// launchAttempts bounds the starts of one Launch. Chromium now and then
// dies before it prints its debug URL when the machine is busy (a crashpad
// dump, no error of ours); each start is a new process with a new folder.
const launchAttempts = 3

// Launch starts a local Chromium and connects to it. ctx bounds the start
// only; the browser lives until Close. A process that exits before it
// gives its debug URL is started again, up to launchAttempts times in all.
func Launch(ctx context.Context, opts Options) (*Browser, error) {
	opts = opts.withDefaults()
	if _, err := os.Stat(opts.Bin); err != nil {
		return nil, fmt.Errorf("launch %q: %w: %w", opts.Bin, ErrStart, err)
	}
	for attempt := 1; ; attempt++ {
		b, died, err := launchOnce(ctx, opts)
		if err == nil || !died || attempt == launchAttempts || ctx.Err() != nil {
			return b, err
		}
		opts.Logger.WarnContext(ctx, "browser died while starting; starting it again", "attempt", attempt, "err", err)
	}
}

// launchOnce is one start of Launch. died reports that the launcher got no
// debug URL from the process, the one failure worth another start.
func launchOnce(ctx context.Context, opts Options) (_ *Browser, died bool, _ error) {
	if n := sweepStale(opts.TempDir, time.Now()); n > 0 {
		opts.Logger.InfoContext(ctx, "removed folders of browsers whose process died", "count", n)
	}
	dir, err := os.MkdirTemp(opts.TempDir, dirPrefix)
	if err != nil {
		return nil, false, fmt.Errorf("launch %q: create temp folder: %w", opts.Bin, err)
	}
	tmp, err := chromiumTemp(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, false, fmt.Errorf("launch %q: create temp folder: %w", opts.Bin, err)
	}

	l := launcher.New().
		Context(ctx).
		Bin(opts.Bin).
		Headless(true).
		Leakless(true).
		UserDataDir(filepath.Join(dir, "profile")).
		Env(childEnv(tmp)...).
		Set("window-size", fmt.Sprintf("%d,%d", opts.Width, opts.Height)).
		Set("disable-gpu").
		Set("disable-component-update").
		Set("disable-domain-reliability").
		Set("no-default-browser-check").
		Set("mute-audio").
		Set("hide-scrollbars")
	if opts.NoSandbox {
		l = l.NoSandbox(true)
	}
	if !opts.ResolveAllHosts {
		l = l.Set("host-resolver-rules", LoopbackOnly)
	}
	for name, value := range opts.Flags {
		if value == "" {
			l = l.Set(launcherFlag(name))
		} else {
			l = l.Set(launcherFlag(name), value)
		}
	}

	b := &Browser{
		log:    opts.Logger,
		width:  opts.Width,
		height: opts.Height,
		dir:    dir,
		tmp:    tmp,
		exited: make(chan struct{}),
		stop:   make(chan struct{}),
	}
	url, err := l.Launch()
	b.pid = l.PID()
	if b.pid != 0 {
		go b.watchExit()
	}
	if err != nil {
		_ = b.Close(context.WithoutCancel(ctx))
		return nil, true, fmt.Errorf("launch %q: %w: %w", opts.Bin, ErrStart, err)
	}

	rb, ws, err := dial(ctx, url)
	if err != nil {
		_ = b.Close(context.WithoutCancel(ctx))
		return nil, false, err
	}
	b.rod, b.ws, b.url = rb, ws, url
	if b.stopGuard, err = guardFiles(ctx, rb); err != nil {
		_ = b.Close(context.WithoutCancel(ctx))
		return nil, false, fmt.Errorf("launch %q: %w: %w", opts.Bin, ErrStart, err)
	}
	b.log.DebugContext(ctx, "browser started", "pid", b.pid, "dir", dir)
	return b, false, nil
}

// Connect attaches to a remote browser by its CDP websocket URL
// (ws://host:port/devtools/browser/<id>). The session gets its own
// incognito context, which Close disposes; the remote browser itself keeps
// running. ctx bounds the connection attempt only.
func Connect(ctx context.Context, wsURL string, opts Options) (*Browser, error) {
	opts = opts.withDefaults()
	if !strings.HasPrefix(wsURL, "ws://") && !strings.HasPrefix(wsURL, "wss://") {
		return nil, fmt.Errorf("connect to %q: %w: not a websocket URL", wsURL, ErrStart)
	}
	rb, ws, err := dial(ctx, wsURL)
	if err != nil {
		return nil, err
	}
	inc, err := rb.Context(ctx).Incognito()
	if err != nil {
		_ = ws.Close()
		return nil, fmt.Errorf("connect to %q: create browser context: %w: %w", wsURL, ErrStart, err)
	}
	stopGuard, err := guardFiles(ctx, rb)
	if err != nil {
		_ = proto.TargetDisposeBrowserContext{BrowserContextID: inc.BrowserContextID}.Call(rb.Context(ctx))
		_ = ws.Close()
		return nil, fmt.Errorf("connect to %q: %w: %w", wsURL, ErrStart, err)
	}
	return &Browser{
		stopGuard: stopGuard,
		rod:       inc.Context(rb.GetContext()),
		ws:        ws,
		url:       wsURL,
		log:       opts.Logger,
		width:     opts.Width,
		height:    opts.Height,
		exited:    make(chan struct{}),
		stop:      make(chan struct{}),
		remote:    true,
		context:   inc.BrowserContextID,
	}, nil
}

// Rod returns the rod handle. Its context is not bounded: callers bound
// every call with Context or Timeout.
func (b *Browser) Rod() *rod.Browser { return b.rod }

// ControlURL returns the DevTools websocket URL of the browser.
func (b *Browser) ControlURL() string { return b.url }

// Remote reports whether this is a remote browser.
func (b *Browser) Remote() bool { return b.remote }

// PID returns the browser's main process id, 0 for a remote browser.
func (b *Browser) PID() int { return b.pid }

// PGID returns the browser's process group. Chromium is started as the
// leader of its own group, so PGID equals PID; 0 for a remote browser.
func (b *Browser) PGID() int { return b.pid }

// Dir returns the per-browser temporary folder (profile and temp files);
// "" for a remote browser. Every process of the browser names it on its
// command line, which is how leftovers outside the group are found.
func (b *Browser) Dir() string { return b.dir }

// Size returns the window size that pages should use as their viewport.
func (b *Browser) Size() (width, height int) { return b.width, b.height }

// Exited is closed when the local browser process has exited, for whatever
// reason. It never closes for a remote browser.
func (b *Browser) Exited() <-chan struct{} { return b.exited }

// Processes lists the live (non-zombie) processes of a local browser.
func (b *Browser) Processes() ([]int, error) {
	if b.pid == 0 {
		return nil, nil
	}
	return LiveProcesses(b.pid, b.dir)
}

// Close ends the browser. A local browser is asked to close, killed with its
// process group if it does not exit in time, and waited for until none of
// its processes is alive; then its folder is removed. A remote browser's
// incognito context is disposed and the connection closed. ctx bounds the
// whole shutdown; Close is idempotent and returns the first outcome.
func (b *Browser) Close(ctx context.Context) error {
	b.closeOnce.Do(func() {
		if b.remote {
			b.closeErr = b.closeRemote(ctx)
		} else {
			b.closeErr = b.closeLocal(ctx)
		}
	})
	return b.closeErr
}

func (b *Browser) closeRemote(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := proto.TargetDisposeBrowserContext{BrowserContextID: b.context}.Call(b.rod.Context(ctx))
	b.stopGuard()
	_ = b.ws.Close()
	close(b.stop)
	if err != nil {
		return fmt.Errorf("close remote browser context %s: %w", b.context, err)
	}
	return nil
}

// dirPrefix names the per-browser folders, so that stale ones are found.
const dirPrefix = "cometa-browser-"

// staleAge is how old a folder without a live process must be before it is
// removed, so that a browser still starting is never swept.
const staleAge = time.Minute

// sweepStale removes per-browser folders that outlived their browser: a
// runner killed with SIGKILL cannot clean up, and leakless ends its browser
// but not its folder. A folder is stale when no process names it on its
// command line and it is older than staleAge. It returns how many it
// removed; failures are ignored, the next launch tries again.
func sweepStale(tempDir string, now time.Time) int {
	entries, err := os.ReadDir(tempDir)
	if err != nil {
		return 0
	}
	removed := 0
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < staleAge {
			continue
		}
		dir := filepath.Join(tempDir, e.Name())
		live, err := LiveProcesses(-1, dir)
		if err != nil || len(live) > 0 {
			continue
		}
		if os.RemoveAll(dir) == nil {
			removed++
		}
	}
	return removed
}

// gracefulWait is how long a local browser gets to exit after Browser.close
// before its process group is killed.
const gracefulWait = 3 * time.Second

func (b *Browser) closeLocal(ctx context.Context) error {
	start := time.Now()
	killed := false
	if b.pid != 0 {
		if b.rod != nil && !b.hasExited() {
			cctx, cancel := context.WithTimeout(ctx, gracefulWait)
			_ = proto.BrowserClose{}.Call(b.rod.Context(cctx))
			select {
			case <-b.exited:
			case <-cctx.Done():
			}
			cancel()
		}
		if !b.hasExited() {
			killed = true
			killGroup(b.pid)
		}
		if err := b.waitGone(ctx); err != nil {
			return err
		}
	}
	if b.stopGuard != nil {
		b.stopGuard()
	}
	if b.ws != nil {
		_ = b.ws.Close()
	}
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	for _, d := range []string{b.tmp, b.dir} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("close browser %d: remove %s: %w", b.pid, d, err)
		}
	}
	b.log.DebugContext(ctx, "browser closed", "pid", b.pid, "killed", killed,
		"duration_ms", time.Since(start).Milliseconds())
	return nil
}

func (b *Browser) hasExited() bool {
	select {
	case <-b.exited:
		return true
	default:
		return false
	}
}

// waitGone waits until no process of the browser is alive, killing
// stragglers (its group, then any process naming its folder) on the way.
func (b *Browser) waitGone(ctx context.Context) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for round := 0; ; round++ {
		live, err := LiveProcesses(b.pid, b.dir)
		if err != nil {
			return fmt.Errorf("close browser %d: %w", b.pid, err)
		}
		if len(live) == 0 {
			return nil
		}
		// Give processes outside the group (crashpad) a moment to exit on
		// their own before killing them.
		if round > 0 && round%8 == 0 {
			killGroup(b.pid)
			for _, pid := range live {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("close browser %d: %w: %v: %w", b.pid, ErrLeftover, live, ctx.Err())
		case <-tick.C:
		}
	}
}

// maxTempLen keeps Chromium's TMPDIR short enough for the unix socket it
// creates there (org.chromium.Chromium.XXXXXX/SingletonSocket); socket
// paths are limited to 107 bytes and a longer one makes Chromium exit
// silently at start.
const maxTempLen = 60

// chromiumTemp creates the folder that Chromium gets as TMPDIR: inside dir
// when its path is short enough, else a short folder in the system temp.
func chromiumTemp(dir string) (string, error) {
	tmp := filepath.Join(dir, "t")
	if len(tmp) <= maxTempLen {
		return tmp, os.Mkdir(tmp, 0o700)
	}
	return os.MkdirTemp("", "cb")
}

// childEnv is this process's environment with TMPDIR pointing into the
// browser's own folder, so that Chromium's temporary files go away with it.
func childEnv(tmp string) []string {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	return append(env, "TMPDIR="+tmp)
}

func launcherFlag(name string) flags.Flag {
	return flags.Flag(strings.TrimLeft(name, "-"))
}

// dial opens our own websocket to the DevTools endpoint, so that Close can
// shut the connection (rod offers no way to). The returned handle's context
// is not bounded by ctx, which bounds the dial only.
func dial(ctx context.Context, url string) (*rod.Browser, *cdp.WebSocket, error) {
	ws := &cdp.WebSocket{}
	if err := ws.Connect(ctx, url, nil); err != nil {
		return nil, nil, fmt.Errorf("connect to %q: %w: %w", url, ErrStart, err)
	}
	// rod ties the browser's event hub to the context it connects with, so
	// that context must live as long as the connection; ctx bounds the
	// wait instead, and closing the websocket ends a connect that hangs.
	rb := rod.New().Client(cdp.New().Start(ws)).Context(context.WithoutCancel(ctx)).NoDefaultDevice()
	done := make(chan error, 1)
	go func() { done <- rb.Connect() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = ws.Close()
		return nil, nil, fmt.Errorf("connect to %q: %w: %w", url, ErrStart, err)
	}
	return rb, ws, nil
}

// String describes the browser for logs.
func (b *Browser) String() string {
	if b.remote {
		return "remote browser context " + string(b.context)
	}
	return "chromium pid " + strconv.Itoa(b.pid)
}
