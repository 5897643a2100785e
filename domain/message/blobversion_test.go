package message

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Blobs written by earlier format versions stay in the stores: each one
// must decode and render exactly as the fixture says. testdata/v1 holds
// the fixtures' structures as format version 1 wrote them.
func TestVersion1Blobs(t *testing.T) {
	fixtures := loadFixtures(t)
	files, err := filepath.Glob("testdata/v1/*.blob")
	if err != nil || len(files) != len(fixtures) {
		t.Fatalf("testdata/v1: %v (%d blobs for %d fixtures)", err, len(files), len(fixtures))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".blob")
		t.Run(name, func(t *testing.T) {
			blob, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if blob[0] != formatV1 {
				t.Fatalf("version %d, want %d", blob[0], formatV1)
			}
			fx := fixtures[filepath.Join(fixtureDir, name)]
			raw, err := os.ReadFile(filepath.Join(fixtureDir, name+".eml"))
			if err != nil {
				t.Fatal(err)
			}
			checkBlob(t, blob, fx, raw)
			// Stored again, it takes the current format and renders the same.
			s, err := Unmarshal(blob)
			if err != nil {
				t.Fatal(err)
			}
			again, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if again[0] != formatVersion {
				t.Fatalf("marshalled again in version %d", again[0])
			}
			checkBlob(t, again, fx, raw)
		})
	}
}

// checkBlob checks every way of reading blob against the fixture.
func checkBlob(t *testing.T, blob []byte, fx fixture, raw []byte) {
	t.Helper()
	s, err := Unmarshal(blob)
	if err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if got := string(s.Envelope()); got != fx.Envelope {
		t.Errorf("ENVELOPE\n got %s\nwant %s", got, fx.Envelope)
	}
	if got := string(s.BodyStructure(true)); got != fx.BodyStructure {
		t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", got, fx.BodyStructure)
	}
	if got := string(s.BodyStructure(false)); got != fx.Body {
		t.Errorf("BODY\n got %s\nwant %s", got, fx.Body)
	}
	if got, err := AppendEnvelopeOf([]byte("x"), blob); err != nil || string(got) != "x"+fx.Envelope {
		t.Errorf("AppendEnvelopeOf: %v\n got %s\nwant x%s", err, got, fx.Envelope)
	}
	if got, err := AppendBodyStructureOf([]byte("x"), blob); err != nil || string(got) != "x"+fx.BodyStructure {
		t.Errorf("AppendBodyStructureOf: %v\n got %s\nwant x%s", err, got, fx.BodyStructure)
	}
	hdr, err := StoredHeader(blob)
	if err != nil || (hdr != nil && !bytes.HasPrefix(raw, hdr)) {
		t.Errorf("StoredHeader = %q, %v", hdr, err)
	}
	if kept, ok := s.Header(); ok != (hdr != nil) || !bytes.Equal(kept, hdr) {
		t.Errorf("Header() = %q, %v; StoredHeader %q", kept, ok, hdr)
	}
}

// withTexts returns blob (any version) in format version 2 carrying the
// given render version and texts.
func withTexts(t *testing.T, blob []byte, version uint64, env, bs string) []byte {
	t.Helper()
	d, _, err := openBlob(blob)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{formatV2}
	b = binary.AppendUvarint(b, version)
	b = appendStr(b, env)
	b = appendStr(b, bs)
	return append(b, d.b...)
}

// The texts a blob carries are used only when the code that rendered them
// is the current one; others are rendered anew from the parts.
func TestRenderedTextsVersion(t *testing.T) {
	s := mustParse(t, "From: a@b\r\nSubject: hi\r\n\r\nbody\r\n")
	blob, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	env, bs := string(s.Envelope()), string(s.BodyStructure(true))
	for _, tc := range []struct {
		version        uint64
		wantEnv, wantB string
	}{
		{renderVersion, "(ENV)", "(BS)"},
		{renderVersion + 1, env, bs},
		{0, env, bs},
	} {
		b := withTexts(t, blob, tc.version, "(ENV)", "(BS)")
		gotEnv, err := AppendEnvelopeOf(nil, b)
		if err != nil || string(gotEnv) != tc.wantEnv {
			t.Errorf("render version %d: AppendEnvelopeOf = %s, %v; want %s", tc.version, gotEnv, err, tc.wantEnv)
		}
		gotBS, err := AppendBodyStructureOf(nil, b)
		if err != nil || string(gotBS) != tc.wantB {
			t.Errorf("render version %d: AppendBodyStructureOf = %s, %v; want %s", tc.version, gotBS, err, tc.wantB)
		}
		u, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if string(u.Envelope()) != tc.wantEnv || string(u.BodyStructure(true)) != tc.wantB {
			t.Errorf("render version %d: Unmarshal renders %s %s", tc.version, u.Envelope(), u.BodyStructure(true))
		}
		// BODY is always rendered from the parts.
		if got, want := string(u.BodyStructure(false)), string(s.BodyStructure(false)); got != want {
			t.Errorf("render version %d: BODY = %s, want %s", tc.version, got, want)
		}
	}
}

// testdata/v2 holds the fixtures' structures as this format version wrote
// them, texts included. When rendering changes, the texts stored by the
// code before no longer match what the parts render: renderVersion must
// then be bumped (so stored texts are ignored), and these blobs written
// anew with IMAPD_WRITE_BLOBS=1 go test -run TestRenderedTextsCurrent.
func TestRenderedTextsCurrent(t *testing.T) {
	if os.Getenv("IMAPD_WRITE_BLOBS") != "" {
		writeBlobs(t)
	}
	files, err := filepath.Glob("testdata/v2/*.blob")
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata/v2: %v (%d blobs)", err, len(files))
	}
	for _, f := range files {
		blob, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, r, err := openBlob(blob)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if r.env == nil {
			continue // another render version: not used
		}
		s, err := Unmarshal(blob)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		s.envText, s.bsText = nil, nil
		if string(r.env) != string(s.Envelope()) || string(r.bs) != string(s.BodyStructure(true)) {
			t.Errorf("%s: the stored texts differ from what the parts render now: bump renderVersion\n stored %s %s\n    now %s %s",
				f, r.env, r.bs, s.Envelope(), s.BodyStructure(true))
		}
	}
}

func writeBlobs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.eml"))
	if err := os.MkdirAll("testdata/v2", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		blob, err := mustParse(t, string(raw)).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join("testdata/v2", strings.TrimSuffix(filepath.Base(f), ".eml")+".blob")
		if err := os.WriteFile(out, blob, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
