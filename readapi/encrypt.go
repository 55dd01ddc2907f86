package readapi

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/internal/cryptojs"
)

// DecryptPermission is the flag that decrypting with /backend/encrypt/
// needs. Cometa lets any caller decrypt any secret. Every default role may
// edit variables, so edit_variable would guard nothing; the server's
// passphrase is server configuration, and of the default roles only
// SUPERUSER has manage_configurations. The runner decrypts at run time
// without this endpoint, so nobody else needs it.
const DecryptPermission = role.ManageConfigurations

func (a *api) encryptRoutes(r *routes) {
	r.get("/encrypt/", a.encrypt)
	r.post("/encrypt/", a.encrypt)
}

// encryptBody is the input of /backend/encrypt/, as a JSON body or as
// query parameters. Text is required; "" is a text like any other.
type encryptBody struct {
	Action string  `json:"action"`
	Text   *string `json:"text"`
}

// encrypt encrypts text in Cometa's format (CryptoJS-compatible) for any
// caller, or decrypts it for a caller with DecryptPermission.
func (a *api) encrypt(c *fiber.Ctx) error {
	var body encryptBody
	if err := decodeInput(c, &body, decodeOptions{}); err != nil {
		return err
	}
	var problems []error
	if body.Text == nil {
		problems = append(problems, domain.Invalid("text", "is required: the text to encrypt or decrypt"))
	}
	if body.Action == "" {
		problems = append(problems, domain.Invalid("action", `is required: "encrypt" or "decrypt"`))
	}
	if len(problems) > 0 {
		return joinInvalid(problems)
	}
	text := *body.Text
	if err := domain.CheckFreeText("text", text); err != nil {
		return err
	}
	switch body.Action {
	case "encrypt":
		out, err := cryptojs.Encrypt(a.Passphrase, text)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"result": out})
	case "decrypt":
		if err := callerOf(c).Require(string(DecryptPermission)); err != nil {
			return err
		}
		out, err := cryptojs.Decrypt(a.Passphrase, text)
		if errors.Is(err, cryptojs.ErrNotCiphertext) {
			return domain.Invalid("text", "not a value encrypted with this server's passphrase")
		}
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"result": out})
	}
	return domain.Invalid("action", `must be "encrypt" or "decrypt", got %q`, body.Action)
}
