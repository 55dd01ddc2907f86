package browser_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/launcher"
	"github.com/go-rod/rod/lib/proto"

	"github.com/cometa-es/cometa/runner/browser"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// launch starts a browser whose temp folder lives in a test folder, and
// returns it with that folder.
func launch(t *testing.T) (*browser.Browser, string) {
	t.Helper()
	dir := t.TempDir()
	// The start-up context ends right after Launch: the browser, and its
	// events, must outlive it.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	b, err := browser.Launch(ctx, browser.Options{TempDir: dir})
	cancel()
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b, dir
}

// assertGone checks that no process of the browser is alive and that its
// folder (and any other file under tempDir) is gone.
func assertGone(t *testing.T, pgid int, marker, tempDir string) {
	t.Helper()
	live, err := browser.LiveProcesses(pgid, marker)
	if err != nil {
		t.Fatalf("LiveProcesses: %v", err)
	}
	if len(live) > 0 {
		t.Errorf("processes alive after Close: %v", live)
	}
	if err := syscall.Kill(pgid, 0); err == nil {
		if state := procState(pgid); state != "Z" {
			t.Errorf("browser pid %d still exists in state %q", pgid, state)
		}
	}
	entries, err := os.ReadDir(tempDir)
	if err != nil {
		t.Fatalf("read temp dir: %v", err)
	}
	for _, e := range entries {
		t.Errorf("left behind in temp dir: %s", e.Name())
	}
}

func procState(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "gone"
	}
	for i := len(data) - 1; i >= 0; i-- {
		if data[i] == ')' && i+2 < len(data) {
			return string(data[i+2])
		}
	}
	return "?"
}

