package steps

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// strategy is one way of finding elements; the names are Cometa's
// selector type prefixes (`css@@...`), plus internal ones for steps that
// look for texts and buttons.
type strategy string

const (
	byCSS         strategy = "css"
	byXPath       strategy = "xpath"
	byID          strategy = "id"
	byName        strategy = "name"
	byClass       strategy = "class"
	byLinkText    strategy = "link_text"
	byPartialText strategy = "partial_text"
	byTag         strategy = "tag_name"
	byText        strategy = "text"   // the innermost element whose text is the value
	byButton      strategy = "button" // a button by its text or any attribute value
)

var prefixed = map[string]strategy{
	"css": byCSS, "xpath": byXPath, "id": byID, "name": byName, "class": byClass,
	"link_text": byLinkText, "partial_text": byPartialText, "tag_name": byTag,
}

// lookup is a parsed selector: the strategies to try, in order, each with
// the value it uses.
type lookup struct {
	raw   string
	tries [][2]string // {strategy, value}
	// explicit lookups name one strategy: a syntax error is final.
	explicit bool
}

// parseSelector reads a selector the way a user means it (Cometa's rules,
// §7.4, without its quirks): `//...` and `(//...` are XPath; `type@@value`
// names the strategy; `#id` and `.class` are CSS (a `#a:b` that is not
// valid CSS is also tried as an id, a `.a` as a class name); anything else
// is tried as CSS, id, link text, XPath, name, tag and class.
func parseSelector(raw string) lookup {
	sel := strings.TrimSpace(raw)
	l := lookup{raw: raw}
	if t, v, ok := strings.Cut(sel, "@@"); ok {
		if s, known := prefixed[strings.ToLower(strings.TrimSpace(t))]; known {
			l.tries, l.explicit = [][2]string{{string(s), v}}, true
			return l
		}
	}
	switch {
	case strings.HasPrefix(sel, "//") || strings.HasPrefix(sel, "(//") || strings.HasPrefix(sel, "./"):
		l.tries, l.explicit = [][2]string{{string(byXPath), sel}}, true
	case strings.HasPrefix(sel, "#"):
		l.tries = [][2]string{{string(byCSS), sel}, {string(byID), sel[1:]}}
	case strings.HasPrefix(sel, "."):
		l.tries = [][2]string{{string(byCSS), sel}, {string(byClass), sel[1:]}}
	default:
		for _, s := range []strategy{byCSS, byID, byLinkText, byXPath, byName, byTag, byClass} {
			l.tries = append(l.tries, [2]string{string(s), sel})
		}
	}
	return l
}

// textLookup finds what a user calls by its text ("I click on ..."): a
// link, a button, an element with exactly that text, an id, or CSS.
func textLookup(text string) lookup {
	l := lookup{raw: text}
	for _, s := range []strategy{byLinkText, byButton, byText, byID, byCSS} {
		l.tries = append(l.tries, [2]string{string(s), text})
	}
	return l
}

func single(s strategy, value string) lookup {
	return lookup{raw: value, tries: [][2]string{{string(s), value}}, explicit: true}
}

// findJS returns the first element of the first strategy that has one,
// optionally only visible ones. A syntax error in an explicit lookup is
// thrown with a marker; in a fallback list the strategy is skipped.
const findJS = `(tries, explicit, visible) => {
  const shown = el => !visible || (el.checkVisibility
    ? el.checkVisibility({visibilityProperty: true})
    : el.getClientRects().length > 0);
  const quote = v => '"' + v.replace(/["\\]/g, '\\$&') + '"';
  const norm = s => (s || '').replace(/\s+/g, ' ').trim();
  const text = el => norm(el.innerText !== undefined ? el.innerText : el.textContent);
  const all = sel => [...document.querySelectorAll(sel)];
  const by = {
    css: v => all(v),
    xpath: v => {
      const r = document.evaluate(v, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
      const out = [];
      for (let i = 0; i < r.snapshotLength; i++) out.push(r.snapshotItem(i));
      return out;
    },
    id: v => v ? all('[id=' + quote(v) + ']') : [],
    name: v => v ? all('[name=' + quote(v) + ']') : [],
    class: v => v.trim() ? [...document.getElementsByClassName(v.replace(/\./g, ' '))] : [],
    link_text: v => all('a').filter(a => text(a) === norm(v)),
    partial_text: v => all('a').filter(a => text(a).includes(norm(v))),
    tag_name: v => /^[A-Za-z][A-Za-z0-9-]*$/.test(v) ? [...document.getElementsByTagName(v)] : [],
    text: v => {
      const want = norm(v);
      if (!want) return [];
      return all('body *').filter(el => norm(el.textContent).includes(want) && text(el) === want &&
        ![...el.children].some(c => text(c) === want));
    },
    button: v => all('button, input[type=button], input[type=submit], input[type=reset], [role=button]')
      .filter(b => text(b) === norm(v) || [...b.attributes].some(a => a.value === v)),
  };
  for (const [s, v] of tries) {
    let list;
    try {
      list = by[s](v);
    } catch (e) {
      if (explicit) throw new Error('cometa-invalid-selector ' + s + ': ' + e.message);
      continue;
    }
    for (const el of list) {
      if (el && el.nodeType === 1 && shown(el)) return el;
    }
  }
  return null;
}`

