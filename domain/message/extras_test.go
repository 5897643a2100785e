package message

import (
	"os"
	"path/filepath"
	"testing"
)

// Extras go into the stored form and come back out of it, by Unmarshal
// and by ExtrasOf alike, without changing what the structure renders.
func TestExtrasRoundTrip(t *testing.T) {
	for _, e := range []Extras{
		{},
		{Preview: "", HasPreview: true},
		{Preview: "Grüße aus Köln", HasPreview: true, EmailID: "M0123abcd", ThreadID: "T42"},
		{EmailID: "Mx"},
	} {
		s := mustParse(t, "From: a@b\r\nSubject: hi\r\n\r\nbody\r\n")
		env := string(s.Envelope())
		s.SetExtras(e)
		blob, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if blob[0] != 3 {
			t.Fatalf("format version %d, want 3", blob[0])
		}
		got, err := ExtrasOf(blob)
		if err != nil || got != e {
			t.Errorf("ExtrasOf = %+v, %v; want %+v", got, err, e)
		}
		u, err := Unmarshal(blob)
		if err != nil {
			t.Fatal(err)
		}
		if u.Extras() != e {
			t.Errorf("Unmarshal: Extras = %+v, want %+v", u.Extras(), e)
		}
		if got, err := AppendEnvelopeOf(nil, blob); err != nil || string(got) != env {
			t.Errorf("AppendEnvelopeOf = %s, %v", got, err)
		}
	}
}

// Blobs of versions 1 and 2 have no extras, and still read.
func TestExtrasOfOldBlobs(t *testing.T) {
	for _, dir := range []string{"testdata/v1", "testdata/v2"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.blob"))
		if len(files) == 0 {
			t.Fatalf("%s: no blobs", dir)
		}
		for _, f := range files {
			blob, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if e, err := ExtrasOf(blob); err != nil || e != (Extras{}) {
				t.Errorf("%s: ExtrasOf = %+v, %v", f, e, err)
			}
		}
	}
}

// A truncated extras section is malformed, never a panic.
func TestExtrasTruncated(t *testing.T) {
	s := mustParse(t, "Subject: x\r\n\r\nbody\r\n")
	s.SetExtras(Extras{Preview: "body", HasPreview: true, EmailID: "M1", ThreadID: "T1"})
	blob, _ := s.MarshalBinary()
	for n := 1; n < len(blob); n++ {
		_, _ = ExtrasOf(blob[:n])
		if _, err := Unmarshal(blob[:n]); err == nil {
			t.Errorf("Unmarshal of %d of %d bytes succeeded", n, len(blob))
		}
	}
}
