package pgserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// maxSocketPath is PostgreSQL's limit on a unix socket path (sun_path
// minus the terminating NUL).
const maxSocketPath = 107

// layout is where a cluster's files live and as whom its programs run.
type layout struct {
	dataDir     string
	pgdata      string
	socketDir   string
	initdbBin   string
	postgresBin string
	// owner is nil when the server runs as the current user.
	owner *syscall.Credential
}

func newLayout(opts Options) (*layout, error) {
	dataDir, err := absDir(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("start postgres: data dir %q: %w", opts.DataDir, err)
	}
	binDir := opts.BinDir
	if binDir == "" {
		binDir = DefaultBinDir
	}
	l := &layout{
		dataDir:     dataDir,
		pgdata:      filepath.Join(dataDir, "pgdata"),
		socketDir:   socketDir(dataDir),
		initdbBin:   filepath.Join(binDir, "initdb"),
		postgresBin: filepath.Join(binDir, "postgres"),
	}
	for _, bin := range []string{l.initdbBin, l.postgresBin} {
		if _, err := os.Stat(bin); err != nil {
			return nil, binaryError(bin, err)
		}
	}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		if l.owner, err = systemUser("postgres"); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// socketDir is dataDir/socket, or a short directory under /tmp named after
// a hash of dataDir when the socket path would pass the kernel's limit.
func socketDir(dataDir string) string {
	dir := filepath.Join(dataDir, "socket")
	if len(dir)+len("/.s.PGSQL.")+len(strconv.Itoa(port)) <= maxSocketPath {
		return dir
	}
	sum := sha256.Sum256([]byte(dataDir))
	return filepath.Join(os.TempDir(), "cometa-pg-"+hex.EncodeToString(sum[:6]))
}

// systemUser returns the credential of the named account with its groups.
func systemUser(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("start postgres as root: the %q system user is missing "+
			"(install the Debian package postgresql-15, which creates it): %w", name, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	groups, _ := u.GroupIds()
	for _, g := range groups {
		if id, err := strconv.ParseUint(g, 10, 32); err == nil {
			cred.Groups = append(cred.Groups, uint32(id))
		}
	}
	return cred, nil
}

// prepare creates the directories the server needs and hands the socket
// dir to the server's owner. DataDir itself is only created, never chowned:
// it may hold more than the cluster.
func (l *layout) prepare() error {
	// Check before creating anything, so that a refused start leaves no
	// directories behind; then again, as a umask may have made them 0700.
	if l.owner != nil {
		if err := checkTraverse(existingAncestor(l.dataDir), l.owner); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(l.dataDir, 0o755); err != nil {
		return fmt.Errorf("start postgres: create data dir: %w", err)
	}
	if l.owner != nil {
		if err := checkTraverse(l.dataDir, l.owner); err != nil {
			return err
		}
	}
	return l.ownedDir(l.socketDir)
}

// existingAncestor returns dir or its nearest ancestor that exists.
func existingAncestor(dir string) string {
	for !exists(dir) && dir != filepath.Dir(dir) {
		dir = filepath.Dir(dir)
	}
	return dir
}

// ownedDir creates dir (mode 0700) unless it exists and gives it to the
// server's owner.
func (l *layout) ownedDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("start postgres: create %s: %w", dir, err)
	}
	if l.owner == nil {
		return nil
	}
	if err := os.Chown(dir, int(l.owner.Uid), int(l.owner.Gid)); err != nil {
		return fmt.Errorf("start postgres: hand %s to the postgres user: %w", dir, err)
	}
	return nil
}

// checkTraverse fails with advice when the owner cannot reach dir, e.g. a
// data dir under root's 0700 home.
func checkTraverse(dir string, owner *syscall.Credential) error {
	for d := dir; ; d = filepath.Dir(d) {
		var st syscall.Stat_t
		if err := syscall.Stat(d, &st); err != nil {
			return fmt.Errorf("start postgres: %s: %w", d, err)
		}
		if !canEnter(st, owner) {
			return fmt.Errorf("start postgres: the postgres user (uid %d) cannot enter %s "+
				"(mode %04o, owner uid %d), so it cannot reach the data dir: choose a data dir "+
				"outside it (e.g. /var/lib/cometa or a directory under /tmp), or allow it with "+
				"chmod o+x %s", owner.Uid, d, st.Mode&0o7777, st.Uid, d)
		}
		if d == "/" {
			return nil
		}
	}
}

// canEnter reports whether owner has search (x) permission on a directory
// with the given stat.
func canEnter(st syscall.Stat_t, owner *syscall.Credential) bool {
	mode := st.Mode
	switch {
	case st.Uid == owner.Uid:
		return mode&0o100 != 0
	case st.Gid == owner.Gid || containsID(owner.Groups, st.Gid):
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}

func containsID(ids []uint32, id uint32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// HasCluster reports whether dataDir holds a cluster that Start would run
// rather than create, so that a caller which must not create one (a
// maintenance command) can tell beforehand.
func HasCluster(dataDir string) bool {
	return exists(filepath.Join(dataDir, "pgdata", "PG_VERSION"))
}

// initdb creates the cluster unless pgdata already holds one. It works in
// a scratch directory and renames it into place, so that a crash during
// initdb never leaves a half-made cluster behind.
func (l *layout) initdb(ctx context.Context, fast bool, logger *slog.Logger) error {
	if exists(filepath.Join(l.pgdata, "PG_VERSION")) {
		return nil
	}
	scratch := l.pgdata + ".initdb"
	if err := os.RemoveAll(scratch); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	// Made here, not by initdb: the owner may not write to DataDir.
	if err := l.ownedDir(scratch); err != nil {
		return err
	}
	args := []string{"-D", scratch, "-U", superuser, "-A", "trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-instructions"}
	if fast {
		args = append(args, "--no-sync")
	}
	started := time.Now()
	logs := newLogTail(logger)
	cmd := l.command(l.initdbBin, args...)
	if err := runProcess(cmd, logs); err != nil {
		_ = os.RemoveAll(scratch)
		return fmt.Errorf("initdb %s: %w%s", l.pgdata, err, logs.report())
	}
	// An empty pgdata (made by hand) gives way; one with files does not.
	if err := os.Remove(l.pgdata); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("initdb: %s holds files but no cluster: %w", l.pgdata, err)
	}
	if err := os.Rename(scratch, l.pgdata); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	logger.InfoContext(ctx, "postgres cluster created", "data_dir", l.pgdata,
		"duration", time.Since(started))
	return nil
}

// serverArgs are the postgres command line: unix socket only, settings
// that make tests fast when asked.
func (l *layout) serverArgs(fast bool) []string {
	args := []string{
		"-D", l.pgdata,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=",
		"-c", "unix_socket_directories=" + l.socketDir,
		"-c", "unix_socket_permissions=0700",
	}
	if fast {
		args = append(args,
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
			"-c", "max_connections=300",
		)
	}
	return args
}

// command prepares bin to run as the cluster's owner, in its own process
// group (a terminal's Ctrl-C reaches only the Go process, which stops the
// server in order), with a clean environment.
func (l *layout) command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = l.dataDir
	cmd.Env = []string{"LANG=C.UTF-8", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: l.owner,
		Setpgid:    true,
		// Fast shutdown when the Go process dies; see startProcess for why
		// the starting thread stays alive.
		Pdeathsig: syscall.SIGINT,
	}
	return cmd
}
