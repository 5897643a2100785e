package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
)

// TestImportedBinaryPart: an imported message whose part is binary with NUL
// bytes is stored base64-encoded, its structure computed on the stored
// form, and one with NUL in its header is refused.
func TestImportedBinaryPart(t *testing.T) {
	body := "Subject: nul\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\na\x00b\r\n"
	msg, err := imported{body: []byte(body)}.message()
	if err != nil {
		t.Fatal(err)
	}
	stored, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.IndexByte(stored, 0) >= 0 || int64(len(stored)) != msg.Size {
		t.Errorf("stored %q (size %d)", stored, msg.Size)
	}
	st, err := message.Unmarshal(msg.Structure)
	if err != nil {
		t.Fatal(err)
	}
	if bs := string(st.BodyStructure(true)); !strings.Contains(bs, `"BASE64"`) || st.Size() != msg.Size {
		t.Errorf("structure %s, size %d", bs, st.Size())
	}
	r, n, err := st.Decoded(bytes.NewReader(stored), []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); string(got) != "a\x00b\r\n" || n != 5 {
		t.Errorf("BINARY[1] = %q (%d)", got, n)
	}
	if _, err := (imported{body: []byte("Subject: a\x00\r\n\r\nb\r\n")}).message(); !errors.Is(err, message.ErrNUL) {
		t.Errorf("NUL in a header: err = %v, want ErrNUL", err)
	}
}

// TestReadMaildirKeywords: the lowercase letters of a maildir file name
// are the keywords the folder's dovecot-keywords names, as Dovecot keeps
// them; a letter it does not name is no flag.
func TestReadMaildirKeywords(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "dovecot-keywords"), []byte("0 $Label1\n2 Project\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cur", "1.M1P1.host:2,FSabc"), []byte("Subject: a\n\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	msgs, err := readMaildir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || !imap.SameFlags(msgs[0].flags, []string{imap.FlagFlagged, imap.FlagSeen, "$Label1", "Project"}) {
		t.Errorf("read %+v", msgs)
	}
}