func servePage(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><head><title>hello</title></head><body><p id="p">hi</p></body></html>`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func openPage(t *testing.T, b *browser.Browser, url string) {
	t.Helper()
	ctx := testContext(t)
	page, err := b.Rod().Context(ctx).Page(proto.TargetCreateTarget{})
	if err != nil {
		t.Fatalf("Page: %v", err)
	}
	ev := &proto.PageLoadEventFired{}
	loaded := page.WaitEvent(ev)
	if err := page.Navigate(url); err != nil {
		t.Fatalf("Navigate: %v", err)
	}
	loaded()
	if ev.Timestamp == 0 {
		t.Fatal("no load event: the browser's events do not arrive")
	}
	if err := page.WaitLoad(); err != nil {
		t.Fatalf("WaitLoad: %v", err)
	}
	title, err := page.Eval(`() => document.title`)
	if err != nil || title.Value.Str() != "hello" {
		t.Fatalf("title = %v, %v", title, err)
	}
}

func TestLaunchAndClose(t *testing.T) {
	t.Parallel()
	b, dir := launch(t)
	if b.PID() <= 0 || b.PGID() != b.PID() {
		t.Fatalf("PID %d PGID %d", b.PID(), b.PGID())
	}
	if pgid, err := syscall.Getpgid(b.PID()); err != nil || pgid != b.PID() {
		t.Fatalf("Getpgid(%d) = %d, %v; want the browser to lead its group", b.PID(), pgid, err)
	}
	if w, h := b.Size(); w != 1920 || h != 1080 {
		t.Fatalf("Size = %dx%d", w, h)
	}
	openPage(t, b, servePage(t))
	live, err := b.Processes()
	if err != nil || len(live) < 2 {
		t.Fatalf("Processes = %v, %v; want the browser and its helpers", live, err)
	}
	// Debian's binary, no sandbox as root, and no name resolution but
	// loopback's (machine-notes: background lookups otherwise).
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", b.PID()))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	for _, want := range []string{"--host-resolver-rules=" + browser.LoopbackOnly, "--headless"} {
		if !slices.Contains(args, want) {
			t.Errorf("browser command line %q lacks %q", args, want)
		}
	}
	if os.Geteuid() == 0 && !slices.Contains(args, "--no-sandbox") {
		t.Errorf("browser command line %q lacks --no-sandbox as root", args)
	}
	if !strings.HasPrefix(args[0], "/usr/lib/chromium/") {
		t.Errorf("browser binary %q, want Debian's Chromium", args[0])
	}

	if err := b.Close(testContext(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertGone(t, b.PGID(), b.Dir(), dir)
	if err := b.Close(testContext(t)); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case <-b.Exited():
	default:
		t.Fatal("Exited not closed after Close")
	}
}

func TestCloseAfterCrash(t *testing.T) {
	t.Parallel()
	b, dir := launch(t)
	openPage(t, b, servePage(t))
	if err := syscall.Kill(b.PID(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	select {
	case <-b.Exited():
	case <-testContext(t).Done():
		t.Fatal("Exited not closed after the browser was killed")
	}
	if err := b.Close(testContext(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertGone(t, b.PGID(), b.Dir(), dir)
}

// A browser that does not answer Browser.close (stopped here) is killed
// with its process group.
func TestCloseKillsHungBrowser(t *testing.T) {
	t.Parallel()
	b, dir := launch(t)
	openPage(t, b, servePage(t))
	if err := syscall.Kill(b.PID(), syscall.SIGSTOP); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := b.Close(testContext(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertGone(t, b.PGID(), b.Dir(), dir)
}

func TestLaunchBoundedByContext(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b, err := browser.Launch(ctx, browser.Options{TempDir: dir})
	if err == nil {
		_ = b.Close(context.Background())
		t.Fatal("Launch with a canceled context succeeded")
	}
	if !errors.Is(err, browser.ErrStart) {
		t.Fatalf("err = %v, want ErrStart", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestLaunchMissingBinary(t *testing.T) {
	t.Parallel()
	_, err := browser.Launch(testContext(t), browser.Options{Bin: "/nonexistent/chromium", TempDir: t.TempDir()})
	if !errors.Is(err, browser.ErrStart) {
		t.Fatalf("err = %v, want ErrStart", err)
	}
}

func TestConnectRemote(t *testing.T) {
	t.Parallel()
	local, dir := launch(t)
	url := servePage(t)

	remote, err := browser.Connect(testContext(t), local.ControlURL(), browser.Options{})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if !remote.Remote() || remote.PID() != 0 {
		t.Fatalf("Remote %v PID %d", remote.Remote(), remote.PID())
	}
	openPage(t, remote, url)
	if err := remote.Close(testContext(t)); err != nil {
		t.Fatalf("remote Close: %v", err)
	}
	// The remote browser keeps running; only the session's context is gone.
	openPage(t, local, url)
	if err := local.Close(testContext(t)); err != nil {
		t.Fatalf("local Close: %v", err)
	}
	assertGone(t, local.PGID(), local.Dir(), dir)

	if _, err := browser.Connect(testContext(t), "http://127.0.0.1:1/", browser.Options{}); !errors.Is(err, browser.ErrStart) {
		t.Fatalf("Connect to a non-websocket URL: %v", err)
	}
}

// A folder left by a browser whose runner was killed is removed by the
// next launch; a folder a live browser uses is kept.
func TestLaunchSweepsStaleFolders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stale := dir + "/cometa-browser-stale"
	if err := os.MkdirAll(stale+"/profile", 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	first, err := browser.Launch(testContext(t), browser.Options{TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Close(context.Background()) })
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale folder kept: %v", err)
	}
	// The live browser's folder, even when old, survives another launch.
	if err := os.Chtimes(first.Dir(), old, old); err != nil {
		t.Fatal(err)
	}
	second, err := browser.Launch(testContext(t), browser.Options{TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Close(context.Background()) })
	if _, err := os.Stat(first.Dir()); err != nil {
		t.Fatalf("a live browser's folder was removed: %v", err)
	}
	openPage(t, first, servePage(t))
}

// rawChromium starts a Chromium outside this package, as a remote browser
// runs, and returns its CDP websocket URL. Like Launch, it starts again a
// Chromium that dies before it gives its URL.
func rawChromium(t *testing.T) string {
	t.Helper()
	var err error
	for range 3 {
		l := launcher.New().Bin(browser.DefaultBin).Headless(true).NoSandbox(true).Leakless(false).
			UserDataDir(t.TempDir()).Set("host-resolver-rules", browser.LoopbackOnly)
		t.Cleanup(func() {
			l.Kill()
			l.Cleanup()
		})
		var url string
		if url, err = l.Context(testContext(t)).Launch(); err == nil {
			return url
		}
	}
	t.Fatalf("start chromium: %v", err)
	return ""
}

// No page of a browser, local or remote, gets file: content, whoever asks
// for it: the runner's files (its encryption passphrase) stay unreadable
// even through a CDP call that no step makes.
func TestFileURLsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "encryption-passphrase")
	if err := os.WriteFile(secret, []byte("the-secret-passphrase"), 0o600); err != nil {
		t.Fatal(err)
	}
	local, _ := launch(t)
	remote, err := browser.Connect(testContext(t), rawChromium(t), browser.Options{})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = remote.Close(context.Background()) })

	for name, b := range map[string]*browser.Browser{"local": local, "remote": remote} {
		ctx := testContext(t)
		page, err := b.Rod().Context(ctx).Page(proto.TargetCreateTarget{})
		if err != nil {
			t.Fatalf("%s: Page: %v", name, err)
		}
		for u, shown := range map[string]string{
			"file://" + secret:             "the-secret",
			"view-source:file://" + secret: "the-secret",
			"file://" + dir + "/":          "encryption-passphrase", // a listing of the folder
		} {
			err := page.Navigate(u)
			var nav *rod.NavigationError
			if !errors.As(err, &nav) || !strings.Contains(nav.Reason, "ERR_ACCESS_DENIED") {
				t.Errorf("%s: navigate to %s: %v, want access denied", name, u, err)
			}
			text, err := page.Eval(`() => document.documentElement.outerHTML`)
			if err != nil {
				t.Fatalf("%s: read the page: %v", name, err)
			}
			if strings.Contains(text.Value.Str(), shown) {
				t.Errorf("%s: %s shows %q", name, u, shown)
			}
		}
		if _, err := b.Rod().Context(ctx).Page(proto.TargetCreateTarget{URL: "file://" + secret}); err == nil ||
			!strings.Contains(err.Error(), "ERR_ACCESS_DENIED") {
			t.Errorf("%s: a window opened on the file: %v, want access denied", name, err)
		}
		// The browser still opens http pages.
		openPage(t, b, servePage(t))
	}
}

// A Chromium that dies before it gives its debug URL is started again: the
// first start of this wrapper exits at once, the second one is the real
// browser. Nothing of the failed start is left behind.
func TestLaunchAgainAfterEarlyExit(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "chromium-once-broken")
	mark := bin + ".started"
	script := fmt.Sprintf("#!/bin/sh\nif [ ! -e %q ]; then : > %q; echo 'crashed at start' >&2; exit 1; fi\nexec %s \"$@\"\n",
		mark, mark, browser.DefaultBin)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b, err := browser.Launch(testContext(t), browser.Options{Bin: bin, TempDir: dir})
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Fatalf("the failing first start did not run: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || filepath.Join(dir, entries[0].Name()) != b.Dir() {
		t.Errorf("temp dir holds %v, want only the running browser's folder %s", entries, b.Dir())
	}
	if err := b.Close(testContext(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertGone(t, b.PGID(), b.Dir(), dir)
}

// A binary that never starts a browser is given up on after a bounded
// number of starts.
func TestLaunchGivesUpOnBrokenBinary(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "chromium-broken")
	count := bin + ".count"
	script := fmt.Sprintf("#!/bin/sh\necho x >> %q\nexit 1\n", count)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err := browser.Launch(testContext(t), browser.Options{Bin: bin, TempDir: dir})
	if !errors.Is(err, browser.ErrStart) {
		t.Fatalf("err = %v, want ErrStart", err)
	}
	data, _ := os.ReadFile(count)
	if n := strings.Count(string(data), "x"); n != 3 {
		t.Errorf("binary started %d times, want 3", n)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("left behind in temp dir: %s", e.Name())
	}
}
