package readapi

import (
	"github.com/gofiber/fiber/v2"
)

func (a *api) serverRoutes(r *routes) {
	r.public(fiber.MethodGet, "/info/", a.info)
}

// info is GET /backend/info/: the server's version. It needs no token,
// so that a client can check what it talks to before logging in.
func (a *api) info(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"version": a.Version})
}
