package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/input"
	"github.com/ysmood/gson"
)

func formSteps() []definition {
	return []definition{
		{pattern: `Set value "{text}" on "{selector}"`, run: stepSetValue,
			description: `Types the text into the field, replacing what it held, and checks the field took it.<br>Example: Set value "alice@example.org" on "#email"`},
		{pattern: `Set value "{text}" on "{selector}" and do not check the value`, run: stepSetValue,
			description: `Types the text into the field, replacing what it held, without checking the result (for fields that reformat).<br>Example: Set value "0123456" on "#phone" and do not check the value`},
		{pattern: `Clear value on "{selector}"`, run: stepClearValue,
			description: `Empties the field.<br>Example: Clear value on "#search"`},
		{pattern: `Focus on element with "{css_selector}"`, run: stepFocus,
			description: `Gives the element the keyboard focus.<br>Example: Focus on element with "#new-todo"`},
		{pattern: `I select option "{option_value}"`, run: stepSelectOption,
			description: `Selects the option with this value in whichever select holds it.<br>Example: I select option "en"`},
		{pattern: `I use selector "{css_selector}" and select option "{value}"`, run: stepUseSelector,
			description: `Selects an option of the select (a selector, or n for the n-th select) by value, by text, by "contains:text", or by 1-based position.<br>Example: I use selector "#country" and select option "Spain"`},
		{pattern: `I can select option "{option_value}" for "{css_selector}"`, run: stepSelectFor,
			description: `Selects the option with this value (or text) in the select.<br>Example: I can select option "de" for "#language"`},
		{pattern: `Enable checkbox "{selector}"`, run: checkboxStep(true),
			description: `Ticks the checkbox (clicking it as a user would) unless it is ticked.<br>Example: Enable checkbox "#terms"`},
		{pattern: `Disable checkbox "{selector}"`, run: checkboxStep(false),
			description: `Unticks the checkbox unless it is unticked.<br>Example: Disable checkbox "#newsletter"`},
		{pattern: `Upload a file by clicking on "{file_input_selector}" using file "{filename}"`, run: stepUpload,
			checks:      map[string]check{"filename": checkUploadNames},
			description: `Puts files from the uploads folder into the file input; several files are separated by ";".<br>Example: Upload a file by clicking on "input[type=file]" using file "invoice.pdf"`},
	}
}

// fieldJS reports what kind of field the element is.
const fieldJS = `function() {
  return {tag: this.tagName, disabled: !!this.disabled, readOnly: !!this.readOnly,
    editable: !!this.isContentEditable, type: this.type || '',
    value: this.isContentEditable ? this.innerText : (this.value === undefined ? '' : String(this.value))};
}`

// setNativeJS sets a field's value the way frameworks notice (the native
// setter, then input and change events).
const setNativeJS = `function(v) {
  if (this.isContentEditable) { this.textContent = v; }
  else {
    const proto = this instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, 'value').set.call(this, v);
  }
  this.dispatchEvent(new Event('input', {bubbles: true}));
  this.dispatchEvent(new Event('change', {bubbles: true}));
}`

const focusSelectJS = `function() {
  this.scrollIntoView({block: 'center', inline: 'nearest'});
  this.focus();
  if (this.isContentEditable) {
    const r = document.createRange(); r.selectNodeContents(this);
    const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
  } else if (this.select) { try { this.select(); } catch (e) {} }
}`

// optStr returns the string at key, "" when the key is absent.
func optStr(v gson.JSON, key string) string {
	x := v.Get(key)
	if x.Nil() {
		return ""
	}
	return x.Str()
}

type field struct {
	disabled, readOnly, editable bool
	tag, typ, value              string
}

func readField(el *rod.Element) (field, error) {
	res, err := evalOn(el, fieldJS)
	if err != nil {
		return field{}, err
	}
	v := res.Value
	return field{
		disabled: v.Get("disabled").Bool(), readOnly: v.Get("readOnly").Bool(),
		editable: v.Get("editable").Bool(), tag: v.Get("tag").Str(), typ: v.Get("type").Str(),
		value: v.Get("value").Str(),
	}, nil
}

func (f field) writable() bool {
	return f.editable || f.tag == "INPUT" || f.tag == "TEXTAREA"
}

func stepSetValue(ctx context.Context, x *stepRun) error {
	text, l := x.arg("text"), parseSelector(x.arg("selector"))
	check := !strings.HasSuffix(x.match.Pattern, "and do not check the value")
	return x.s.act(ctx, l, true, func(el *rod.Element) (bool, error) {
		f, err := readField(el)
		if err != nil {
			return false, err
		}
		if !f.writable() {
			return true, failf("%s is a %s, not a field that takes text", quoteSel(l.raw), strings.ToLower(f.tag))
		}
		if f.disabled || f.readOnly {
			return false, retryf("%s is disabled or read-only", quoteSel(l.raw))
		}
		if err := typeInto(ctx, el, text); err != nil {
			return false, err
		}
		if !check {
			return true, nil
		}
		if f, err = readField(el); err != nil {
			return false, err
		}
		if !strings.Contains(f.value, text) {
			// Typing did not reach the field (a handler swallowed keys):
			// set it directly and check again.
			if _, err := evalOn(el, setNativeJS, text); err != nil {
				return false, err
			}
			if f, err = readField(el); err != nil {
				return false, err
			}
		}
		if !strings.Contains(f.value, text) {
			return true, failf("%s holds %q after typing %q", quoteSel(l.raw), f.value, text)
		}
		return true, nil
	})
}

