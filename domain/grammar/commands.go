package grammar

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
)

// command reads a tag, a command name and the command's arguments (RFC
// 3501 section 9: command = tag SP (command-any / command-auth /
// command-nonauth / command-select) CRLF).
func (p *Parser) command() *Command {
	tag := p.word(isTagChar)
	if tag == "" {
		if p.eol() {
			p.bad("Null command")
		} else {
			p.bad("Invalid tag")
		}
		return nil
	}
	if !p.eol() && p.peek() != ' ' {
		p.bad("Invalid tag")
		return nil
	}
	p.tag = tag
	var name string
	if !p.expect(' ', "Missing command") || !p.atom(&name, "command") {
		return nil
	}
	cmd := &Command{Tag: tag, Name: strings.ToUpper(name)}
	if cmd.Name == "UID" {
		var sub string
		if !p.sp() || !p.atom(&sub, "UID command") {
			return nil
		}
		cmd.UID = true
		cmd.Name = strings.ToUpper(sub)
		switch cmd.Name {
		case "COPY", "MOVE", "FETCH", "SEARCH", "STORE", "EXPUNGE", "REPLACE", "SORT", "THREAD":
		default:
			p.bad("Unrecognized UID command")
			return nil
		}
	}
	if !p.args(cmd) {
		return nil
	}
	return cmd
}

func (p *Parser) args(cmd *Command) bool {
	switch cmd.Name {
	case "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "CHECK", "CLOSE", "UNSELECT", "IDLE", "NAMESPACE", "UNAUTHENTICATE":
		return p.end()
	case "EXPUNGE":
		if !cmd.UID {
			return p.end()
		}
		a := &ExpungeArgs{}
		cmd.Args = a
		return p.sp() && p.seqSetOrSaved(&a.Set, &a.SavedResult) && p.end()
	case "LOGIN":
		a := &LoginArgs{}
		cmd.Args = a
		return p.sp() && p.astring(&a.User, "user name") && p.sp() && p.astring(&a.Password, "password") && p.end()
	case "AUTHENTICATE":
		a := &AuthenticateArgs{}
		cmd.Args = a
		return p.authenticate(a)
	case "SELECT", "EXAMINE":
		a := &MailboxArgs{}
		cmd.Args = a
		if !p.sp() || !p.mailbox(&a.Mailbox, &a.MailboxErr) {
			return false
		}
		if !p.eol() && !(p.sp() && p.selectParams(a)) {
			return false
		}
		return p.end()
	case "CREATE":
		a := &MailboxArgs{}
		cmd.Args = a
		if !p.sp() || !p.mailbox(&a.Mailbox, &a.MailboxErr) {
			return false
		}
		if !p.eol() && !(p.sp() && p.createParams(a)) {
			return false
		}
		return p.end()
	case "DELETE", "SUBSCRIBE", "UNSUBSCRIBE":
		a := &MailboxArgs{}
		cmd.Args = a
		return p.sp() && p.mailbox(&a.Mailbox, &a.MailboxErr) && p.end()
	case "RENAME":
		a := &RenameArgs{}
		cmd.Args = a
		return p.sp() && p.mailbox(&a.From, &a.FromErr) && p.sp() && p.mailbox(&a.To, &a.ToErr) && p.end()
	case "LIST":
		a := &ListArgs{}
		cmd.Args = a
		return p.list(a)
	case "LSUB":
		a := &ListArgs{}
		cmd.Args = a
		var patErr error
		if !p.sp() || !p.listReference(&a.Reference, &a.ReferenceErr) || !p.sp() || !p.listPattern(&a.Pattern, &patErr) {
			return false
		}
		a.Patterns = []string{a.Pattern}
		if patErr != nil {
			a.PatternErrs = []error{patErr}
		}
		return p.end()
	case "STATUS":
		a := &StatusArgs{}
		cmd.Args = a
		return p.sp() && p.mailbox(&a.Mailbox, &a.MailboxErr) && p.sp() && p.statusItems(&a.Items) && p.end()
	case "APPEND":
		a := &AppendArgs{}
		cmd.Args = a
		return p.append(a)
	case "REPLACE":
		a := &ReplaceArgs{}
		cmd.Args = a
		return p.replace(a)
	case "COMPRESS":
		a := &CompressArgs{}
		cmd.Args = a
		return p.compress(a)
	case "FETCH":
		a := &FetchArgs{}
		cmd.Args = a
		if !p.sp() || !p.seqSetOrSaved(&a.Set, &a.SavedResult) || !p.sp() || !p.fetchItems(&a.Items) {
			return false
		}
		if !p.eol() && !(p.sp() && p.fetchModifiers(a, cmd.UID)) {
			return false
		}
		return p.end()
	case "STORE":
		a := &StoreArgs{}
		cmd.Args = a
		return p.store(a)
	case "COPY", "MOVE":
		a := &CopyArgs{}
		cmd.Args = a
		return p.sp() && p.seqSetOrSaved(&a.Set, &a.SavedResult) && p.sp() && p.mailbox(&a.Mailbox, &a.MailboxErr) && p.end()
	case "SEARCH":
		a := &SearchArgs{}
		cmd.Args = a
		return p.searchArgs(a)
	case "CANCELUPDATE":
		a := &CancelUpdateArgs{}
		cmd.Args = a
		return p.cancelUpdate(a)
	case "SORT":
		a := &SortArgs{}
		cmd.Args = a
		return p.sortArgs(a)
	case "THREAD":
		a := &ThreadArgs{}
		cmd.Args = a
		return p.threadArgs(a)
	case "ENABLE":
		a := &EnableArgs{}
		cmd.Args = a
		return p.enable(a)
	case "ID":
		a := &IDArgs{}
		cmd.Args = a
		return p.id(a)
	case "NOTIFY":
		a := &NotifyArgs{}
		cmd.Args = a
		return p.notify(a)
	case "GENURLAUTH", "RESETKEY", "URLFETCH":
		return p.urlauthArgs(cmd)
	case "GETMETADATA": // metadata.go
		a := &GetMetadataArgs{}
		cmd.Args = a
		return p.getMetadata(a)
	case "SETMETADATA":
		a := &SetMetadataArgs{}
		cmd.Args = a
		return p.setMetadata(a)
	case "SETACL", "DELETEACL", "GETACL", "LISTRIGHTS", "MYRIGHTS":
		return p.aclArgs(cmd) // acl.go
	case "GETQUOTA", "GETQUOTAROOT", "SETQUOTA":
		return p.quotaArgs(cmd) // quota.go
	}
	return p.bad("Unrecognized command")
}

