package eventschemas_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/eventschemas"
)

// titled is a made-up event at version 3: v1 called the field "name", v2
// renamed it "title", v3 added "lang". No registered type has a second
// version yet, so this is what exercises the upcaster chain.
type titled struct {
	Title string `json:"title"`
	Lang  string `json:"lang"`
}

func (*titled) EventType() string { return "TitleChanged" }

var errBadV1 = errors.New("not a version 1 payload")

func titledSchema(upcasters map[int]eventschemas.Upcaster) eventschemas.Schema {
	return eventschemas.Schema{Type: "TitleChanged", Version: 3,
		New: func() eventschemas.Payload { return &titled{} }, Upcasters: upcasters}
}

func titledUpcasters() map[int]eventschemas.Upcaster {
	return map[int]eventschemas.Upcaster{
		1: func(data []byte) ([]byte, error) {
			if !bytes.Contains(data, []byte(`"name"`)) {
				return nil, errBadV1
			}
			return bytes.Replace(data, []byte(`"name"`), []byte(`"title"`), 1), nil
		},
		2: func(data []byte) ([]byte, error) {
			return append(bytes.TrimSuffix(bytes.TrimSpace(data), []byte("}")), []byte(`,"lang":"en"}`)...), nil
		},
	}
}

// TestUpcasterChain decodes every stored version of a three-version type
// to the current payload, in order through each upcaster, and checks the
// chain's refusals: a gap at registration, a version out of range, and a
// failing upcaster.
func TestUpcasterChain(t *testing.T) {
	t.Parallel()
	reg, err := eventschemas.NewRegistry(titledSchema(titledUpcasters()))
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int]string{
		1: `{"name":"Login works"}`,
		2: `{"title":"Login works"}`,
		3: `{"title":"Login works","lang":"en"}`,
	}
	for v, data := range stored {
		p, err := reg.Decode("TitleChanged", v, []byte(data))
		if err != nil {
			t.Errorf("decode version %d: %v", v, err)
			continue
		}
		if got, ok := p.(*titled); !ok || *got != (titled{Title: "Login works", Lang: "en"}) {
			t.Errorf("version %d decodes to %+v, want the current payload", v, p)
		}
	}

	for _, v := range []int{0, 4} {
		if _, err := reg.Decode("TitleChanged", v, []byte(stored[3])); err == nil ||
			!strings.Contains(err.Error(), "known 1 to 3") {
			t.Errorf("decode of version %d: %v, want it refused", v, err)
		}
	}
	if _, err := reg.Decode("TitleChanged", 1, []byte(`{"title":"x"}`)); !errors.Is(err, errBadV1) ||
		!strings.Contains(err.Error(), "from version 1") {
		t.Errorf("decode through a failing upcaster: %v, want its error with the version", err)
	}

	gap := titledUpcasters()
	delete(gap, 2)
	if _, err := eventschemas.NewRegistry(titledSchema(gap)); err == nil ||
		!strings.Contains(err.Error(), "no upcaster from version 2") {
		t.Errorf("registering a chain with a gap: %v, want it refused", err)
	}
}