// scope is the document steps act on: the current iframe or the window.
func (s *Session) scope(ctx context.Context) (*rod.Page, error) {
	if s.frame != nil {
		return s.frame.Context(ctx), nil
	}
	p, err := s.windows.page(ctx)
	if err != nil {
		return nil, err
	}
	return p.Context(ctx), nil
}

// findOnce looks the element up once. It returns (nil, nil) when there is
// no match yet.
func (s *Session) findOnce(ctx context.Context, l lookup, visible bool) (*rod.Element, error) {
	p, err := s.scope(ctx)
	if err != nil {
		return nil, err
	}
	tries := make([]any, len(l.tries))
	for i, t := range l.tries {
		tries[i] = []string{t[0], t[1]}
	}
	obj, err := p.Evaluate(rod.Eval(findJS, tries, l.explicit, visible).ByObject())
	if err != nil {
		var ev *rod.EvalError
		if errors.As(err, &ev) {
			if msg := jsExceptionText(ev); strings.Contains(msg, "cometa-invalid-selector") {
				_, detail, _ := strings.Cut(msg, "cometa-invalid-selector ")
				return nil, failf("invalid selector %q (%s)", l.raw, detail)
			}
		}
		return nil, err
	}
	if obj.Subtype == proto.RuntimeRemoteObjectSubtypeNull || obj.ObjectID == "" {
		return nil, nil
	}
	return p.ElementFromObject(obj)
}

// pollInterval is how often lookups and checks are repeated.
const pollInterval = 100 * time.Millisecond

// poll calls try until it reports done or ctx ends. It returns try's error
// when done, else the last error try gave that was not ctx's own (so that
// "not found" survives the timeout), else ctx's error.
func poll(ctx context.Context, try func() (done bool, err error)) error {
	var last error
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if last != nil {
				return last
			}
			return ctx.Err()
		case <-t.C:
		}
		done, err := try()
		if done || isFatal(err) || isConnectionLost(err) {
			return err
		}
		if err != nil && !isCtxErr(err) {
			last = err
		}
		t.Reset(pollInterval)
	}
}

func describe(l lookup, visible bool) string {
	if visible {
		return "could not find a visible element for " + quoteSel(l.raw)
	}
	return "could not find an element for " + quoteSel(l.raw)
}

func quoteSel(s string) string { return `"` + s + `"` }

// find waits until the element exists (and is visible if asked).
func (s *Session) find(ctx context.Context, l lookup, visible bool) (*rod.Element, error) {
	var found *rod.Element
	err := poll(ctx, func() (bool, error) {
		el, err := s.findOnce(ctx, l, visible)
		if err != nil {
			return false, err
		}
		if el == nil {
			return false, notFoundf("%s", describe(l, visible))
		}
		found = el
		return true, nil
	})
	return found, err
}

// act looks the element up and runs fn on it until fn reports done. When fn
// fails, because the page re-rendered the element (a detached node, a
// lost object) or it is not ready, the element is looked up again. fn
// returns done with an error for a final failure.
func (s *Session) act(ctx context.Context, l lookup, visible bool, fn func(el *rod.Element) (bool, error)) error {
	return poll(ctx, func() (bool, error) {
		el, err := s.findOnce(ctx, l, visible)
		if err != nil {
			return false, err
		}
		if el == nil {
			return false, notFoundf("%s", describe(l, visible))
		}
		return fn(el.Context(ctx))
	})
}

// evalOn runs a JavaScript function with the element as this and returns
// its value.
func evalOn(el *rod.Element, js string, args ...any) (*proto.RuntimeRemoteObject, error) {
	return el.Evaluate(rod.Eval(js, args...).ByUser())
}
