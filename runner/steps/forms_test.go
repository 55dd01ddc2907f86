package steps_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/runner/steps"
)

func TestForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(join(
		[]steps.Step{
			st(`Goto URL "` + e.page("forms.html") + `"`),
			// Set value replaces what the field held.
			st(`Set value "Ada Lovelace" on "#name"`),
			st(`Check if "#name" contains "Ada Lovelace" in JS property "value"`),
			st(`Set value "by name" on "fullname"`),
			st(`Check if "#name" contains "by name" in JS property "value"`),
			st(`Set value "some notes" on "//textarea[@id='notes']"`),
			st(`Set value "edited" on "#editor"`),
			st(`Check if "#editor" contains "edited" in JS property "innerText"`),
			st(`Set value "abc" on "#upper" and do not check the value`),
			st(`Check if "#upper" contains "ABC" in JS property "value"`),
			st(`Clear value on "#name"`),
			st(`Focus on element with "#notes"`),
		},
		js(`return document.getElementById('name').value + '|' + document.activeElement.id`, "|notes"),
		[]steps.Step{
			st(`I select option "es"`),
			st(`Check if "#picked" contains "es" in JS property "innerText"`),
			st(`I use selector "#country" and select option "Portugal"`),
			st(`Check if "#picked" contains "pt" in JS property "innerText"`),
			st(`I use selector "#country" and select option "contains:ANSW"`),
			st(`Check if "#picked" contains "42" in JS property "innerText"`),
			st(`I use selector "#country" and select option "42"`),
			st(`I use selector "2" and select option "3"`),
			st(`Check if "#size" contains "l" in JS property "value"`),
			st(`I can select option "m" for "#size"`),
			st(`Check if "#size" contains "m" in JS property "value"`),
			st(`I can select option "B" for "#late-select"`),
			st(`Check if "#late-select" contains "b" in JS property "value"`),
			st(`Enable checkbox "#terms"`),
			st(`Enable checkbox "#terms"`),
			st(`Check if "#terms" contains "true" in JS property "checked"`),
			st(`Disable checkbox "#terms"`),
			st(`Check if "#terms" contains "false" in JS property "checked"`),
			st(`Enable checkbox "#hidden-box"`),
			st(`Check if "#hidden-box" contains "true" in JS property "checked"`),
			st(`Upload a file by clicking on "#file" using file "hello.txt;second.txt"`),
			st(`Check if "#files" contains "hello.txt,second.txt" in JS property "innerText"`),
		},
	)...)
}

func TestFormFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(st(`Goto URL "` + e.page("forms.html") + `"`))
	tests := []struct {
		step steps.Step
		want string
	}{
		{st(`Set value "abc" on "#upper"`), `"#upper" holds "ABC" after typing "abc"`},
		{st(`Set value "x" on "#disabled"`), `"#disabled" is disabled or read-only`},
		{st(`Set value "x" on "#country"`), `"#country" is a select, not a field that takes text`},
		{st(`I use selector "#country" and select option "Atlantis"`), `"#country" has no option "Atlantis"`},
		{st(`Enable checkbox "#name"`), `"#name" is not a checkbox`},
		{st(`Upload a file by clicking on "#file" using file "../forms.html"`), `file "../forms.html" is outside the uploads folder`},
		{st(`Upload a file by clicking on "#file" using file "/etc/passwd"`), `file "/etc/passwd" is outside the uploads folder`},
		{st(`Upload a file by clicking on "#file" using file "missing.txt"`), `file "missing.txt" is not in the uploads folder`},
		{st(`Upload a file by clicking on "#name" using file "hello.txt"`), `"#name" is not a file input`},
	}
	for _, tc := range tests {
		if msg := e.mustFail(tc.step); msg != tc.want {
			t.Errorf("%s: %q, want %q", tc.step.Content, msg, tc.want)
		}
	}
}

func TestUploadWithoutFolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *steps.Options) { o.UploadsDir = "" })
	msg := e.mustFail(st(`Goto URL "`+e.page("forms.html")+`"`), st(`Upload a file by clicking on "#file" using file "hello.txt"`))
	if !strings.Contains(msg, "no uploads folder") {
		t.Fatalf("upload without folder: %q", msg)
	}
}

// An upload gives the page only files inside the uploads folder: a
// symbolic link leading out of it (to the runner's data folder, say) is
// refused like a path with "..", while a link within the folder works.
func TestUploadStaysInsideFolder(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	secret := filepath.Join(outside, "encryption-passphrase")
	uploads := t.TempDir()
	for path, data := range map[string]string{secret: "the-secret", filepath.Join(uploads, "ok.txt"): "ok"} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"passphrase.txt": secret, "data": outside, "alias.txt": "ok.txt"} {
		if err := os.Symlink(target, filepath.Join(uploads, link)); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, func(o *steps.Options) { o.UploadsDir = uploads })
	e.mustPass(st(`Goto URL "` + e.page("forms.html") + `"`))
	for name, want := range map[string]string{
		"passphrase.txt":             `file "passphrase.txt" is outside the uploads folder`,
		"data/encryption-passphrase": `file "data/encryption-passphrase" is outside the uploads folder`,
		"ok.txt;passphrase.txt":      `file "passphrase.txt" is outside the uploads folder`,
		"data":                       `file "data" is outside the uploads folder`,
		"sub/../../x":                `file "sub/../../x" is outside the uploads folder`,
	} {
		msg := e.mustFail(st(`Upload a file by clicking on "#file" using file "` + name + `"`))
		if msg != want {
			t.Errorf("upload %q: %q, want %q", name, msg, want)
		}
	}
	e.mustPass(js(`return document.getElementById('file').files.length`, "0")...)
	e.mustPass(st(`Upload a file by clicking on "#file" using file "ok.txt;alias.txt"`),
		st(`Check if "#files" contains "ok.txt,ok.txt" in JS property "innerText"`))
}
