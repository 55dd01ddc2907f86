package feature

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/cometa-es/cometa/domain"
)

// LocalBrowsers are the values of a browser object's "browser" key that
// the runner can honour: every result runs in the local Chromium (or the
// remote browser the runner is given, a Chromium too), so a feature that
// asks for another browser is refused rather than run in Chromium under
// another name.
var LocalBrowsers = []string{"chrome", "chromium"}

// checkBrowsers checks a feature's browser list, already known to be a
// JSON array: each element must be a browser object (Cometa's
// {"browser": "chrome", "browser_version": ..., "os": ...}) whose
// "browser" is one of LocalBrowsers, compared without case. Each problem
// is reported on its element, browsers[i] or browsers[i].browser.
func checkBrowsers(list json.RawMessage) error {
	var items []json.RawMessage
	if err := json.Unmarshal(list, &items); err != nil {
		return domain.Invalid("browsers", "must be an array of browser objects")
	}
	var errs []error
	for i, raw := range items {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			errs = append(errs, domain.Invalid(fmt.Sprintf("browsers[%d]", i),
				`must be a browser object such as {"browser": "chrome", "browser_version": "latest"}, got %s`,
				shorten(string(raw))))
			continue
		}
		field := fmt.Sprintf("browsers[%d].browser", i)
		var name string
		if err := json.Unmarshal(obj["browser"], &name); err != nil || strings.TrimSpace(name) == "" {
			errs = append(errs, domain.Invalid(field, `is required: the browser's name, "chrome"`))
			continue
		}
		if !isLocalBrowser(name) {
			errs = append(errs, domain.Invalid(field,
				"only Chromium is available on this server (%q or %q), got %q",
				LocalBrowsers[0], LocalBrowsers[1], name))
		}
	}
	return errors.Join(errs...)
}

func isLocalBrowser(name string) bool {
	name = strings.TrimSpace(name)
	for _, b := range LocalBrowsers {
		if strings.EqualFold(name, b) {
			return true
		}
	}
	return false
}

// checkAddress refuses an e-mail list item that is not an address, as
// net/mail reads one ("ann@example.com" or "Ann <ann@example.com>").
// field names the item, e.g. email_address[2].
func checkAddress(field, addr string) error {
	if _, err := mail.ParseAddress(addr); err != nil {
		return domain.Invalid(field, "must be an e-mail address, got %q", addr)
	}
	return nil
}

// shorten cuts a client's JSON to a length fit for an error message.
func shorten(s string) string {
	const limit = 60
	if r := []rune(s); len(r) > limit {
		return string(r[:limit]) + "..."
	}
	return s
}
