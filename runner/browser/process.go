package browser

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// LiveProcesses lists the processes that belong to a browser and have not
// exited: members of process group pgid, and processes whose command line
// mentions marker (the browser's folder, which every Chromium process
// names; crashpad handlers run in groups of their own). Zombies are dead
// and are not listed. An empty marker matches nothing.
func LiveProcesses(pgid int, marker string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := os.Getpid()
	var live []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		state, group, ok := procStat(pid)
		if !ok || state == 'Z' || state == 'X' {
			continue
		}
		if group == pgid || (marker != "" && cmdlineHas(pid, marker)) {
			live = append(live, pid)
		}
	}
	slices.Sort(live)
	return live, nil
}

// procStat reads the state and process group of pid from /proc/<pid>/stat.
// ok is false when the process is gone or the file is unreadable.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may contain anything, so the
	// fields are counted from the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := bytes.Fields(data[i+1:])
	// fields: state ppid pgrp ...
	if len(fields) < 3 || len(fields[0]) == 0 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(string(fields[2]))
	if err != nil {
		return 0, 0, false
	}
	return fields[0][0], pgrp, true
}

func cmdlineHas(pid int, marker string) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return err == nil && bytes.Contains(data, []byte(marker))
}

// killGroup sends SIGKILL to the process group led by pid. Chromium is
// started by leakless with Setpgid, so its group holds the browser, the
// zygotes and the renderers but no process of ours.
func killGroup(pid int) {
	if pid <= 1 {
		return
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// watchExit closes b.exited when the browser process terminates. It uses a
// pidfd, which cannot be confused by a recycled PID, and falls back to
// polling /proc where pidfds are unavailable.
func (b *Browser) watchExit() {
	defer close(b.exited)
	fd, err := unix.PidfdOpen(b.pid, 0)
	if err != nil {
		b.pollExit()
		return
	}
	defer unix.Close(fd)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 200)
		if n > 0 {
			return
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			b.pollExit()
			return
		}
		select {
		case <-b.stop:
			return
		default:
		}
	}
}

func (b *Browser) pollExit() {
	for {
		state, _, ok := procStat(b.pid)
		if !ok || state == 'Z' || state == 'X' {
			return
		}
		select {
		case <-b.stop:
			return
		default:
		}
		_, _ = unix.Poll(nil, 50)
	}
}
