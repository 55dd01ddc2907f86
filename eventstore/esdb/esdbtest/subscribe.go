package esdbtest

import (
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// subscriber is one running subscription; closing drop ends it.
type subscriber struct {
	drop     chan struct{}
	dropOnce sync.Once
}

// cursor picks a subscription's events out of the global log.
type cursor interface {
	// next returns the records after the cursor in view and advances it.
	next(all []*record) []*record
}

// allCursor walks $all; at is the index of the next record to deliver.
type allCursor struct{ at int }

func (c *allCursor) next(all []*record) []*record {
	out := all[c.at:]
	c.at = len(all)
	return out
}

// streamCursor walks one stream through $all: it delivers the stream's
// records whose revision is at least from.
type streamCursor struct {
	stream string
	from   uint64
	at     int
}

func (c *streamCursor) next(all []*record) []*record {
	var out []*record
	for _, r := range all[c.at:] {
		if r.stream == c.stream && r.revision >= c.from {
			out = append(out, r)
		}
	}
	c.at = len(all)
	return out
}

// subscribe serves a catch-up subscription: Confirmation first, then the
// history, CaughtUp, then live events until the client goes away or the
// test drops it. With a filter, a Checkpoint follows every window of
// scanned events and closes the catch-up phase. Subscriptions start after
// (never at) the position or revision they name.
func (s *Server) subscribe(opts *streams.ReadReq_Options, f *filter, enc encoder,
	out streams.Streams_ReadServer) error {
	if opts.GetReadDirection() == streams.ReadReq_Options_Backwards {
		return status.Error(codes.InvalidArgument, "subscriptions read forwards")
	}
	all, _ := s.log.snapshot()
	var cur cursor
	switch {
	case opts.GetAll() != nil:
		c := &allCursor{}
		switch v := opts.GetAll().GetAllOption().(type) {
		case *streams.ReadReq_Options_AllOptions_Position:
			c.at = firstAfter(all, v.Position.GetCommitPosition(), v.Position.GetPreparePosition())
		case *streams.ReadReq_Options_AllOptions_End:
			c.at = len(all)
		}
		cur = c
	case opts.GetStream() != nil:
		c := &streamCursor{stream: string(opts.GetStream().GetStreamIdentifier().GetStreamName())}
		switch v := opts.GetStream().GetRevisionOption().(type) {
		case *streams.ReadReq_Options_StreamOptions_Revision:
			c.from = v.Revision + 1
		case *streams.ReadReq_Options_StreamOptions_End:
			c.at = len(all)
		}
		cur = c
	default:
		return status.Error(codes.InvalidArgument, "subscription to neither a stream nor $all")
	}

	sub := &subscriber{drop: make(chan struct{})}
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	}()

	if err := out.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{
		Confirmation: &streams.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()},
	}}); err != nil {
		return err
	}

	scanned, caughtUp := 0, false
	for {
		all, changed := s.log.snapshot()
		var last *record
		for _, r := range cur.next(all) {
			last = r
			if f.match(r) {
				if err := out.Send(enc.event(r)); err != nil {
					return err
				}
			}
			scanned++
			if f != nil && scanned%f.window == 0 {
				if err := out.Send(checkpoint(r)); err != nil {
					return err
				}
			}
		}
		if !caughtUp {
			caughtUp = true
			if f != nil && last != nil && scanned%f.window != 0 {
				if err := out.Send(checkpoint(last)); err != nil {
					return err
				}
			}
			if err := out.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{
				CaughtUp: &streams.ReadResp_CaughtUp{},
			}}); err != nil {
				return err
			}
		}

		select {
		case <-changed:
		case <-sub.drop:
			return status.Error(codes.Unavailable, "esdbtest: subscription dropped")
		case <-out.Context().Done():
			return status.FromContextError(out.Context().Err()).Err()
		}
	}
}

func checkpoint(r *record) *streams.ReadResp {
	return &streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{Checkpoint: &streams.ReadResp_Checkpoint{
		CommitPosition: r.commit, PreparePosition: r.prepare,
	}}}
}
