package esdbtest

import (
	"errors"
	"io"
	"math"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// streamsService implements the Streams service: Append and Read. Delete,
// Tombstone and BatchAppend answer Unimplemented (the v4 client never calls
// BatchAppend).
type streamsService struct {
	streams.UnimplementedStreamsServer
	srv *Server
}

// Append reads the options message, then the proposed events until the
// client closes its side, and answers Success or WrongExpectedVersion in the
// response message (never as a gRPC error), as a real server does.
func (s *streamsService) Append(stream streams.Streams_AppendServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "the first append message must carry the options")
	}
	name := string(opts.GetStreamIdentifier().GetStreamName())
	if name == "" {
		return status.Error(codes.InvalidArgument, "empty stream name")
	}
	expected := expectationOf(opts)

	var events []proposal
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		p, err := proposalOf(msg.GetProposedMessage())
		if err != nil {
			return err
		}
		events = append(events, p)
	}

	out := s.srv.log.append(name, expected, events)
	if out.wrong {
		return stream.SendAndClose(&streams.AppendResp{
			Result: &streams.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: wrongVersion(expected, out.current)},
		})
	}
	success := &streams.AppendResp_Success{}
	switch {
	case out.last != nil:
		success.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: out.last.revision}
		success.PositionOption = &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{
			CommitPosition: out.last.commit, PreparePosition: out.last.prepare,
		}}
	case out.current >= 0:
		success.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(out.current)}
		success.PositionOption = &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	default:
		success.CurrentRevisionOption = &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
		success.PositionOption = &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	}
	return stream.SendAndClose(&streams.AppendResp{Result: &streams.AppendResp_Success_{Success: success}})
}

func expectationOf(opts *streams.AppendReq_Options) expectation {
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_NoStream:
		return expectation{kind: expectNoStream}
	case *streams.AppendReq_Options_StreamExists:
		return expectation{kind: expectStreamExists}
	case *streams.AppendReq_Options_Revision:
		return expectation{kind: expectExact, revision: v.Revision}
	default:
		return expectation{kind: expectAny}
	}
}

// proposalOf checks a proposed event the way a real server does: it needs
// an id and the system metadata keys type and content-type.
func proposalOf(m *streams.AppendReq_ProposedMessage) (proposal, error) {
	if m == nil {
		return proposal{}, status.Error(codes.InvalidArgument, "expected a proposed message after the options")
	}
	id, err := uuidOf(m.GetId())
	if err != nil {
		return proposal{}, status.Error(codes.InvalidArgument, err.Error())
	}
	md := m.GetMetadata()
	typ, ok := md["type"]
	if !ok || typ == "" {
		return proposal{}, status.Error(codes.InvalidArgument, "proposed message without a type")
	}
	ct, ok := md["content-type"]
	if !ok {
		return proposal{}, status.Error(codes.InvalidArgument, "proposed message without a content-type")
	}
	return proposal{
		id:          id,
		eventType:   typ,
		contentType: ct,
		data:        append([]byte{}, m.GetData()...),
		meta:        append([]byte{}, m.GetCustomMetadata()...),
	}, nil
}

// wrongVersion fills both the current fields and the ones servers before
// 20.6 used, as a current server does.
func wrongVersion(expected expectation, current int64) *streams.AppendResp_WrongExpectedVersion {
	w := &streams.AppendResp_WrongExpectedVersion{}
	if current < 0 {
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(current)}
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(current)}
	}
	switch expected.kind {
	case expectNoStream:
		// The legacy field has no "no stream"; servers send the maximum.
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: math.MaxUint64}
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case expectStreamExists:
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	case expectExact:
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: expected.revision}
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: expected.revision}
	default:
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	}
	return w
}
