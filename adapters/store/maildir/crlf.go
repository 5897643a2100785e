package maildir

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/imapd-go/imapd/ports"
)

// Mail that other programs deliver into new/ and cur/ (MTAs, procmail,
// Dovecot) usually ends its lines with a bare LF, where IMAP's messages end
// them with CRLF (RFC 3501 section 2.3.1: sizes and offsets are of the
// message as IMAP sends it; RFC 5322 section 2.1: lines end in CRLF). Such
// a file is served with every bare LF made CRLF, and every size the index
// holds (RFC822.SIZE, the structure's offsets, sizes and line counts) is
// counted on that CRLF form, once, when the file is first indexed. Files we
// write ourselves are CRLF already: their size on disk is the index's
// size, which is how Open tells the two apart, and they are read as they
// are.

// crlfCounter passes a file's bytes through with every bare LF made CRLF,
// and counts what it gives out.
type crlfCounter struct {
	r     io.Reader
	buf   []byte
	pend  []byte // read from r, not yet given out
	prevC byte   // the last byte given out
	lf    bool   // an LF is owed: its CR has been given out
	err   error  // r's, once pend is empty
	n     int64
}

func newCRLFCounter(r io.Reader) *crlfCounter {
	return &crlfCounter{r: r, buf: make([]byte, 32<<10)}
}

func (c *crlfCounter) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.lf {
			p[n] = '\n'
			n++
			c.lf, c.prevC = false, '\n'
			continue
		}
		if len(c.pend) == 0 {
			if c.err != nil || n > 0 {
				break // give out what there is before reading again
			}
			m, err := c.r.Read(c.buf)
			c.pend, c.err = c.buf[:m], err
			continue
		}
		if c.pend[0] == '\n' && c.prevC != '\r' {
			p[n] = '\r'
			n++
			c.lf, c.prevC = true, '\r'
			c.pend = c.pend[1:]
			continue
		}
		// Up to the next LF that may be bare (the one at pend[0] is not).
		end := len(c.pend)
		if i := bytes.IndexByte(c.pend[1:], '\n'); i >= 0 {
			end = i + 1
		}
		k := copy(p[n:], c.pend[:end])
		n += k
		c.prevC = c.pend[k-1]
		c.pend = c.pend[k:]
	}
	c.n += int64(n)
	if n > 0 {
		return n, nil
	}
	if c.err == nil {
		return 0, nil
	}
	return 0, c.err
}

// bareLFs returns the offsets, ascending, of the bare LFs (those not after
// a CR) among r's bytes, and how many bytes r held.
func bareLFs(r io.Reader) ([]int64, int64, error) {
	var (
		lfs  []int64
		prev byte
		off  int64
		buf  = make([]byte, 32<<10)
	)
	for {
		n, err := r.Read(buf)
		for i := 0; i < n; {
			j := bytes.IndexByte(buf[i:n], '\n')
			if j < 0 {
				break
			}
			i += j
			if (i > 0 && buf[i-1] != '\r') || (i == 0 && prev != '\r') {
				lfs = append(lfs, off+int64(i))
			}
			i++
		}
		if n > 0 {
			prev = buf[n-1]
		}
		off += int64(n)
		if err == io.EOF {
			return lfs, off, nil
		}
		if err != nil {
			return nil, off, err
		}
	}
}

// crlfView is random access, on the CRLF form, to bytes whose bare LFs sit
// at the raw offsets lfs. The k-th bare LF (from 0) at raw offset r is
// given out as a CR at offset r+k and an LF at r+k+1.
type crlfView struct {
	raw  io.ReaderAt
	lfs  []int64
	size int64 // of the CRLF form
}

func newCRLFView(raw io.ReaderAt, rawSize int64, lfs []int64) *crlfView {
	return &crlfView{raw: raw, lfs: lfs, size: rawSize + int64(len(lfs))}
}

