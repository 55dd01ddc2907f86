package pgserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// process is a started child whose exit is observable through done.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	// exitErr is set before done is closed.
	exitErr error
	// logged is closed when the output pipe reaches EOF: every process
	// holding it (the child and any children of its own) has exited.
	logged chan struct{}
}

// startProcess starts cmd with its output going to logs and returns once it
// runs. The child is started and waited for on one locked OS thread: the
// kernel sends Pdeathsig when the *thread* that forked the child exits, and
// Go may retire idle threads, so the thread must live as long as the child.
func startProcess(cmd *exec.Cmd, logs *logTail) (*process, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w

	p := &process{cmd: cmd, done: make(chan struct{}), logged: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread ends with this goroutine, after the
		// child has exited.
		err := cmd.Start()
		_ = w.Close() // the child holds its own copy
		started <- err
		if err != nil {
			_ = r.Close()
			return
		}
		go func() {
			logs.consume(r)
			close(p.logged)
		}()
		p.exitErr = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// runProcess runs cmd to completion, with the same parent-death guarantee.
func runProcess(cmd *exec.Cmd, logs *logTail) error {
	p, err := startProcess(cmd, logs)
	if err != nil {
		return err
	}
	<-p.done
	<-p.logged
	return p.exitErr
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// signal sends sig to the process unless it has already exited.
func (p *process) signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal %v to pid %d: %w", sig, p.pid(), err)
	}
	return nil
}

// waitLogged waits up to d for the output pipe to drain, so that an error
// report holds the child's last words.
func (p *process) waitLogged(d time.Duration) {
	select {
	case <-p.logged:
	case <-time.After(d):
	}
}
