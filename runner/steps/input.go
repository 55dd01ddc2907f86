package steps

import (
	"context"
	"strings"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/input"
	"github.com/go-rod/rod/lib/proto"
	"github.com/ysmood/gson"
)

// Mouse and keyboard go straight to the protocol: rod's Mouse and
// Keyboard hold the page they were created with and ignore the context of
// a page clone, so their calls would not be bounded by the step.

// Modifier bits of Input.dispatch*Event.
const (
	modAlt   = 1
	modCtrl  = 2
	modMeta  = 4
	modShift = 8
)

func mouseMove(ctx context.Context, p *rod.Page, pt proto.Point, mods int) error {
	return proto.InputDispatchMouseEvent{
		Type: proto.InputDispatchMouseEventTypeMouseMoved, X: pt.X, Y: pt.Y, Modifiers: mods,
	}.Call(p.Context(ctx))
}

// mouseClick moves to pt and clicks count times with button: each press
// carries its click count, so the second of two makes a dblclick.
func mouseClick(ctx context.Context, p *rod.Page, pt proto.Point, button proto.InputMouseButton, count, mods int) error {
	if err := mouseMove(ctx, p, pt, mods); err != nil {
		return err
	}
	buttons := 1
	switch button {
	case proto.InputMouseButtonRight:
		buttons = 2
	case proto.InputMouseButtonMiddle:
		buttons = 4
	}
	c := p.Context(ctx)
	for n := 1; n <= count; n++ {
		for _, typ := range []proto.InputDispatchMouseEventType{
			proto.InputDispatchMouseEventTypeMousePressed, proto.InputDispatchMouseEventTypeMouseReleased,
		} {
			b := gson.Int(buttons)
			if typ == proto.InputDispatchMouseEventTypeMouseReleased {
				b = gson.Int(0)
			}
			err := proto.InputDispatchMouseEvent{
				Type: typ, X: pt.X, Y: pt.Y, Button: button, Buttons: b, ClickCount: n, Modifiers: mods,
			}.Call(c)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// keyEvent sends one key down or up.
func keyEvent(ctx context.Context, p *rod.Page, k input.Key, down bool, mods int) error {
	t := proto.InputDispatchKeyEventTypeKeyUp
	if down {
		t = proto.InputDispatchKeyEventTypeKeyDown
	}
	ev := k.Encode(t, mods)
	if mods&(modCtrl|modAlt|modMeta) != 0 {
		// A shortcut inserts no text; the editing ones also need the
		// command, which Chromium does not derive from the key here.
		ev.Text, ev.UnmodifiedText = "", ""
		if down {
			ev.Type = proto.InputDispatchKeyEventTypeRawKeyDown
			if cmd, ok := editingCommands[strings.ToLower(ev.Key)]; ok && mods&modCtrl != 0 {
				ev.Commands = []string{cmd}
			}
		}
	}
	return ev.Call(p.Context(ctx))
}

// editingCommands are the Control shortcuts of text fields.
var editingCommands = map[string]string{
	"a": "selectAll", "c": "copy", "x": "cut", "v": "paste", "z": "undo", "y": "redo",
}

// pressKey presses and releases k.
func pressKey(ctx context.Context, p *rod.Page, k input.Key, mods int) error {
	if err := keyEvent(ctx, p, k, true, mods); err != nil {
		return err
	}
	return keyEvent(ctx, p, k, false, mods)
}

// keyOf returns rod's key for a character, if rod's keyboard has one.
func keyOf(r rune) (k input.Key, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	k = input.Key(r)
	_ = k.Info() // panics for characters rod's keymap lacks
	return k, true
}

// typeText types text into the focused element the way a keyboard does:
// key events for characters on a US keyboard, text insertion for others
// (accents, CJK, emoji), Enter for newlines and Tab for tabs.
func typeText(ctx context.Context, p *rod.Page, text string) error {
	var pending strings.Builder
	flush := func() error {
		if pending.Len() == 0 {
			return nil
		}
		err := proto.InputInsertText{Text: pending.String()}.Call(p.Context(ctx))
		pending.Reset()
		return err
	}
	for _, r := range text {
		switch r {
		case '\n':
			r = '\r'
		case '\r':
			continue
		}
		k, ok := keyOf(r)
		if !ok {
			pending.WriteRune(r)
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		if err := pressKey(ctx, p, k, 0); err != nil {
			return err
		}
	}
	return flush()
}

// namedKeys maps Selenium's key names (what Cometa users write) to keys.
var namedKeys = map[string]input.Key{
	"ENTER": input.Enter, "RETURN": input.Enter, "TAB": input.Tab, "SPACE": input.Space,
	"ESCAPE": input.Escape, "ESC": input.Escape, "BACKSPACE": input.Backspace, "BACK_SPACE": input.Backspace,
	"DELETE": input.Delete, "INSERT": input.Insert, "HOME": input.Home, "END": input.End,
	"PAGE_UP": input.PageUp, "PAGE_DOWN": input.PageDown,
	"UP": input.ArrowUp, "DOWN": input.ArrowDown, "LEFT": input.ArrowLeft, "RIGHT": input.ArrowRight,
	"ARROW_UP": input.ArrowUp, "ARROW_DOWN": input.ArrowDown, "ARROW_LEFT": input.ArrowLeft,
	"ARROW_RIGHT": input.ArrowRight,
	"SHIFT":       input.ShiftLeft, "LEFT_SHIFT": input.ShiftLeft, "CONTROL": input.ControlLeft,
	"CTRL": input.ControlLeft, "LEFT_CONTROL": input.ControlLeft, "ALT": input.AltLeft,
	"LEFT_ALT": input.AltLeft, "META": input.MetaLeft, "COMMAND": input.MetaLeft,
	"PAUSE": input.Pause, "F1": input.F1, "F2": input.F2, "F3": input.F3, "F4": input.F4,
	"F5": input.F5, "F6": input.F6, "F7": input.F7, "F8": input.F8, "F9": input.F9,
	"F10": input.F10, "F11": input.F11, "F12": input.F12,
	"NUMPAD0": input.Numpad0, "NUMPAD1": input.Numpad1, "NUMPAD2": input.Numpad2,
	"NUMPAD3": input.Numpad3, "NUMPAD4": input.Numpad4, "NUMPAD5": input.Numpad5,
	"NUMPAD6": input.Numpad6, "NUMPAD7": input.Numpad7, "NUMPAD8": input.Numpad8,
	"NUMPAD9": input.Numpad9, "ADD": input.NumpadAdd, "SUBTRACT": input.NumpadSubtract,
	"MULTIPLY": input.NumpadMultiply, "DIVIDE": input.NumpadDivide, "DECIMAL": input.NumpadDecimal,
	"SEMICOLON": input.Semicolon, "EQUALS": input.Equal,
}

// modifierOf returns the modifier bit of a modifier key, 0 for others.
func modifierOf(k input.Key) int {
	switch k {
	case input.ShiftLeft, input.ShiftRight:
		return modShift
	case input.ControlLeft, input.ControlRight:
		return modCtrl
	case input.AltLeft, input.AltRight:
		return modAlt
	case input.MetaLeft, input.MetaRight:
		return modMeta
	}
	return 0
}
