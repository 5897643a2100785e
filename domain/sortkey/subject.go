package sortkey

import "strings"

// BaseSubject extracts the base subject of a Subject field value (RFC
// 5256 section 2.1) and returns it with reply set when the extraction
// removed a reply or forward marker (a subj-refwd, a "(fwd)" trailer or a
// "[fwd: ...]" wrapper), which THREAD=REFERENCES uses in step 5. The
// value's encoded words must already be decoded; BaseSubject does step
// (1)'s white space part itself. The result is not collated: compare
// Collate(base).
func BaseSubject(s string) (base string, reply bool) {
	// (1) Tabs and continuations become spaces, runs of spaces one.
	s = collapseSpace(s)
	for {
		// (2) subj-trailer = "(fwd)" / WSP, removed repeatedly.
		for {
			if strings.HasSuffix(s, " ") {
				s = s[:len(s)-1]
			} else if len(s) >= 5 && strings.EqualFold(s[len(s)-5:], "(fwd)") {
				s = s[:len(s)-5]
				reply = true
			} else {
				break
			}
		}
		// (3)-(5): leaders and blobs, until neither matches.
		for {
			if rest, re, ok := leader(s); ok {
				reply = reply || re
				s = rest
				continue
			}
			// (4) A leading subj-blob goes when a non-empty subj-base
			// remains.
			if n := blob(s); n > 0 && strings.TrimLeft(s[n:], " ") != "" {
				s = s[n:]
				continue
			}
			break
		}
		// (6) "[fwd:" ... "]" around the whole: unwrap, go back to (2).
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			reply = true
			continue
		}
		return s, reply
	}
}

// collapseSpace turns tabs, CR and LF into spaces and runs of spaces into
// one.
func collapseSpace(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\r' || c == '\n' || c == ' ' && i > 0 && s[i-1] == ' ' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\r' || c == '\n' {
			c = ' '
		}
		if c == ' ' && len(b) > 0 && b[len(b)-1] == ' ' {
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

// leader removes one subj-leader from the front of s:
//
//	subj-leader = (*subj-blob subj-refwd) / WSP
//	subj-refwd  = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
//
// re is true when it was a subj-refwd.
func leader(s string) (rest string, re, ok bool) {
	if strings.HasPrefix(s, " ") {
		return s[1:], false, true
	}
	i := 0
	for {
		n := blob(s[i:])
		if n == 0 {
			break
		}
		i += n
	}
	if n := refwd(s[i:]); n > 0 {
		return s[i+n:], true, true
	}
	return s, false, false
}

// refwd returns the length of the subj-refwd at the start of s, 0 when
// there is none.
func refwd(s string) int {
	for _, word := range []string{"re", "fwd", "fw"} {
		if len(s) < len(word) || !strings.EqualFold(s[:len(word)], word) {
			continue
		}
		i := len(word)
		for i < len(s) && s[i] == ' ' {
			i++
		}
		i += blob(s[i:])
		if i < len(s) && s[i] == ':' {
			return i + 1
		}
	}
	return 0
}

// blob returns the length of the subj-blob at the start of s, 0 when there
// is none:
//
//	subj-blob = "[" *BLOBCHAR "]" *WSP
//	BLOBCHAR  = %x01-5a / %x5c / %x5e-ff   ; anything but "[" and "]"
func blob(s string) int {
	if !strings.HasPrefix(s, "[") {
		return 0
	}
	i := 1
	for i < len(s) && s[i] != ']' {
		if s[i] == '[' || s[i] == 0 {
			return 0
		}
		i++
	}
	if i == len(s) {
		return 0
	}
	i++
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}
