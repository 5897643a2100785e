package maildir

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/imapd-go/imapd/ports"
)

// toCRLF is the reference: every LF not after a CR gets one.
func toCRLF(b []byte) []byte {
	var out []byte
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

func crlfInputs() map[string][]byte {
	long := strings.Repeat("a line of text\n", 5000) // past every buffer
	edge := strings.Repeat("x", 32<<10-1) + "\r\n" + strings.Repeat("y", 32<<10-1) + "\n" + "z\n"
	return map[string][]byte{
		"empty":         nil,
		"no newline":    []byte("Subject: x"),
		"lf only":       []byte("Subject: hi\n\nbody\n"),
		"crlf already":  []byte("Subject: hi\r\n\r\nbody\r\n"),
		"mixed":         []byte("A: 1\r\nB: 2\n\nl1\r\nl2\n\n\r\n"),
		"leading lf":    []byte("\n\nx"),
		"lone cr":       []byte("a\rb\n\r"),
		"long":          []byte(long),
		"cr at edge":    []byte(edge),
		"lf after edge": []byte(strings.Repeat("q", 32<<10) + "\n\n"),
	}
}

func TestCRLFCounterConverts(t *testing.T) {
	// The file read a byte at a time or in halves puts a CR and its LF in
	// different reads; the caller's short reads leave an LF owed.
	sources := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"halves":   iotest.HalfReader,
	}
	for name, in := range crlfInputs() {
		for src, wrap := range sources {
			for _, chunk := range []int{1, 2, 7, 1 << 16} {
				c := newCRLFCounter(wrap(bytes.NewReader(in)))
				got, err := io.ReadAll(iotestOneByteAtATime{c, chunk})
				if err != nil {
					t.Fatalf("%s, %s, %d: %v", name, src, chunk, err)
				}
				if want := toCRLF(in); !bytes.Equal(got, want) {
					t.Errorf("%s, %s, %d: got %q, want %q", name, src, chunk, trim(got), trim(want))
				}
				if c.n != int64(len(got)) {
					t.Errorf("%s, %s, %d: counted %d, gave %d", name, src, chunk, c.n, len(got))
				}
			}
		}
	}
}

// iotestOneByteAtATime reads through r in reads of at most n bytes, so
// that an owed LF falls at the edge of the caller's buffer.
type iotestOneByteAtATime struct {
	r io.Reader
	n int
}

func (o iotestOneByteAtATime) Read(p []byte) (int, error) {
	return o.r.Read(p[:min(len(p), o.n)])
}

func TestCRLFViewRandomAccess(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for name, in := range crlfInputs() {
		lfs, n, err := bareLFs(bytes.NewReader(in))
		if err != nil || n != int64(len(in)) {
			t.Fatalf("%s: bareLFs: %d, %v", name, n, err)
		}
		want := toCRLF(in)
		v := newCRLFView(bytes.NewReader(in), n, lfs)
		if v.size != int64(len(want)) {
			t.Fatalf("%s: size %d, want %d", name, v.size, len(want))
		}
		// Whole, then every single byte, then random windows.
		all := make([]byte, len(want))
		if k, err := v.ReadAt(all, 0); k != len(want) || (err != nil && err != io.EOF) || !bytes.Equal(all, want) {
			t.Fatalf("%s: whole read %d %v", name, k, err)
		}
		if len(want) < 200 {
			for off := range want {
				var b [1]byte
				if k, err := v.ReadAt(b[:], int64(off)); k != 1 || err != nil || b[0] != want[off] {
					t.Fatalf("%s: byte %d: got %q (%d, %v), want %q", name, off, b[0], k, err, want[off])
				}
			}
		}
		for range 300 {
			if len(want) == 0 {
				break
			}
			off := rng.Int63n(int64(len(want)) + 2)
			ln := rng.Intn(70000)
			p := make([]byte, ln)
			k, err := v.ReadAt(p, off)
			lo := min(off, int64(len(want)))
			hi := min(off+int64(ln), int64(len(want)))
			exp := want[lo:hi]
			if k != len(exp) || !bytes.Equal(p[:k], exp) {
				t.Fatalf("%s: ReadAt(%d bytes, %d): %d bytes, want %d", name, ln, off, k, len(exp))
			}
			if k < ln && err != io.EOF {
				t.Fatalf("%s: short read without io.EOF: %v", name, err)
			}
			if k == ln && err != nil {
				t.Fatalf("%s: full read with %v", name, err)
			}
		}
		// A read that sees only one byte more than a CR it gives out.
		if i := bytes.Index(want, []byte("\r\n")); i >= 0 {
			p := make([]byte, 1)
			if k, _ := v.ReadAt(p, int64(i)); k != 1 || p[0] != '\r' {
				t.Fatalf("%s: CR alone: %q", name, p[:k])
			}
			if k, _ := v.ReadAt(p, int64(i+1)); k != 1 || p[0] != '\n' {
				t.Fatalf("%s: LF alone: %q", name, p[:k])
			}
		}
	}
}