// ReadAt reads the CRLF form from off until p is full or it ends (io.EOF).
func (v *crlfView) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("maildir: negative offset")
	}
	if off >= v.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	// k: the bare LFs whose CR comes before off; off is then raw byte
	// off-k (when off is the LF after the k-th CR, that LF itself).
	k := sort.Search(len(v.lfs), func(i int) bool { return v.lfs[i]+int64(i) >= off })
	raw := off - int64(k)
	n := 0
	buf := make([]byte, min(32<<10, len(p)))
	for n < len(p) && raw < v.size-int64(len(v.lfs)) {
		want := min(len(buf), len(p)-n) // CRLF adds bytes: never read more than p takes
		m, err := v.raw.ReadAt(buf[:want], raw)
		if m == 0 {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF // the file shrank under us
			}
			return n, err
		}
		used := 0
		for used < m && n < len(p) {
			if k < len(v.lfs) && v.lfs[k] == raw+int64(used) {
				if n+1 >= len(p) {
					// Room for the CR only: the LF is the next read's.
					p[n] = '\r'
					n++
					return n, nil
				}
				p[n], p[n+1] = '\r', '\n'
				n += 2
				k++
				used++
				continue
			}
			// Up to the next bare LF, or the end of what was read.
			end := m
			if k < len(v.lfs) {
				end = int(min(int64(m), v.lfs[k]-raw))
			}
			c := copy(p[n:], buf[used:end])
			n += c
			used += c
		}
		raw += int64(used)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// lfBody is an open message file with bare LFs, served as CRLF.
type lfBody struct {
	b *body
	v *crlfView
}

func (l *lfBody) Size() int64                             { return l.v.size }
func (l *lfBody) ReadAt(p []byte, off int64) (int, error) { return l.v.ReadAt(p, off) }
func (l *lfBody) Close() error                            { return l.b.Close() }

// asCRLF gives b, the file at path, out as it is when the file holds
// b.size bytes (the CRLF form, as we write it), or through a crlfView when
// the file is smaller: then it holds bare LFs, whose offsets are read once
// and kept in s.lfMaps. A name whose ",S=" (the file's size, by the maildir
// convention we follow in the names we give) is b.size needs no look at the
// file: that is every file we wrote, which keeps their reads as they were.
func (s *Store) asCRLF(b *body, path string) (ports.MessageBody, error) {
	if sizeInName(filepath.Base(path)) == b.size {
		return b, nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(b.fd, &st); err != nil {
		b.Close()
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Size >= b.size {
		return b, nil
	}
	// Maildir files do not change once delivered: the key is the file
	// itself (a rename to other flags only costs a new look).
	key := lfKey{path: path, ino: st.Ino, size: st.Size}
	lfs, ok := s.lfMaps.get(key)
	if !ok {
		var err error
		if lfs, _, err = bareLFs(io.NewSectionReader(b, 0, st.Size)); err != nil {
			b.Close()
			return nil, err
		}
		s.lfMaps.put(key, lfs)
	}
	return &lfBody{b: b, v: newCRLFView(b, st.Size, lfs)}, nil
}

type lfKey struct {
	path string
	ino  uint64
	size int64
}

// lfMaps keeps the bare LF offsets of the files read lately, up to
// lfMapsMax offsets in all; the zero value is empty and ready.
type lfMaps struct {
	mu   sync.Mutex
	m    map[lfKey][]int64
	held int
}

const lfMapsMax = 1 << 20 // offsets, 8 MB

func (c *lfMaps) get(k lfKey) ([]int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lfs, ok := c.m[k]
	return lfs, ok
}

func (c *lfMaps) put(k lfKey, lfs []int64) {
	if len(lfs) > lfMapsMax {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.held+len(lfs) > lfMapsMax {
		c.m, c.held = map[lfKey][]int64{}, 0 // full: start again
	}
	if _, ok := c.m[k]; !ok {
		c.m[k] = lfs
		c.held += len(lfs)
	}
}

// sizeInName returns the size a maildir file name's ",S=" field gives (in
// the unique part, before ":"), or -1 when it has none.
func sizeInName(name string) int64 {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	i := strings.Index(name, ",S=")
	if i < 0 {
		return -1
	}
	var n int64
	digits := 0
	for _, c := range []byte(name[i+3:]) {
		if c < '0' || c > '9' || digits == 18 {
			break
		}
		n = n*10 + int64(c-'0')
		digits++
	}
	if digits == 0 {
		return -1
	}
	return n
}