// authenticate: AUTHENTICATE auth-type [SP (base64 / "=")] (RFC 4959).
func (p *Parser) authenticate(a *AuthenticateArgs) bool {
	if !p.sp() || !p.atom(&a.Mechanism, "mechanism") {
		return false
	}
	a.Mechanism = strings.ToUpper(a.Mechanism)
	if p.eol() {
		return p.end()
	}
	var ir string
	if !p.sp() || !p.atom(&ir, "initial response") || !p.end() {
		return false
	}
	a.HasInitial = true
	if ir == "=" {
		a.Initial = []byte{}
		return true
	}
	b, err := base64.StdEncoding.Strict().DecodeString(ir)
	if err != nil {
		return p.bad("Invalid base64 in initial response")
	}
	a.Initial = b
	return true
}

// mailbox reads a mailbox name (mailbox = "INBOX" / astring), decodes it
// and normalises INBOX.
func (p *Parser) mailbox(dst *string, bad *error) bool {
	if !p.astring(dst, "mailbox name") {
		return false
	}
	if p.decoded(dst, bad) {
		*dst = imap.NormalizeMailbox(*dst)
	}
	return true
}

// listReference reads LIST's reference: a mailbox, decoded but not
// normalised (RFC 3501 6.3.8 joins it to the pattern as it is).
func (p *Parser) listReference(dst *string, bad *error) bool {
	if !p.astring(dst, "reference") {
		return false
	}
	p.decoded(dst, bad)
	return true
}

// listPattern reads list-mailbox: 1*list-char or a string, decoded like a
// mailbox name (the wildcards are printable ASCII and pass through).
func (p *Parser) listPattern(dst *string, bad *error) bool {
	if !p.stringOr(dst, "mailbox pattern", isListChar) {
		return false
	}
	p.decoded(dst, bad)
	return true
}

