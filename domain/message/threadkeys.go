package message

import (
	"bufio"
	"bytes"
	"net/textproto"
	"strings"
)

// maxThreadKeys bounds the Message-IDs ThreadKeys returns: a References
// field of thousands of ids would otherwise cost a lookup each.
const maxThreadKeys = 64

// ThreadKeys returns the Message-IDs that tie a message to its thread,
// read from its header (the bytes Header returns): its own Message-ID,
// then In-Reply-To, then References from the newest to the oldest
// (RFC 5322 section 3.6.4), each without its angle brackets, each once.
// Fields without any <id> give none.
func ThreadKeys(header []byte) []string {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(header)))
	h, _ := r.ReadMIMEHeader() // a damaged header gives what it could read
	var out []string
	seen := map[string]bool{}
	add := func(ids []string) {
		for _, id := range ids {
			if len(out) < maxThreadKeys && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	add(MsgIDs(h.Get("Message-Id")))
	add(MsgIDs(h.Get("In-Reply-To")))
	refs := MsgIDs(strings.Join(h.Values("References"), " "))
	for i, j := 0, len(refs)-1; i < j; i, j = i+1, j-1 {
		refs[i], refs[j] = refs[j], refs[i]
	}
	add(refs)
	return out
}

// MsgIDs returns the msg-ids ("<...>") of a field value, without their
// angle brackets and with white space inside them removed, in order.
func MsgIDs(v string) []string {
	var ids []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return ids
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return ids
		}
		id := v[i+1 : i+j]
		v = v[i+j+1:]
		if strings.ContainsAny(id, " \t\r\n") {
			id = strings.Join(strings.Fields(id), "")
		}
		if id != "" && !strings.ContainsRune(id, '<') {
			ids = append(ids, id)
		}
	}
}
