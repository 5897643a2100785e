package message

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime/quotedprintable"
)

// ErrUnknownCTE is a content transfer encoding the server cannot decode
// (RFC 3516: NO [UNKNOWN-CTE]).
var ErrUnknownCTE = errors.New("unknown content transfer encoding")

// decodedInMemory is the largest decoded part kept in memory; larger ones
// are decoded twice (once to count, once to send) rather than held.
const decodedInMemory = 1 << 20

// Decoded returns the content of the part at path with its content transfer
// encoding removed (FETCH BINARY[path], RFC 3516), and its decoded length.
// An empty path is the whole message's body. A part that does not exist is
// empty, like BODY[] of a missing part.
func (s *Structure) Decoded(raw io.ReaderAt, path []int) (io.Reader, int64, error) {
	sec := Section{Path: path}
	if len(path) == 0 {
		sec.Specifier = "TEXT"
	}
	r, n, err := s.Section(raw, sec)
	if err != nil {
		return nil, 0, err
	}
	enc := "7BIT"
	if p, _, ok := s.locate(path); ok && p != nil {
		enc = p.enc
	}
	open := func() (io.Reader, error) {
		r, _, err := s.Section(raw, sec)
		if err != nil {
			return nil, err
		}
		switch enc {
		case "7BIT", "8BIT", "BINARY", "":
			return r, nil
		case "BASE64":
			return base64.NewDecoder(base64.StdEncoding, &base64Clean{r: r}), nil
		case "QUOTED-PRINTABLE":
			return quotedprintable.NewReader(r), nil
		}
		return nil, ErrUnknownCTE
	}
	switch enc {
	case "7BIT", "8BIT", "BINARY", "":
		return r, n, nil
	}
	dec, err := open()
	if err != nil {
		return nil, 0, err
	}
	var buf bytes.Buffer
	m, err := io.Copy(&buf, io.LimitReader(dec, decodedInMemory+1))
	if err != nil {
		return nil, 0, err
	}
	if m <= decodedInMemory {
		return &buf, m, nil
	}
	rest, err := io.Copy(io.Discard, dec)
	if err != nil {
		return nil, 0, err
	}
	again, err := open()
	if err != nil {
		return nil, 0, err
	}
	return again, m + rest, nil
}

// base64Clean drops what base64 text may hold between its characters
// (line ends, spaces) so that the decoder sees only the alphabet.
type base64Clean struct{ r io.Reader }

func (b *base64Clean) Read(p []byte) (int, error) {
	for {
		n, err := b.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c == '\r' || c == '\n' || c == ' ' || c == '\t' {
				continue
			}
			p[j] = c
			j++
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