// decoded decodes the name or pattern just read into *dst
// (imap.DecodeName) and reports whether it could. One that does not decode
// is no syntax error: *dst keeps it as sent and *bad says why, for the
// handler to answer as imap.RefuseName says.
func (p *Parser) decoded(dst *string, bad *error) bool {
	name, err := imap.DecodeName(*dst, p.utf8)
	if err != nil {
		*bad = err
		return false
	}
	*dst = name
	return true
}

var statusItems = map[string]bool{
	"MESSAGES": true, "RECENT": true, "UIDNEXT": true, "UIDVALIDITY": true, "UNSEEN": true,
	"HIGHESTMODSEQ": true, "SIZE": true, "DELETED": true, "APPENDLIMIT": true,
	"MAILBOXID":       true, // RFC 8474 section 4
	"DELETED-STORAGE": true, // RFC 9208 section 4.2.2
}

// statusItems: "(" status-att *(SP status-att) ")".
func (p *Parser) statusItems(dst *[]string) bool {
	if !p.expect('(', "Missing status item list") {
		return false
	}
	for {
		var it string
		if !p.atom(&it, "status item") {
			return false
		}
		it = strings.ToUpper(it)
		if !statusItems[it] {
			return p.bad("Invalid status item " + it)
		}
		*dst = append(*dst, it)
		if p.peekIs(')') {
			p.pos++
			return true
		}
		if !p.sp() {
			return false
		}
	}
}

// append: APPEND mailbox 1*append-message (RFC 3502), of which Next reads
// the first; NextAppend reads the others.
func (p *Parser) append(a *AppendArgs) bool {
	var m AppendMessage
	if !p.sp() || !p.mailbox(&a.Mailbox, &a.MailboxErr) || !p.sp() || !p.appendMessage(&m) {
		return false
	}
	a.Flags, a.Date, a.HasDate, a.Size, a.Body, a.Binary = m.Flags, m.Date, m.HasDate, m.Size, m.Body, m.Binary
	a.Catenate = m.Catenate
	return true
}

// appendMessage reads one append-message after its leading SP:
// [flag-list SP] [date-time SP] append-data, where append-data is a
// literal, a literal8 (RFC 3516) or, with UTF8=ACCEPT, "UTF8" SP "("
// literal8 ")" (RFC 6855 section 4).
func (p *Parser) appendMessage(m *AppendMessage) bool {
	if p.peekIs('(') {
		if !p.flagList(&m.Flags) || !p.sp() {
			return false
		}
	}
	if p.peekIs('"') {
		if !p.dateTime(&m.Date) || !p.sp() {
			return false
		}
		m.HasDate = true
	}
	switch p.peek() {
	case '~':
		p.pos++
		return p.appendLiteral(m, true)
	case 'C', 'c':
		if !strings.EqualFold(p.word(imap.IsAtomChar), "CATENATE") {
			return p.bad("Invalid APPEND data")
		}
		return p.catenate(m)
	case 'U', 'u':
		if !strings.EqualFold(p.word(imap.IsAtomChar), "UTF8") {
			return p.bad("Invalid APPEND data")
		}
		if !p.utf8 {
			return p.bad("UTF8 APPEND data without ENABLE UTF8=ACCEPT")
		}
		if !p.sp() || !p.expect('(', "Missing ( after UTF8") || !p.expect('~', "UTF8 needs a literal8") {
			return false
		}
		if !p.appendLiteral(m, true) {
			return false
		}
		p.appendClose = true
		return true
	}
	return p.appendLiteral(m, false)
}

