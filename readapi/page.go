package readapi

import (
	"errors"
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
// is a 400 naming it. A size above the maximum is capped (see pageSize).
func readPage(c *fiber.Ctx) (pageRequest, error) {
	p := pageRequest{page: 1}
	if raw := c.Query("page"); raw != "" {
		n, err := strconv.Atoi(raw)
		switch {
		case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(raw, "-"):
			return p, domain.Invalid("page", "%s is too large: the last page there can be is %d", raw, math.MaxInt)
		case err != nil || n < 1:
			return p, domain.Invalid("page", "must be a positive integer, got %q", raw)
		}
		p.page = n
	}
	size, err := pageSize(c)
	p.size = size
	return p, err
}

// pageSize reads ?size=, defaultPageSize when absent. A size above
// maxPageSize is read as maxPageSize, silently, as DRF caps a page at
// max_page_size; one too large to be a number here is a 400 that gives the
// maximum, and so is one that is not a positive integer.
func pageSize(c *fiber.Ctx) (int, error) {
	raw := c.Query("size")
	if raw == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(raw)
	switch {
	case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(raw, "-"):
		return defaultPageSize, domain.Invalid("size",
			"%s is too large: a page holds at most %d (a larger size is read as %d)", raw, maxPageSize, maxPageSize)
	case err != nil || n < 1:
		return defaultPageSize, domain.Invalid("size", "must be a positive integer (at most %d), got %q",
			maxPageSize, raw)
	}
	return min(n, maxPageSize), nil
}

// pageBody is a DRF page: {"count", "next", "previous", "results"} with
// links to the neighbouring pages (see pageLink), null at the ends. Past
// the last page, previous links to the last page that has results, however
// far past it the request is.
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
	last := (count + p.size - 1) / p.size // the last page with results; 0 when none
	return fiber.Map{"count": count, "next": next, "previous": link(min(p.page-1, last)), "results": results}
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
