package esdbtest

import (
	"encoding/binary"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Read serves reads with a count (of one stream or of $all, either
// direction) and catch-up subscriptions. A counted read sends only events
// or one StreamNotFound: the v4 client panics on any other message, such as
// first or last stream positions.
func (s *streamsService) Read(req *streams.ReadReq, out streams.Streams_ReadServer) error {
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "read without options")
	}
	f, err := filterOf(opts.GetFilter())
	if err != nil {
		return err
	}
	enc := encoder{asString: opts.GetUuidOption().GetString_() != nil}
	if opts.GetSubscription() != nil {
		return s.srv.subscribe(opts, f, enc, out)
	}

	var recs []*record
	switch {
	case opts.GetStream() != nil:
		name := string(opts.GetStream().GetStreamIdentifier().GetStreamName())
		all, ok := s.srv.log.stream(name)
		if !ok {
			return out.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{
				StreamNotFound: &streams.ReadResp_StreamNotFound{
					StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)},
				},
			}})
		}
		recs = streamWindow(all, opts)
	case opts.GetAll() != nil:
		all, _ := s.srv.log.snapshot()
		recs = allWindow(all, opts)
	default:
		return status.Error(codes.InvalidArgument, "read of neither a stream nor $all")
	}

	count := opts.GetCount()
	for _, r := range recs {
		if count == 0 {
			break
		}
		if !f.match(r) {
			continue
		}
		if err := out.Send(enc.event(r)); err != nil {
			return err
		}
		count--
	}
	return nil
}

// streamWindow returns the records a stream read visits, in visiting order.
// Reads are inclusive of their start revision; forwards from End visits
// nothing, backwards from a revision past the end starts at the last event.
func streamWindow(recs []*record, opts *streams.ReadReq_Options) []*record {
	n := uint64(len(recs))
	backwards := opts.GetReadDirection() == streams.ReadReq_Options_Backwards
	var from uint64
	switch v := opts.GetStream().GetRevisionOption().(type) {
	case *streams.ReadReq_Options_StreamOptions_Revision:
		from = v.Revision
	case *streams.ReadReq_Options_StreamOptions_End:
		from = n
		if backwards {
			from = n - 1
		}
	}
	if !backwards {
		if from >= n {
			return nil
		}
		return recs[from:]
	}
	if from >= n {
		from = n - 1
	}
	return reversed(recs[:from+1])
}

// allWindow returns the records a read of $all visits. Forwards from a
// position includes the event at that position; backwards from a position
// starts with the event before it.
func allWindow(all []*record, opts *streams.ReadReq_Options) []*record {
	backwards := opts.GetReadDirection() == streams.ReadReq_Options_Backwards
	var at int
	switch v := opts.GetAll().GetAllOption().(type) {
	case *streams.ReadReq_Options_AllOptions_Position:
		at = firstAtOrAfter(all, v.Position.GetCommitPosition(), v.Position.GetPreparePosition())
	case *streams.ReadReq_Options_AllOptions_End:
		at = len(all)
	}
	if backwards {
		return reversed(all[:at])
	}
	return all[at:]
}

func reversed(recs []*record) []*record {
	out := make([]*record, len(recs))
	for i, r := range recs {
		out[len(recs)-1-i] = r
	}
	return out
}

// filter is a server-side subscription or read filter on event types or
// stream names.
type filter struct {
	byStream bool
	prefixes []string
	re       *regexp.Regexp
	window   int // events scanned between checkpoints; 0 without a filter
}

// filterOf builds the filter of a request; a nil filter matches everything.
func filterOf(opts *streams.ReadReq_Options_FilterOptions) (*filter, error) {
	if opts == nil {
		return nil, nil
	}
	var expr *streams.ReadReq_Options_FilterOptions_Expression
	f := &filter{}
	switch v := opts.GetFilter().(type) {
	case *streams.ReadReq_Options_FilterOptions_StreamIdentifier:
		f.byStream, expr = true, v.StreamIdentifier
	case *streams.ReadReq_Options_FilterOptions_EventType:
		expr = v.EventType
	default:
		return nil, status.Error(codes.InvalidArgument, "filter without an expression")
	}
	f.prefixes = expr.GetPrefix()
	if rx := expr.GetRegex(); rx != "" {
		re, err := regexp.Compile(rx)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "filter regex: %v", err)
		}
		f.re = re
	}
	// The real server's default search window is 32 events; the
	// checkpoint comes every window times the multiplier.
	window := 32
	if m, ok := opts.GetWindow().(*streams.ReadReq_Options_FilterOptions_Max); ok && m.Max > 0 {
		window = int(m.Max)
	}
	mult := int(opts.GetCheckpointIntervalMultiplier())
	if mult < 1 {
		mult = 1
	}
	f.window = window * mult
	return f, nil
}

func (f *filter) match(r *record) bool {
	if f == nil {
		return true
	}
	subject := r.eventType
	if f.byStream {
		subject = r.stream
	}
	if f.re != nil && !f.re.MatchString(subject) {
		return false
	}
	if len(f.prefixes) == 0 {
		return true
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return false
}

// encoder turns records into read responses, with ids in the form the
// client asked for.
type encoder struct{ asString bool }

func (e encoder) event(r *record) *streams.ReadResp {
	return &streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
		Event: &streams.ReadResp_ReadEvent_RecordedEvent{
			Id:               e.uuid(r.id),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			PreparePosition:  r.prepare,
			CommitPosition:   r.commit,
			// The client ends the process (log.Fatalf) when created is
			// missing or not an integer.
			Metadata: map[string]string{
				"type":         r.eventType,
				"content-type": r.contentType,
				"created":      strconv.FormatInt(r.created, 10),
			},
			CustomMetadata: r.meta,
			Data:           r.data,
		},
		Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.commit},
	}}}
}

func (e encoder) uuid(id uuid.UUID) *shared.UUID {
	if e.asString {
		return &shared.UUID{Value: &shared.UUID_String_{String_: id.String()}}
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits:  int64(binary.BigEndian.Uint64(id[:8])),
		LeastSignificantBits: int64(binary.BigEndian.Uint64(id[8:])),
	}}}
}

func uuidOf(u *shared.UUID) (uuid.UUID, error) {
	switch v := u.GetValue().(type) {
	case *shared.UUID_Structured_:
		var id uuid.UUID
		binary.BigEndian.PutUint64(id[:8], uint64(v.Structured.GetMostSignificantBits()))
		binary.BigEndian.PutUint64(id[8:], uint64(v.Structured.GetLeastSignificantBits()))
		return id, nil
	case *shared.UUID_String_:
		return uuid.Parse(v.String_)
	default:
		return uuid.Nil, errors.New("proposed message without an id")
	}
}
