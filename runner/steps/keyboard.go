package steps

import (
	"context"
	"strings"

	"github.com/go-rod/rod/lib/input"
)

func keyboardSteps() []definition {
	return []definition{
		{pattern: `Send keys "{keys}"`, run: stepSendKeys, docstring: "keys",
			description: `Types the text into the focused element; a key name in capitals (ENTER, TAB, ESCAPE, F5, ARROW_DOWN ...) presses that key. A docstring gives multi-line text.<br>Example: Send keys "Buy milk"`},
		{pattern: `Press Enter`, run: keyStep(input.Enter),
			description: `Presses the Enter key in the focused element.<br>Example: Press Enter`},
		{pattern: `Press TAB`, run: keyStep(input.Tab),
			description: `Presses the Tab key.<br>Example: Press TAB`},
		{pattern: `Press the following set of keys "{keySet}"`, run: stepKeySet,
			description: `Presses key combinations: keys joined by + are held together, combinations separated by ; follow each other.<br>Example: Press the following set of keys "CTRL+A;BACKSPACE"`},
	}
}

func keyStep(k input.Key) handler {
	return func(ctx context.Context, x *stepRun) error {
		p, err := x.s.windows.page(ctx)
		if err != nil {
			return err
		}
		return pressKey(ctx, p, k, 0)
	}
}

// stepSendKeys types into whatever has the focus, as Selenium's
// send_keys to the active element does. Only an exact key name in capitals
// is a key: "Home" is typed as text, "HOME" presses the key.
func stepSendKeys(ctx context.Context, x *stepRun) error {
	p, err := x.s.windows.page(ctx)
	if err != nil {
		return err
	}
	keys := x.arg("keys")
	if k, ok := namedKeys[keys]; ok {
		return pressKey(ctx, p, k, 0)
	}
	return typeText(ctx, p, keys)
}

// stepKeySet presses "CTRL+S;ALT+F4": within a set the keys go down in
// order and come up in reverse; sets follow each other.
func stepKeySet(ctx context.Context, x *stepRun) error {
	p, err := x.s.windows.page(ctx)
	if err != nil {
		return err
	}
	set := strings.TrimSpace(x.arg("keySet"))
	if set == "" {
		return failf("no keys given")
	}
	var combos [][]input.Key
	for _, combo := range strings.Split(set, ";") {
		var keys []input.Key
		for _, name := range strings.Split(combo, "+") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if k, ok := namedKeys[strings.ToUpper(name)]; ok {
				keys = append(keys, k)
				continue
			}
			// A letter in a shortcut is the key, not a capital: CTRL+A is
			// Control and a.
			r := []rune(strings.ToLower(name))
			k, ok := keyOf(r[0])
			if len(r) != 1 || !ok {
				return failf("unknown key %q in %q", name, set)
			}
			keys = append(keys, k)
		}
		if len(keys) > 0 {
			combos = append(combos, keys)
		}
	}
	for _, keys := range combos {
		mods := 0
		for _, k := range keys {
			if err := keyEvent(ctx, p, k, true, mods); err != nil {
				return err
			}
			mods |= modifierOf(k)
		}
		for i := len(keys) - 1; i >= 0; i-- {
			mods &^= modifierOf(keys[i])
			if err := keyEvent(ctx, p, keys[i], false, mods); err != nil {
				return err
			}
		}
	}
	return nil
}