func trim(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}

// BenchmarkOpenOwnFile reads a 30 KB CRLF file as we write it, the way
// FETCH BODY[] does: opened, read whole, closed. "raw" is the path before
// files with bare LFs were converted (open alone), "checked" the path
// every message takes now (open, then the check of the name's ",S=" that
// finds the file needs no conversion); run together they are a paired
// comparison.
func BenchmarkOpenOwnFile(b *testing.B) {
	msg := toCRLF([]byte(strings.Repeat("Subject: a line of some thirty bytes\n", 30<<10/38)))
	path := b.TempDir() + "/" + uniqueName(int64(len(msg))) + ":2,"
	if err := os.WriteFile(path, msg, 0o600); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, len(msg))
	s := &Store{}
	for _, check := range []bool{false, true} {
		name := map[bool]string{false: "raw", true: "checked"}[check]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for i := 0; i < b.N; i++ {
				raw, err := openBody(path, int64(len(msg)))
				if err != nil {
					b.Fatal(err)
				}
				var body ports.MessageBody = raw
				if check {
					if body, err = s.asCRLF(raw, path); err != nil {
						b.Fatal(err)
					}
				}
				if n, err := body.ReadAt(buf, 0); n != len(msg) || err != nil {
					b.Fatal(n, err)
				}
				body.Close()
			}
		})
	}
}

func TestSizeInName(t *testing.T) {
	for name, want := range map[string]int64{
		"1717495200.M1P42.host,S=43:2,S":        43,
		"1717495200.M1P42.host,S=39,W=43:2,":    39,
		"1717495200.M1P42.host:2,S":             -1,
		"1717495200.M1P42.host":                 -1,
		"1717495200.M1P42.host,S=:2,":           -1,
		"1717495200.M1P42.host:2,,S=12":         -1,
		"1717495200.M1P42.host,W=43,S=1024:2,T": 1024,
	} {
		if got := sizeInName(name); got != want {
			t.Errorf("sizeInName(%q) = %d, want %d", name, got, want)
		}
	}
}

// An LF file is read once for its bare LFs: the next open finds them kept.
func TestAsCRLFKeepsTheMap(t *testing.T) {
	in := []byte("A: 1\nB: 2\r\n\nbody\n")
	want := toCRLF(in)
	path := t.TempDir() + "/1717495200.M1P42.mta:2,S"
	if err := os.WriteFile(path, in, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Store{}
	for range 2 {
		raw, err := openBody(path, int64(len(want)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.asCRLF(raw, path)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, b.Size())
		if n, err := b.ReadAt(got, 0); n != len(want) || err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read %q (%d, %v), want %q", got[:n], n, err, want)
		}
		b.Close()
		if s.lfMaps.held != 3 || len(s.lfMaps.m) != 1 {
			t.Fatalf("kept %d offsets of %d files, want 3 of 1", s.lfMaps.held, len(s.lfMaps.m))
		}
	}
}

// BenchmarkOpenLFFile reads a 30 KB file delivered with bare LFs as FETCH
// BODY[] does, served as CRLF: "first" finds its LFs each time (the first
// FETCH of it), "kept" finds them in the Store's map.
func BenchmarkOpenLFFile(b *testing.B) {
	in := []byte(strings.Repeat("Subject: a line of some thirty bytes\n", 30<<10/38))
	want := toCRLF(in)
	path := b.TempDir() + "/1717495200.M1P42.mta:2,"
	if err := os.WriteFile(path, in, 0o600); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, len(want))
	for _, keep := range []bool{false, true} {
		b.Run(map[bool]string{false: "first", true: "kept"}[keep], func(b *testing.B) {
			s := &Store{}
			b.SetBytes(int64(len(want)))
			for i := 0; i < b.N; i++ {
				if !keep {
					s.lfMaps = lfMaps{}
				}
				raw, err := openBody(path, int64(len(want)))
				if err != nil {
					b.Fatal(err)
				}
				body, err := s.asCRLF(raw, path)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := body.ReadAt(buf, 0); n != len(want) || err != nil {
					b.Fatal(n, err)
				}
				body.Close()
			}
		})
	}
}
