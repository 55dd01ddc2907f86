package readapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestRepeatedQueryParameters: a query parameter given twice is a 400
// naming it on every route, lists and the live stream alike, rather than
// one of the values used and both copied into the page links.
func TestRepeatedQueryParameters(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	for _, tc := range []struct{ path, param string }{
		{"/backend/api/events/?size=1&size=2", "size"},
		{"/api/events/?after=1&event_type=FeatureSaved&after=2", "after"},
		{"/backend/api/departments/{deptA}/audit/?size=1&size=1", "size"},
		{"/backend/api/accounts/?size=1&size=2", "size"},
		{"/backend/api/accounts/?page=1&page=2&page=3", "page"},
		{"/backend/api/live/?after=1&after=2", "after"},
	} {
		path := f.Expand(tc.path)
		f.Srv.Unchanged(t, path, func() {
			r := f.Srv.Do(t, get, path, f.Srv.AdminToken, nil).Want(t, http.StatusBadRequest)
			wantError(tc.param)(t, f, r)
		})
	}
	// Once each is fine, and an unauthenticated request is still a 401.
	f.Srv.Do(t, get, "/backend/api/events/?size=1&after=1", f.Srv.AdminToken, nil).Want(t, http.StatusOK)
	f.Srv.Do(t, get, "/backend/api/events/?size=1&size=2", "", nil).Want(t, http.StatusUnauthorized)
}

// TestEventsAfterTheHead: a page of events after a seq beyond the last
// one is empty and reports the log's last seq as last_seq, not the seq
// asked for, so that a client polling from it misses no later event.
func TestEventsAfterTheHead(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	head := f.Srv.EventCount(t)
	// Also a filter that nothing matches, from the start or from a seq
	// before the head: nothing up to the head matches, so last_seq is the
	// head there too.
	for _, query := range []string{"after=" + strconv.FormatInt(head+1, 10), "after=100000",
		"event_type=NoSuchType", "event_type=NoSuchType&after=1", "stream=no-such-stream&after=2"} {
		var page struct {
			Results []any   `json:"results"`
			Next    *string `json:"next"`
			LastSeq int64   `json:"last_seq"`
		}
		f.Srv.Do(t, get, "/backend/api/events/?"+query, f.Srv.AdminToken, nil).
			Want(t, http.StatusOK).JSON(t, &page)
		if len(page.Results) != 0 || page.Next != nil || page.LastSeq != head {
			t.Errorf("%s: %d events, next %v, last_seq %d; want none, null and the head %d",
				query, len(page.Results), page.Next, page.LastSeq, head)
		}
	}
	for _, query := range []string{"event_type=,,,", "stream=%20,"} {
		r := f.Srv.Do(t, get, "/backend/api/events/?"+query, f.Srv.AdminToken, nil).Want(t, http.StatusBadRequest)
		if !strings.Contains(string(r.Body), "names nothing") {
			t.Errorf("%s: %s, want a 400 saying the filter names nothing", query, r.Body)
		}
	}
}

// TestLiveStreamRefusals: a Last-Event-ID beyond the last event, which
// would make the stream wait silently for ever, and ?stream= with
// ?feature_result_id=, or ?last_event_id= with ?after=, of which one would
// be dropped, are 400s naming the parameter.
func TestLiveStreamRefusals(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	beyond := strconv.FormatInt(f.Srv.EventCount(t)+1, 10)
	for _, tc := range []struct {
		path, lastID, param string
	}{
		{"/backend/api/live/", "99999999", "Last-Event-ID"},
		{"/backend/api/live/", beyond, "Last-Event-ID"},
		{"/backend/api/live/?last_event_id=" + beyond, "", "last_event_id"},
		{"/backend/api/live/?after=99999999", "", "after"},
		{"/backend/api/live/?stream=feature-1&feature_result_id=2", "", "feature_result_id"},
		{"/backend/api/live/?last_event_id=5&after=7", "", "after: names the same resume point as last_event_id"},
		{"/backend/api/live/?last_event_id=5&after=7", "1", "after: names the same resume point"},
		{"/backend/api/live/?after=x", "1", `after: must be the seq of an event (0 or more), got "x"`},
	} {
		r := f.Srv.Send(t, apitest.Request{Method: get, Path: tc.path, Token: f.Srv.AdminToken,
			Header: http.Header{"Last-Event-ID": {tc.lastID}}})
		r.Want(t, http.StatusBadRequest)
		wantError(tc.param)(t, f, r)
	}
	// The last event itself is where a client that has seen everything
	// resumes.
	c := openLive(t, f.Srv.URL, "/backend/api/live/", f.Srv.AdminToken, strconv.FormatInt(f.Srv.EventCount(t), 10))
	c.close()
	// A Last-Event-ID wins over the query's resume point, which an
	// EventSource sends again on every reconnect; only the header's is
	// checked against the log.
	c = openLive(t, f.Srv.URL, "/backend/api/live/?after=99999999", f.Srv.AdminToken, "1")
	if c.start != 1 {
		t.Errorf("Last-Event-ID 1 with ?after=99999999: following after %d, want 1", c.start)
	}
	c.close()
}
