package message

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixtureDir holds real-world message shapes with their expected FETCH
// results, written by hand from RFC 3501 section 7.4.2 and 6.4.5.
const fixtureDir = "../../test/testdata/messages"

type fixture struct {
	Note          string  `json:"note"`
	Size          int64   `json:"size"`
	Envelope      string  `json:"envelope"`
	BodyStructure string  `json:"bodystructure"`
	Body          string  `json:"body"`
	SentDate      *string `json:"sentdate"`
	Sections      []struct {
		Section string `json:"section"`
		Want    string `json:"want"`
	} `json:"sections"`
}

// parseSection reads the section-spec text of BODY[...], e.g. "1.2.MIME"
// or "HEADER.FIELDS (FROM TO)".
func parseSection(t testing.TB, s string) Section {
	var sec Section
	if i := strings.IndexByte(s, '('); i >= 0 {
		sec.Fields = strings.Fields(strings.Trim(s[i:], "()"))
		s = strings.TrimSpace(s[:i])
	}
	for s != "" {
		head, rest, _ := strings.Cut(s, ".")
		n, err := strconv.Atoi(head)
		if err != nil {
			sec.Specifier = s
			break
		}
		sec.Path = append(sec.Path, n)
		s = rest
	}
	return sec
}

func loadFixtures(t *testing.T) map[string]fixture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil || len(files) < 10 {
		t.Fatalf("fixtures: %v (%d found)", err, len(files))
	}
	out := map[string]fixture{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var fx fixture
		if err := json.Unmarshal(b, &fx); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(f, ".json")] = fx
	}
	return out
}

func TestFixtures(t *testing.T) {
	for base, fx := range loadFixtures(t) {
		t.Run(filepath.Base(base), func(t *testing.T) {
			raw, err := os.ReadFile(base + ".eml")
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := Parse(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			blob, err := parsed.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			stored, err := Unmarshal(blob)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := AppendEnvelopeOf(nil, blob); err != nil || string(got) != fx.Envelope {
				t.Errorf("AppendEnvelopeOf: %v\n got %s\nwant %s", err, got, fx.Envelope)
			}
			for name, s := range map[string]*Structure{"parsed": parsed, "stored": stored} {
				if got := s.Size(); got != fx.Size || got != int64(len(raw)) {
					t.Errorf("%s: Size = %d, want %d", name, got, fx.Size)
				}
				if got := string(s.Envelope()); got != fx.Envelope {
					t.Errorf("%s: ENVELOPE\n got %s\nwant %s", name, got, fx.Envelope)
				}
				if got := string(s.BodyStructure(true)); got != fx.BodyStructure {
					t.Errorf("%s: BODYSTRUCTURE\n got %s\nwant %s", name, got, fx.BodyStructure)
				}
				if got := string(s.BodyStructure(false)); got != fx.Body {
					t.Errorf("%s: BODY\n got %s\nwant %s", name, got, fx.Body)
				}
				if fx.SentDate != nil {
					want, err := time.Parse(time.RFC3339, *fx.SentDate)
					if err != nil {
						t.Fatal(err)
					}
					if got := s.SentDate(); !got.Equal(want) {
						t.Errorf("%s: SentDate = %v, want %v", name, got, want)
					}
				} else if !s.SentDate().IsZero() {
					t.Errorf("%s: SentDate = %v, want zero", name, s.SentDate())
				}
				hdr, ok := s.Header()
				if !ok || !bytes.HasPrefix(raw, hdr) {
					t.Errorf("%s: Header() = %q, %v; not a prefix of the message", name, hdr, ok)
				}
				for _, c := range fx.Sections {
					sec := parseSection(t, c.Section)
					r, n, err := s.Section(bytes.NewReader(raw), sec)
					if err != nil {
						t.Errorf("%s: BODY[%s]: %v", name, c.Section, err)
						continue
					}
					got, err := io.ReadAll(r)
					if err != nil {
						t.Errorf("%s: BODY[%s]: read: %v", name, c.Section, err)
					}
					if string(got) != c.Want || n != int64(len(got)) {
						t.Errorf("%s: BODY[%s] (len %d)\n got %q\nwant %q", name, c.Section, n, got, c.Want)
					}
				}
			}
		})
	}
}