// typeInto focuses the field, selects what it holds and types text over
// it (an empty text deletes the selection).
func typeInto(ctx context.Context, el *rod.Element, text string) error {
	if _, err := evalOn(el, focusSelectJS); err != nil {
		return err
	}
	if text == "" {
		return pressKey(ctx, el.Page(), input.Backspace, 0)
	}
	return typeText(ctx, el.Page(), text)
}

func stepClearValue(ctx context.Context, x *stepRun) error {
	l := parseSelector(x.arg("selector"))
	return x.s.act(ctx, l, true, func(el *rod.Element) (bool, error) {
		f, err := readField(el)
		if err != nil {
			return false, err
		}
		if !f.writable() {
			return true, failf("%s is a %s, not a field that takes text", quoteSel(l.raw), strings.ToLower(f.tag))
		}
		if f.disabled || f.readOnly {
			return false, retryf("%s is disabled or read-only", quoteSel(l.raw))
		}
		if f.value == "" {
			return true, nil
		}
		if err := typeInto(ctx, el, ""); err != nil {
			return false, err
		}
		if f, err = readField(el); err != nil {
			return false, err
		}
		if f.value != "" {
			_, err = evalOn(el, setNativeJS, "")
		}
		return true, err
	})
}

func stepFocus(ctx context.Context, x *stepRun) error {
	return x.s.act(ctx, parseSelector(x.arg("css_selector")), false, func(el *rod.Element) (bool, error) {
		_, err := evalOn(el, `function() { this.scrollIntoView({block: 'center'}); this.focus(); }`)
		return err == nil, err
	})
}

// selectJS selects an option of the select that is this (or holds this
// option). mode: "value" (value, then text), "contains" (text contains,
// case-insensitive), "any" (value, text, then 1-based position).
const selectJS = `function(mode, value) {
  const sel = this.tagName === 'SELECT' ? this : this.closest('select');
  if (!sel) return {fatal: 'not a select element'};
  const norm = s => (s || '').replace(/\s+/g, ' ').trim();
  const opts = [...sel.options];
  let i = -1;
  if (this.tagName === 'OPTION') i = opts.indexOf(this);
  else if (mode === 'contains') i = opts.findIndex(o => norm(o.text).toLowerCase().includes(value.toLowerCase()));
  else {
    i = opts.findIndex(o => o.value === value);
    if (i < 0) i = opts.findIndex(o => norm(o.text) === norm(value));
    if (i < 0 && mode === 'any' && /^\d+$/.test(value)) {
      const n = parseInt(value, 10) - 1;
      if (n >= 0 && n < opts.length) i = n;
    }
  }
  if (i < 0) return {retry: 'has no option ' + JSON.stringify(value)};
  if (sel.disabled || opts[i].disabled) return {retry: 'option ' + JSON.stringify(value) + ' is disabled'};
  if (sel.multiple) opts[i].selected = true; else sel.selectedIndex = i;
  sel.dispatchEvent(new Event('input', {bubbles: true}));
  sel.dispatchEvent(new Event('change', {bubbles: true}));
  return {selected: opts[i].value};
}`

func (s *Session) selectOption(ctx context.Context, l lookup, mode, value string) error {
	return s.act(ctx, l, false, func(el *rod.Element) (bool, error) {
		res, err := evalOn(el, selectJS, mode, value)
		if err != nil {
			return false, err
		}
		v := res.Value
		if msg := optStr(v, "fatal"); msg != "" {
			return true, failf("%s: %s", quoteSel(l.raw), msg)
		}
		if msg := optStr(v, "retry"); msg != "" {
			return false, retryf("%s %s", quoteSel(l.raw), msg)
		}
		return true, nil
	})
}

func stepSelectOption(ctx context.Context, x *stepRun) error {
	v := x.arg("option_value")
	l := single(byCSS, "option[value="+cssString(v)+"]")
	l.raw = "option " + v
	return x.s.selectOption(ctx, l, "value", v)
}

func stepUseSelector(ctx context.Context, x *stepRun) error {
	sel, value := strings.TrimSpace(x.arg("css_selector")), x.arg("value")
	l := parseSelector(sel)
	if n, err := strconv.Atoi(sel); err == nil && n > 0 {
		l = single(byXPath, "(//select)["+strconv.Itoa(n)+"]")
		l.raw = "select number " + sel
	}
	if rest, ok := strings.CutPrefix(value, "contains:"); ok {
		return x.s.selectOption(ctx, l, "contains", rest)
	}
	return x.s.selectOption(ctx, l, "any", value)
}