// store: STORE sequence-set [SP store-modifiers] SP store-att-flags, where
// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag
// *(SP flag))) and store-modifiers (RFC 4466 / RFC 7162) = "(" store-modifier
// *(SP store-modifier) ")".
func (p *Parser) store(a *StoreArgs) bool {
	var item string
	if !p.sp() || !p.seqSetOrSaved(&a.Set, &a.SavedResult) || !p.sp() {
		return false
	}
	if p.peekIs('(') && !(p.storeModifiers(a) && p.sp()) {
		return false
	}
	if !p.atom(&item, "store item") {
		return false
	}
	item = strings.ToUpper(item)
	switch item[0] {
	case '+':
		a.Op, item = StoreAdd, item[1:]
	case '-':
		a.Op, item = StoreRemove, item[1:]
	}
	if s, ok := strings.CutSuffix(item, ".SILENT"); ok {
		a.Silent, item = true, s
	}
	if item != "FLAGS" {
		return p.bad("Invalid store item")
	}
	if !p.sp() {
		return false
	}
	a.Flags = []string{}
	if p.peekIs('(') {
		return p.flagList(&a.Flags) && p.end()
	}
	for {
		var f string
		if !p.flag(&f) {
			return false
		}
		a.Flags = append(a.Flags, f)
		if p.eol() {
			return p.end()
		}
		if !p.sp() {
			return false
		}
	}
}

// flagList: "(" [flag *(SP flag)] ")".
func (p *Parser) flagList(dst *[]string) bool {
	if !p.expect('(', "Missing flag list") {
		return false
	}
	*dst = []string{}
	if p.peekIs(')') {
		p.pos++
		return true
	}
	for {
		var f string
		if !p.flag(&f) {
			return false
		}
		*dst = append(*dst, f)
		if p.peekIs(')') {
			p.pos++
			return true
		}
		if !p.sp() {
			return false
		}
	}
}

