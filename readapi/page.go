package readapi

import (
	"math"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/domain"
)

// Cometa's pagination (StandardResultsSetPagination): page is 1-based,
// size defaults to 200 and may not pass 5000.
const (
	defaultPageSize = 200
	maxPageSize     = 5000
)

// pageRequest is the page a list request asks for.
type pageRequest struct {
	page, size int
}

// offset is the number of rows before the page. A page so far past the end
// that the product overflows gets the largest offset instead, which is
// still past every row: an empty page, never a negative OFFSET.
func (p pageRequest) offset() int {
	if p.page-1 > math.MaxInt/p.size {
		return math.MaxInt
	}
	return (p.page - 1) * p.size
}

// readPage reads ?page= and ?size=; a value that is not a positive integer
// is a 400 naming it. A size above the maximum is capped, as in Cometa.
func readPage(c *fiber.Ctx) (pageRequest, error) {
	p := pageRequest{page: 1, size: defaultPageSize}
	for _, q := range []struct {
		name string
		dst  *int
	}{{"page", &p.page}, {"size", &p.size}} {
		raw := c.Query(q.name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return p, domain.Invalid(q.name, "must be a positive integer, got %q", raw)
		}
		*q.dst = n
	}
	p.size = min(p.size, maxPageSize)
	return p, nil
}

// pageBody is a DRF page: {"count", "next", "previous", "results"} with
// links to the neighbouring pages (see pageLink), null at the ends.
func pageBody[T any](c *fiber.Ctx, p pageRequest, count int, results []T) fiber.Map {
	if results == nil {
		results = []T{}
	}
	link := func(page int) any {
		if page < 1 || (pageRequest{page: page, size: p.size}).offset() >= count {
			return nil
		}
		return pageLink(c, "page", strconv.Itoa(page))
	}
	var next any
	if p.page < math.MaxInt {
		next = link(p.page + 1)
	}
	return fiber.Map{"count": count, "next": next, "previous": link(p.page - 1), "results": results}
}

// pageLink is the link to the request's path and query with key set to
// value. It is relative, a path and a query: an absolute URL would take
// its host from the Host and X-Forwarded-* headers, which whoever sends
// the request chooses, and a client following the link would send its
// bearer token to that host.
func pageLink(c *fiber.Ctx, key, value string) string {
	args := fiber.AcquireArgs()
	defer fiber.ReleaseArgs(args)
	c.Context().QueryArgs().CopyTo(args)
	args.Set(key, value)
	// A path of "//host/..." (or "/\\host/...") would still name a host.
	return "/" + strings.TrimLeft(c.Path(), "/\\") + "?" + args.String()
}