func stepSelectFor(ctx context.Context, x *stepRun) error {
	return x.s.selectOption(ctx, parseSelector(x.arg("css_selector")), "value", x.arg("option_value"))
}

const checkedJS = `function() { return {type: this.type || '', tag: this.tagName, checked: !!this.checked, disabled: !!this.disabled} }`

// checkboxStep ticks or unticks a checkbox by clicking it like a user (or
// its label, for styled checkboxes whose input is hidden).
func checkboxStep(want bool) handler {
	return func(ctx context.Context, x *stepRun) error {
		l := parseSelector(x.arg("selector"))
		return x.s.act(ctx, l, false, func(el *rod.Element) (bool, error) {
			res, err := evalOn(el, checkedJS)
			if err != nil {
				return false, err
			}
			v := res.Value
			if t := v.Get("type").Str(); v.Get("tag").Str() != "INPUT" || (t != "checkbox" && t != "radio") {
				return true, failf("%s is not a checkbox", quoteSel(l.raw))
			}
			if v.Get("checked").Bool() == want {
				return true, nil
			}
			if v.Get("disabled").Bool() {
				return false, retryf("%s is disabled", quoteSel(l.raw))
			}
			pt, _, err := clickPoint(ctx, el)
			if err == nil && pt != nil {
				err = mouseClick(ctx, el.Page(), *pt, "left", 1, 0)
			} else {
				_, err = evalOn(el, `function() { (this.labels && this.labels[0]) ? this.labels[0].click() : this.click() }`)
			}
			if err != nil {
				return false, err
			}
			// Give the application a moment to update before looking again,
			// so that a slow handler is not clicked twice.
			return false, waitChecked(ctx, el, want, 500*time.Millisecond)
		})
	}
}

func waitChecked(ctx context.Context, el *rod.Element, want bool, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	err := poll(ctx, func() (bool, error) {
		res, err := evalOn(el.Context(ctx), checkedJS)
		if err != nil {
			return false, err
		}
		return res.Value.Get("checked").Bool() == want, nil
	})
	if err != nil {
		return retryf("the checkbox did not change")
	}
	return nil
}

// stepUpload sets files of the uploads folder on a file input. A page can
// read what it is given, so every file must resolve inside the folder:
// names are relative without "..", and a symbolic link (of the file or of
// a folder on its way) must not lead out of it. The browser gets the
// resolved path, so a link swapped after the check cannot redirect it.
//
// TODO(runner): the paths are given to the browser as they are, so with a
// remote browser the files must exist on its machine; they are not sent.
func stepUpload(ctx context.Context, x *stepRun) error {
	if x.s.opts.UploadsDir == "" {
		return failf("no uploads folder is configured for this runner")
	}
	root, err := realPath(x.s.opts.UploadsDir)
	if err != nil {
		return failf("the uploads folder cannot be read: %v", err)
	}
	var paths []string
	for _, name := range uploadNames(x.arg("filename")) {
		path, err := realPath(filepath.Join(root, filepath.Clean(name)))
		if err != nil {
			return failf("file %q is not in the uploads folder", name)
		}
		if rel, err := filepath.Rel(root, path); err != nil || !filepath.IsLocal(rel) {
			return failf("file %q is outside the uploads folder", name)
		}
		if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
			return failf("file %q is not in the uploads folder", name)
		}
		paths = append(paths, path)
	}
	if len(paths) == 0 {
		return failf("no file given")
	}
	l := parseSelector(x.arg("file_input_selector"))
	return x.s.act(ctx, l, false, func(el *rod.Element) (bool, error) {
		f, err := readField(el)
		if err != nil {
			return false, err
		}
		if f.tag != "INPUT" || f.typ != "file" {
			return true, failf("%s is not a file input", quoteSel(l.raw))
		}
		return true, el.SetFiles(paths)
	})
}

// uploadNames splits the ";"-separated file names of an upload step.
func uploadNames(list string) []string {
	var out []string
	for _, name := range strings.Split(list, ";") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// checkUploadNames refuses names that cannot be in the uploads folder
// whatever it holds: absolute paths and paths climbing out with "..". Of
// a beginning it judges the names it holds whole.
func checkUploadNames(list string, whole bool) string {
	names := uploadNames(list)
	if !whole && len(names) > 0 && !strings.HasSuffix(strings.TrimSpace(list), ";") {
		names = names[:len(names)-1] // the last name goes on in a variable
	}
	for _, name := range names {
		if !filepath.IsLocal(name) {
			return fmt.Sprintf("file %q is outside the uploads folder", name)
		}
	}
	if whole && len(names) == 0 {
		return "no file given"
	}
	return ""
}

// realPath is path made absolute with every symbolic link resolved.
func realPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}