// flag reads a flag a client may set: a system flag other than \Recent
// (RFC 3501 section 2.3.2: \Recent cannot be altered by the client) or a
// keyword. Extension flags ("\" atom) are refused since no extension we
// support defines one.
func (p *Parser) flag(dst *string) bool {
	if p.err != nil {
		return false
	}
	if p.peekIs('\\') {
		p.pos++
		var a string
		if !p.atom(&a, "flag") {
			return false
		}
		f := imap.CanonicalFlag(`\` + a)
		for _, s := range imap.SystemFlags {
			if f == s {
				*dst = f
				return true
			}
		}
		return p.bad("Invalid system flag " + `\` + a)
	}
	if !p.atom(dst, "flag") {
		return false
	}
	if len(*dst) > imap.MaxFlagLength {
		// As Cyrus answers a flag name it will not keep.
		return p.bad("Invalid flag name: longer than " + strconv.Itoa(imap.MaxFlagLength) + " bytes")
	}
	return true
}

// seqSet reads a sequence-set: seq-number / seq-range, comma-separated,
// "*" stored as 0.
func (p *Parser) seqSet(dst *imap.NumSet) bool {
	if p.err != nil {
		return false
	}
	var set imap.NumSet
	for {
		var r imap.Range
		if !p.seqNumber(&r.Start) {
			return false
		}
		r.Stop = r.Start
		if p.peekIs(':') {
			p.pos++
			if !p.seqNumber(&r.Stop) {
				return false
			}
		}
		set = append(set, r)
		if !p.peekIs(',') {
			break
		}
		p.pos++
	}
	*dst = set
	return true
}

// seqNumber reads nz-number / "*" ("*" as 0).
func (p *Parser) seqNumber(dst *uint32) bool {
	if p.peekIs('*') {
		p.pos++
		*dst = 0
		return true
	}
	if !isDigit(p.peek()) {
		return p.bad("Invalid sequence set")
	}
	if p.peek() == '0' {
		return p.bad("Invalid sequence number 0")
	}
	return p.number(dst)
}

// number reads a 32-bit number.
func (p *Parser) number(dst *uint32) bool {
	if p.err != nil {
		return false
	}
	d := p.word(isDigit)
	if d == "" {
		return p.bad("Missing number")
	}
	var n uint64
	for i := 0; i < len(d); i++ {
		n = n*10 + uint64(d[i]-'0')
		if n > 1<<32-1 {
			return p.bad("Number too big")
		}
	}
	*dst = uint32(n)
	return true
}

// number64 reads a number up to 2^63-1 (RFC 9051 number64).
func (p *Parser) number64(dst *int64) bool {
	if p.err != nil {
		return false
	}
	d := p.word(isDigit)
	if d == "" {
		return p.bad("Missing number")
	}
	var n int64
	for i := 0; i < len(d); i++ {
		c := int64(d[i] - '0')
		if n > (1<<63-1-c)/10 {
			return p.bad("Number too big")
		}
		n = n*10 + c
	}
	*dst = n
	return true
}

var months = [...]string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}

func parseMonth(s string) (time.Month, bool) {
	for i, m := range months {
		if strings.EqualFold(s, m) {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}

func atoiFixed(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// parseDate reads date-text: date-day "-" date-month "-" date-year, with a
// day of one or two digits.
func parseDate(s string) (time.Time, bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) > 2 || len(parts[2]) != 4 {
		return time.Time{}, false
	}
	d, ok1 := atoiFixed(parts[0])
	m, ok2 := parseMonth(parts[1])
	y, ok3 := atoiFixed(parts[2])
	if !ok1 || !ok2 || !ok3 || d < 1 || d > daysIn(m, y) {
		return time.Time{}, false
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), true
}

// dateTime reads APPEND's date-time: DQUOTE date-day-fixed "-" date-month
// "-" date-year SP time SP zone DQUOTE, with date-day-fixed = (SP DIGIT) /
// 2DIGIT, time = hh:mm:ss and zone = ("+" / "-") 4DIGIT.
func (p *Parser) dateTime(dst *time.Time) bool {
	var s string
	if !p.quoted(&s) {
		return false
	}
	if len(s) != 26 || s[2] != '-' || s[6] != '-' || s[11] != ' ' || s[14] != ':' || s[17] != ':' || s[20] != ' ' {
		return p.bad("Invalid date-time")
	}
	day := s[0:2]
	if day[0] == ' ' {
		day = day[1:]
	}
	d, ok1 := atoiFixed(day)
	m, ok2 := parseMonth(s[3:6])
	y, ok3 := atoiFixed(s[7:11])
	hh, ok4 := atoiFixed(s[12:14])
	mm, ok5 := atoiFixed(s[15:17])
	ss, ok6 := atoiFixed(s[18:20])
	zh, ok7 := atoiFixed(s[22:24])
	zm, ok8 := atoiFixed(s[24:26])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) || (s[21] != '+' && s[21] != '-') {
		return p.bad("Invalid date-time")
	}
	if d < 1 || d > daysIn(m, y) || hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59 {
		return p.bad("Invalid date-time")
	}
	if ss == 60 {
		ss = 59 // a leap second; time.Time cannot hold it
	}
	off := (zh*60 + zm) * 60
	if s[21] == '-' {
		off = -off
	}
	*dst = time.Date(y, m, d, hh, mm, ss, 0, time.FixedZone("", off))
	return true
}

// enable: ENABLE 1*(SP capability).
func (p *Parser) enable(a *EnableArgs) bool {
	for {
		var c string
		if !p.sp() || !p.atom(&c, "capability") {
			return false
		}
		a.Caps = append(a.Caps, strings.ToUpper(c))
		if p.eol() {
			return p.end()
		}
	}
}

// id: ID SP ("(" string SP nstring *(SP string SP nstring) ")" / nil)
// (RFC 2971). An empty list "()" is accepted too.
func (p *Parser) id(a *IDArgs) bool {
	if !p.sp() {
		return false
	}
	if !p.peekIs('(') {
		if w := p.word(imap.IsAtomChar); !strings.EqualFold(w, "NIL") {
			return p.bad("Invalid ID parameter list")
		}
		a.Nil = true
		return p.end()
	}
	p.pos++
	a.Params = map[string]string{}
	if p.peekIs(')') {
		p.pos++
		return p.end()
	}
	for n := 1; ; n++ {
		if n > maxIDPairs {
			return p.bad("Too many ID parameters")
		}
		var k, v string
		var isNil bool
		if !p.str(&k, "ID field") || !p.sp() || !p.nstring(&v, &isNil, "ID value") {
			return false
		}
		if len(k) > maxIDField || len(v) > maxIDValueLen {
			return p.bad("ID parameter too long")
		}
		a.Params[strings.ToLower(k)] = v
		if p.peekIs(')') {
			p.pos++
			return p.end()
		}
		if !p.sp() {
			return false
		}
	}
}
