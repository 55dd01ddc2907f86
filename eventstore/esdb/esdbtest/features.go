package esdbtest

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// serverVersion is what the server reports. The client splits it on dots
// and parses each part as an integer, so it must stay plain x.y.z.
const serverVersion = "24.10.0"

// featuresService answers the client's discovery call on every connect.
type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

// GetSupportedMethods lists the methods this server implements. It leaves
// out streams.batchappend and the persistent-subscription methods on
// purpose: the client would otherwise take them as available.
func (featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: serverVersion,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: svc, MethodName: "read"},
			{ServiceName: svc, MethodName: "append"},
			{ServiceName: "event_store.client.gossip.gossip", MethodName: "read"},
		},
	}, nil
}

// gossipService presents the server as a one-node cluster whose leader is
// itself, so that gossip-seed and esdb+discover:// connection strings work.
type gossipService struct {
	gossip.UnimplementedGossipServer
	srv *Server
}

// Read returns the one member.
func (g *gossipService) Read(context.Context, *shared.Empty) (*gossip.ClusterInfo, error) {
	host, portText, err := net.SplitHostPort(g.srv.addr)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &gossip.ClusterInfo{Members: []*gossip.MemberInfo{{
		InstanceId:   encoder{}.uuid(uuid.NewSHA1(uuid.NameSpaceURL, []byte(g.srv.addr))),
		TimeStamp:    time.Now().UnixNano() / 100,
		State:        gossip.MemberInfo_Leader,
		IsAlive:      true,
		HttpEndPoint: &gossip.EndPoint{Address: host, Port: uint32(port)},
	}}}, nil
}
