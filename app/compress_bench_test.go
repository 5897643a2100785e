package app

import (
	"compress/flate"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// fetchLike is what a FETCH of whole messages sends: the corpus's
// messages (headers, MIME structure, a base64 attachment), each with a
// body of its own (prose drawn from a vocabulary, so that the messages do
// not repeat one another), behind its FETCH line.
func fetchLike(b *testing.B) []byte {
	files, _ := filepath.Glob("../test/testdata/messages/*.eml")
	if len(files) == 0 {
		b.Skip("no test messages")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 3000)
	for i := range vocab {
		w := make([]byte, 2+rng.IntN(9))
		for j := range w {
			w[j] = byte('a' + rng.IntN(26))
		}
		vocab[i] = string(w)
	}
	var out []byte
	for i := 0; len(out) < 1<<20; i++ {
		msg, err := os.ReadFile(files[i%len(files)])
		if err != nil {
			b.Fatal(err)
		}
		for range 40 {
			line := ""
			for len(line) < 68 {
				line += vocab[rng.IntN(len(vocab))] + " "
			}
			msg = append(msg, line+"\r\n"...)
		}
		out = append(out, "* "+strconv.Itoa(i+1)+" FETCH (UID "+strconv.Itoa(i+1)+" BODY[] {"+strconv.Itoa(len(msg))+"}\r\n"...)
		out = append(out, msg...)
		out = append(out, ")\r\n"...)
	}
	return out
}

// BenchmarkCompressFetch is the CPU cost of COMPRESS per byte sent (the
// bytes before compression, SetBytes): the response buffer's 128 KB
// pieces through the session's deflateWriter, a sync flush and the
// writer's return to the pool at the end of each 1 MB burst.
func BenchmarkCompressFetch(b *testing.B) {
	data := fetchLike(b)
	var wire countingWriter
	d := &deflateWriter{dst: &wire}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for p := data; len(p) > 0; {
			n := min(len(p), 128<<10)
			d.Write(p[:n])
			p = p[n:]
		}
		if err := d.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(wire.n)/float64(b.N)/float64(len(data)), "wire/byte")
}

// BenchmarkCompressSmallBursts is the cost of the bursts an IDLE or a
// NOOP makes: a short line, a sync flush, the writer back to the pool.
func BenchmarkCompressSmallBursts(b *testing.B) {
	line := []byte("* 4711 EXISTS\r\n")
	var wire countingWriter
	d := &deflateWriter{dst: &wire}
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		d.Write(line)
		d.Flush()
	}
	b.ReportMetric(float64(wire.n)/float64(b.N), "wire-bytes/burst")
}

// BenchmarkDecompressCommands is the input side: compressed command
// lines through compressedInput and the flate reader.
func BenchmarkDecompressCommands(b *testing.B) {
	data := fetchLike(b)
	z := countingWriter{keep: true}
	fw, _ := flate.NewWriter(&z, flate.DefaultCompression)
	fw.Write(data)
	fw.Flush()
	b.SetBytes(int64(len(data)))
	buf := make([]byte, 16<<10)
	for b.Loop() {
		in := &compressedInput{src: &byteSource{b: z.b}}
		fr := flate.NewReader(in)
		if n, err := io.CopyBuffer(io.Discard, io.LimitReader(fr, int64(len(data))), buf); err != nil || n != int64(len(data)) {
			b.Fatalf("read %d, %v", n, err)
		}
	}
}

type countingWriter struct {
	n    int64
	keep bool
	b    []byte
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.keep {
		c.b = append(c.b, p...)
	}
	return len(p), nil
}

type byteSource struct{ b []byte }

func (s *byteSource) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}
