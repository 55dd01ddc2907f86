package esdbtest

import (
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
)

// record is one stored event. Records are immutable once written, so
// readers may keep pointers to them outside the lock.
type record struct {
	id          uuid.UUID
	stream      string
	revision    uint64
	commit      uint64
	prepare     uint64
	eventType   string
	contentType string
	created     int64 // .NET ticks (100 ns) since the Unix epoch
	data        []byte
	meta        []byte
}

// before reports whether r lies before the position (commit, prepare).
func (r *record) before(commit, prepare uint64) bool {
	if r.commit != commit {
		return r.commit < commit
	}
	return r.prepare < prepare
}

// proposal is an event offered for appending.
type proposal struct {
	id          uuid.UUID
	eventType   string
	contentType string
	data        []byte
	meta        []byte
}

// expectKind is the expected-revision condition of an append.
type expectKind int

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectExact
)

type expectation struct {
	kind     expectKind
	revision uint64
}

// outcome is what an append did. When wrong is set, nothing was written and
// current is the stream's last revision (-1 when it does not exist).
// Otherwise last is the last event of the batch: newly written, or found
// already in place by the idempotency check.
type outcome struct {
	wrong   bool
	current int64
	last    *record
}

type streamState struct {
	records []*record
	ids     map[uuid.UUID]uint64
}

// memLog is the whole store: the global log and its per-stream index.
// Positions are synthetic byte offsets: each record advances the offset by a
// size derived from its content. Events of one append share their commit
// position (the offset of the batch's first event) and differ in their
// prepare position, so the log is ordered by (commit, prepare) as on a real
// server.
type memLog struct {
	mu      sync.Mutex
	all     []*record
	streams map[string]*streamState
	offset  uint64
	changed chan struct{} // closed and replaced after every write
}

func newLog() *memLog {
	return &memLog{
		streams: map[string]*streamState{},
		offset:  128,
		changed: make(chan struct{}),
	}
}

// append checks expected against the stream and writes events when it
// matches. A batch whose event ids already occupy the place the expectation
// names is acknowledged again without writing (the real server's
// idempotency rule; for Any and StreamExists the real server decides from a
// cache, this log always finds the ids).
func (l *memLog) append(stream string, expected expectation, events []proposal) outcome {
	l.mu.Lock()
	defer l.mu.Unlock()

	st := l.streams[stream]
	current := int64(-1)
	if st != nil {
		current = int64(len(st.records)) - 1
	}
	if len(events) == 0 {
		return outcome{wrong: !matches(expected, current), current: current}
	}

	switch expected.kind {
	case expectNoStream:
		if current >= 0 {
			return l.retried(st, 0, events, current)
		}
	case expectExact:
		if int64(expected.revision) < current {
			return l.retried(st, expected.revision+1, events, current)
		}
		if int64(expected.revision) != current {
			return outcome{wrong: true, current: current}
		}
	case expectStreamExists, expectAny:
		if expected.kind == expectStreamExists && current < 0 {
			return outcome{wrong: true, current: current}
		}
		if st != nil {
			if at, ok := st.ids[events[0].id]; ok {
				return l.retried(st, at, events, current)
			}
		}
	}
	return outcome{current: current, last: l.write(stream, events)}
}

// retried answers an append whose first event id may already be in the
// stream at revision from: it is idempotent only if every id of the batch
// is there in order.
func (l *memLog) retried(st *streamState, from uint64, events []proposal, current int64) outcome {
	if from+uint64(len(events)) > uint64(len(st.records)) {
		return outcome{wrong: true, current: current}
	}
	for i, ev := range events {
		if st.records[from+uint64(i)].id != ev.id {
			return outcome{wrong: true, current: current}
		}
	}
	return outcome{current: current, last: st.records[from+uint64(len(events))-1]}
}

func matches(expected expectation, current int64) bool {
	switch expected.kind {
	case expectNoStream:
		return current < 0
	case expectStreamExists:
		return current >= 0
	case expectExact:
		return current == int64(expected.revision)
	default:
		return true
	}
}

// write appends events to stream; the caller holds l.mu.
func (l *memLog) write(stream string, events []proposal) *record {
	st := l.streams[stream]
	if st == nil {
		st = &streamState{ids: map[uuid.UUID]uint64{}}
		l.streams[stream] = st
	}
	created := time.Now().UnixNano() / 100
	commit := l.offset
	var last *record
	for _, ev := range events {
		last = &record{
			id:          ev.id,
			stream:      stream,
			revision:    uint64(len(st.records)),
			commit:      commit,
			prepare:     l.offset,
			eventType:   ev.eventType,
			contentType: ev.contentType,
			created:     created,
			data:        ev.data,
			meta:        ev.meta,
		}
		l.offset += uint64(96 + len(stream) + len(ev.eventType) + len(ev.data) + len(ev.meta))
		st.records = append(st.records, last)
		if _, seen := st.ids[ev.id]; !seen {
			st.ids[ev.id] = last.revision
		}
		l.all = append(l.all, last)
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return last
}

// stream returns a snapshot of a stream's records, and false when it has
// never been written.
func (l *memLog) stream(name string) ([]*record, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.streams[name]
	if st == nil {
		return nil, false
	}
	return st.records[:len(st.records):len(st.records)], true
}

// snapshot returns the global log as it is now and a channel that is closed
// on the next write.
func (l *memLog) snapshot() ([]*record, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all[:len(l.all):len(l.all)], l.changed
}

// firstAtOrAfter returns the index of the first record at or after the
// position (commit, prepare) in all.
func firstAtOrAfter(all []*record, commit, prepare uint64) int {
	return sort.Search(len(all), func(i int) bool { return !all[i].before(commit, prepare) })
}

// firstAfter returns the index of the first record strictly after the
// position (commit, prepare) in all.
func firstAfter(all []*record, commit, prepare uint64) int {
	i := firstAtOrAfter(all, commit, prepare)
	if i < len(all) && all[i].commit == commit && all[i].prepare == prepare {
		i++
	}
	return i
}
