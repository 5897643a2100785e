package storetest

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// RunQuotas checks the promises of ports.Quotas; it skips a store without
// them. RunQuotaProcesses is its many-process part.
func RunQuotas(t *testing.T, open Opener) {
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, *env, ports.Quotas)
	}{
		{"Default", testQuotaDefault},
		{"UsageFollowsWrites", testQuotaUsage},
		{"StorageLimit", testQuotaStorage},
		{"MessageLimit", testQuotaMessages},
		{"CopyAndMove", testQuotaCopyMove},
		{"LimitBelowUsage", testQuotaBelowUsage},
		{"OtherHandle", testQuotaOtherHandle},
		{"PerUser", testQuotaPerUser},
		{"DeleteUser", testQuotaDeleteUser},
		{"Import", testQuotaImport},
		{"Goroutines", testQuotaGoroutines},
		{"MailboxLimit", testQuotaMailboxes},
		{"Replace", testQuotaReplace},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, open: open, dir: t.TempDir(), ctx: t.Context()}
			e.s = e.handle()
			q, ok := e.s.(ports.Quotas)
			if !ok {
				t.Skip("the store keeps no quotas")
			}
			tt.fn(t, e, q)
		})
	}
}

func (e *env) quota(q ports.Quotas, user string) ports.Quota {
	e.t.Helper()
	r, err := q.Quota(e.ctx, user)
	if err != nil {
		e.t.Fatalf("Quota(%q): %v", user, err)
	}
	return r
}

func (e *env) setQuota(q ports.Quotas, user string, storage, messages int64) {
	e.t.Helper()
	if err := q.SetQuota(e.ctx, user, ports.QuotaLimits{Storage: storage, Messages: messages, Mailboxes: ports.NoLimit}); err != nil {
		e.t.Fatalf("SetQuota(%q): %v", user, err)
	}
}

// realUsage sums the user's messages as the mailboxes report them.
func (e *env) realUsage(s ports.Store, user string) ports.QuotaUsage {
	e.t.Helper()
	boxes, err := s.ListMailboxes(e.ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	var u ports.QuotaUsage
	for _, b := range boxes {
		st, err := s.Status(e.ctx, user, b.Name)
		if err != nil {
			e.t.Fatalf("Status(%q): %v", b.Name, err)
		}
		u.Storage += st.Size
		u.Messages += int64(st.Messages)
		u.Mailboxes++
	}
	return u
}

// checkUsage fails unless the store's usage is the real sum.
func (e *env) checkUsage(q ports.Quotas, user string) ports.QuotaUsage {
	e.t.Helper()
	got := e.quota(q, user).Usage
	if want := e.realUsage(e.s, user); got != want {
		e.t.Errorf("usage %+v, the mailboxes hold %+v", got, want)
	}
	return got
}

func isOverQuota(err error) bool { return errors.Is(err, imap.ErrOverQuota) }

// bodyOf is a message of exactly n bytes.
func bodyOf(n int) string {
	const head = "Subject: q\r\n\r\n"
	return head + strings.Repeat("x", n-len(head))
}

// A user starts without limits and with nothing used; a user that does
// not exist has no quota root.
func testQuotaDefault(t *testing.T, e *env, q ports.Quotas) {
	e.user("u")
	if got := e.quota(q, "u"); got != (ports.Quota{Limits: ports.Unlimited, Usage: ports.QuotaUsage{Mailboxes: 1}}) {
		t.Errorf("new user: %+v", got)
	}
	if got, err := q.Quota(e.ctx, "nobody"); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("Quota(nobody) = %+v, %v; want ErrNonexistent", got, err)
	}
	if err := q.SetQuota(e.ctx, "nobody", ports.Unlimited); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("SetQuota(nobody) = %v; want ErrNonexistent", err)
	}
	if err := e.s.DeleteUser(e.ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Quota(e.ctx, "u"); !errors.Is(err, imap.ErrNonexistent) {
		t.Errorf("Quota of a deleted user: %v; want ErrNonexistent", err)
	}
}

// Append, AppendAll, Copy, Move, Expunge, DeleteMailbox and RenameMailbox
// keep the usage equal to the sum of the messages.
func testQuotaUsage(t *testing.T, e *env, q ports.Quotas) {
	e.user("u")
	e.create("u", "a", "b/c")
	e.append("u", "INBOX", bodyOf(100))
	e.append("u", "INBOX", bodyOf(200), imap.FlagDeleted)
	e.append("u", "a", bodyOf(300))
	if _, err := e.s.AppendAll(e.ctx, "u", "b/c", []ports.NewMessage{newMessage(bodyOf(40)), newMessage(bodyOf(50))}); err != nil {
		t.Fatal(err)
	}
	if got := e.checkUsage(q, "u"); got != (ports.QuotaUsage{Storage: 690, Messages: 5, Mailboxes: 4}) {
		t.Errorf("after appends: %+v", got)
	}
	if _, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{1, 2}, "a"); err != nil {
		t.Fatal(err)
	}
	if got := e.checkUsage(q, "u"); got != (ports.QuotaUsage{Storage: 990, Messages: 7, Mailboxes: 4}) {
		t.Errorf("after copy: %+v", got)
	}
	if _, err := e.s.Move(e.ctx, "u", "a", []imap.UID{1}, "b/c"); err != nil {
		t.Fatal(err)
	}
	if got := e.checkUsage(q, "u"); got != (ports.QuotaUsage{Storage: 990, Messages: 7, Mailboxes: 4}) {
		t.Errorf("after move: %+v", got)
	}
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.checkUsage(q, "u"); got != (ports.QuotaUsage{Storage: 790, Messages: 6, Mailboxes: 4}) {
		t.Errorf("after expunge: %+v", got)
	}
	if err := e.s.RenameMailbox(e.ctx, "u", "INBOX", "old"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RenameMailbox(e.ctx, "u", "b", "d"); err != nil {
		t.Fatal(err)
	}
	if got := e.checkUsage(q, "u"); got != (ports.QuotaUsage{Storage: 790, Messages: 6, Mailboxes: 5}) {
		t.Errorf("after renames: %+v", got)
	}
	if err := e.s.DeleteMailbox(e.ctx, "u", "d/c"); err != nil {
		t.Fatal(err)
	}
	if got := e.checkUsage(q, "u"); got != (ports.QuotaUsage{Storage: 400, Messages: 3, Mailboxes: 4}) {
		t.Errorf("after delete: %+v", got)
	}
}

// A STORAGE limit of L admits L*1024 bytes and not one more; a refused
// write stores nothing.
func testQuotaStorage(t *testing.T, e *env, q ports.Quotas) {
	e.user("u")
	e.setQuota(q, "u", 2, ports.NoLimit)
	if got := e.quota(q, "u").Limits; got != (ports.QuotaLimits{Storage: 2, Messages: ports.NoLimit, Mailboxes: ports.NoLimit}) {
		t.Errorf("limits %+v", got)
	}
	e.append("u", "INBOX", bodyOf(1024))
	before := e.status("u", "INBOX")
	if _, err := e.s.Append(e.ctx, "u", "INBOX", newMessage(bodyOf(1025))); !isOverQuota(err) {
		t.Errorf("Append past the limit: %v, want ErrOverQuota", err)
	}
	_, err := e.s.AppendAll(e.ctx, "u", "INBOX", []ports.NewMessage{newMessage(bodyOf(1000)), newMessage(bodyOf(25))})
	if !isOverQuota(err) {
		t.Errorf("AppendAll past the limit: %v, want ErrOverQuota", err)
	}
	if after := e.status("u", "INBOX"); after.Messages != before.Messages || after.UIDNext != before.UIDNext {
		t.Errorf("a refused append left a trace: %+v, was %+v", after, before)
	}
	e.append("u", "INBOX", bodyOf(1024)) // exactly at the limit
	if got := e.checkUsage(q, "u"); got.Storage != 2048 {
		t.Errorf("usage %+v, want 2048 bytes", got)
	}
	if _, err := e.s.Append(e.ctx, "u", "INBOX", newMessage(bodyOf(20))); !isOverQuota(err) {
		t.Errorf("Append at the limit: %v, want ErrOverQuota", err)
	}
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{imap.FlagDeleted}, 1)
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	e.append("u", "INBOX", bodyOf(20)) // room again
	e.setQuota(q, "u", ports.NoLimit, ports.NoLimit)
	e.append("u", "INBOX", bodyOf(5000))
	e.checkUsage(q, "u")
}

// A MESSAGE limit of N admits N messages.
func testQuotaMessages(t *testing.T, e *env, q ports.Quotas) {
	e.user("u")
	e.create("u", "a")
	e.setQuota(q, "u", ports.NoLimit, 3)
	e.append("u", "INBOX", bodyOf(20))
	e.append("u", "a", bodyOf(20))
	if _, err := e.s.AppendAll(e.ctx, "u", "a", []ports.NewMessage{newMessage(bodyOf(20)), newMessage(bodyOf(20))}); !isOverQuota(err) {
		t.Errorf("AppendAll of 2 with room for 1: %v, want ErrOverQuota", err)
	}
	e.append("u", "a", bodyOf(20))
	if _, err := e.s.Append(e.ctx, "u", "INBOX", newMessage(bodyOf(20))); !isOverQuota(err) {
		t.Errorf("fourth message: %v, want ErrOverQuota", err)
	}
	if got := e.checkUsage(q, "u"); got.Messages != 3 {
		t.Errorf("usage %+v, want 3 messages", got)
	}
}

// Copy counts every copy and is refused whole past a limit; Move stays in
// the root and is never refused.
func testQuotaCopyMove(t *testing.T, e *env, q ports.Quotas) {
	e.user("u")
	e.create("u", "a")
	e.append("u", "INBOX", bodyOf(600))
	e.append("u", "INBOX", bodyOf(600))
	e.setQuota(q, "u", 2, ports.NoLimit) // 2048 bytes: room for 848
	before := e.status("u", "a")
	if _, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{1, 2}, "a"); !isOverQuota(err) {
		t.Errorf("Copy past the limit: %v, want ErrOverQuota", err)
	}
	if after := e.status("u", "a"); after.Messages != 0 || after.UIDNext != before.UIDNext {
		t.Errorf("a refused copy left a trace: %+v", after)
	}
	if _, err := e.s.Copy(e.ctx, "u", "INBOX", []imap.UID{1}, "a"); err != nil {
		t.Errorf("Copy within the limit: %v", err)
	}
	e.setQuota(q, "u", 1, ports.NoLimit) // now over
	if _, err := e.s.Move(e.ctx, "u", "INBOX", []imap.UID{2}, "a"); err != nil {
		t.Errorf("Move over quota: %v, want it done", err)
	}
	if got := e.checkUsage(q, "u"); got != (ports.QuotaUsage{Storage: 1800, Messages: 3, Mailboxes: 2}) {
		t.Errorf("usage %+v", got)
	}
}

// A limit set below the usage removes nothing; flags still change,
// expunges still free, nothing more is admitted.
func testQuotaBelowUsage(t *testing.T, e *env, q ports.Quotas) {
	e.user("u")
	e.append("u", "INBOX", bodyOf(3000))
	e.append("u", "INBOX", bodyOf(30))
	e.setQuota(q, "u", 1, 1)
	if got := e.quota(q, "u"); got.Usage != (ports.QuotaUsage{Storage: 3030, Messages: 2, Mailboxes: 1}) {
		t.Errorf("usage %+v after lowering the limits", got.Usage)
	}
	e.setFlags("u", "INBOX", ports.FlagsAdd, []string{imap.FlagDeleted, "$x"}, 2)
	if _, err := e.s.Append(e.ctx, "u", "INBOX", newMessage(bodyOf(20))); !isOverQuota(err) {
		t.Errorf("Append over quota: %v", err)
	}
	if _, err := e.s.Expunge(e.ctx, "u", "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	e.checkUsage(q, "u")
}

// Limits and usage are the same through another handle (another
// process), both ways.
func testQuotaOtherHandle(t *testing.T, e *env, q ports.Quotas) {
	e.user("u")
	other := e.handle()
	oq := other.(ports.Quotas)
	e.setQuota(q, "u", 1, 10)
	e.appendTo(other, "u", "INBOX", bodyOf(1000))
	if got := e.quota(q, "u"); got != (ports.Quota{Limits: ports.QuotaLimits{Storage: 1, Messages: 10, Mailboxes: ports.NoLimit}, Usage: ports.QuotaUsage{Storage: 1000, Messages: 1, Mailboxes: 1}}) {
		t.Errorf("first handle sees %+v", got)
	}
	if _, err := e.s.Append(e.ctx, "u", "INBOX", newMessage(bodyOf(25))); !isOverQuota(err) {
		t.Errorf("Append past a limit another handle set: %v", err)
	}
	e.setQuota(oq, "u", ports.NoLimit, ports.NoLimit)
	e.append("u", "INBOX", bodyOf(25))
	if got := e.quota(oq, "u"); got != (ports.Quota{Limits: ports.Unlimited, Usage: ports.QuotaUsage{Storage: 1025, Messages: 2, Mailboxes: 1}}) {
		t.Errorf("other handle sees %+v", got)
	}
}

// Each user is a root of their own.
func testQuotaPerUser(t *testing.T, e *env, q ports.Quotas) {
	e.user("u")
	e.user("v")
	e.setQuota(q, "u", 1, ports.NoLimit)
	e.append("v", "INBOX", bodyOf(5000))
	e.append("u", "INBOX", bodyOf(1000))
	if got := e.quota(q, "v"); got.Limits != ports.Unlimited || got.Usage.Storage != 5000 {
		t.Errorf("v: %+v", got)
	}
	if got := e.quota(q, "u"); got.Usage.Storage != 1000 {
		t.Errorf("u: %+v", got)
	}
}

// A deleted user's limits go with it.
func testQuotaDeleteUser(t *testing.T, e *env, q ports.Quotas) {
	e.user("u")
	e.append("u", "INBOX", bodyOf(100))
	e.setQuota(q, "u", 5, 5)
	if err := e.s.DeleteUser(e.ctx, "u"); err != nil {
		t.Fatal(err)
	}
	e.user("u")
	if got := e.quota(q, "u"); got != (ports.Quota{Limits: ports.Unlimited, Usage: ports.QuotaUsage{Mailboxes: 1}}) {
		t.Errorf("after DeleteUser: %+v", got)
	}
}

// Imported messages count and are never refused.
func testQuotaImport(t *testing.T, e *env, q ports.Quotas) {
	im, ok := e.s.(ports.Importer)
	if !ok {
		t.Skip("not an importer")
	}
	e.user("u")
	e.setQuota(q, "u", 1, 1)
	if err := im.ImportMailbox(e.ctx, "u", "old", 77, 10); err != nil {
		t.Fatal(err)
	}
	for uid := imap.UID(3); uid < 5; uid++ {
		if err := im.ImportMessage(e.ctx, "u", "old", uid, newMessage(bodyOf(1000))); err != nil {
			t.Fatalf("ImportMessage: %v", err)
		}
	}
	if got := e.checkUsage(q, "u"); got != (ports.QuotaUsage{Storage: 2000, Messages: 2, Mailboxes: 2}) {
		t.Errorf("usage %+v", got)
	}
}

// Goroutines appending through two handles stop exactly at the limit.
func testQuotaGoroutines(t *testing.T, e *env, q ports.Quotas) {
	e.user("u")
	e.create("u", "a")
	const limit = 17
	e.setQuota(q, "u", ports.NoLimit, limit)
	handles := []ports.Store{e.s, e.handle()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := 0
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := handles[g%2]
			box := []string{"INBOX", "a"}[g%2]
			for {
				_, err := s.Append(e.ctx, "u", box, newMessage(bodyOf(50+g)))
				if isOverQuota(err) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				stored++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if stored != limit {
		t.Errorf("%d appends succeeded, want %d", stored, limit)
	}
	if got := e.checkUsage(q, "u"); got.Messages != limit {
		t.Errorf("usage %+v, want %d messages", got, limit)
	}
}

// RunQuotaProcesses checks that children appending at once in many OS
// processes stop exactly at the limit (MESSAGE first, then STORAGE), and
// that the usage is the real sum afterwards. It skips a store without
// quotas; the test binary must call Child in its TestMain.
func RunQuotaProcesses(t *testing.T, open Opener, helper Helper) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, s := prepare(t, open)
	q, ok := s.(ports.Quotas)
	if !ok {
		t.Skip("the store keeps no quotas")
	}
	e := &env{t: t, open: open, dir: dir, ctx: t.Context(), s: s}
	storm := func() []ack {
		const procs = 5
		var wg sync.WaitGroup
		var mu sync.Mutex
		var acks []ack
		for range procs {
			cmd, sc := startChild(t, helper, dir, 1000, false, fullEnv+"=1")
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := readAcks(sc, 0)
				if err := cmd.Wait(); err != nil {
					t.Errorf("child: %v", err)
				}
				mu.Lock()
				acks = append(acks, a...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return acks
	}

	const messages = 23
	e.setQuota(q, childUser, ports.NoLimit, messages)
	acks := storm()
	if len(acks) != messages {
		t.Errorf("%d appends acknowledged under a limit of %d messages", len(acks), messages)
	}
	checkStored(t, s, acks)
	u := e.checkUsage(q, childUser)
	if u.Messages != messages {
		t.Errorf("usage %+v, want %d messages", u, messages)
	}

	// Room for about 12 more messages of ChildBody's size.
	size := int64(len(ChildBody(1, 1)))
	limit := (u.Storage + 12*size + size/2) / 1024
	e.setQuota(q, childUser, limit, ports.NoLimit)
	more := storm()
	all := append(acks, more...)
	checkStored(t, s, all)
	u = e.checkUsage(q, childUser)
	if u.Storage > limit*1024 || u.Storage+size-8 <= limit*1024 {
		t.Errorf("usage %d bytes under a limit of %d: not stopped at the limit (messages of %d bytes)", u.Storage, limit*1024, size)
	}
	t.Logf("%d then %d messages stored; %d of %d bytes used", len(acks), len(more), u.Storage, limit*1024)
}

// A MAILBOX limit counts every mailbox, INBOX and created superior levels
// included; CreateMailbox and RenameMailbox past it change nothing.
func testQuotaMailboxes(t *testing.T, e *env, q ports.Quotas) {
	e.user("u")
	e.create("u", "a")
	if err := q.SetQuota(e.ctx, "u", ports.QuotaLimits{Storage: ports.NoLimit, Messages: ports.NoLimit, Mailboxes: 4}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.CreateMailbox(e.ctx, "u", "b/c/d"); !isOverQuota(err) {
		t.Errorf("CreateMailbox of 3 levels with room for 2: %v, want ErrOverQuota", err)
	}
	e.create("u", "b/c") // INBOX, a, b, b/c
	if err := e.s.CreateMailbox(e.ctx, "u", "x"); !isOverQuota(err) {
		t.Errorf("CreateMailbox at the limit: %v, want ErrOverQuota", err)
	}
	if err := e.s.RenameMailbox(e.ctx, "u", "a", "y/a"); !isOverQuota(err) {
		t.Errorf("RenameMailbox making a new superior level: %v, want ErrOverQuota", err)
	}
	if err := e.s.RenameMailbox(e.ctx, "u", "INBOX", "old"); !isOverQuota(err) {
		t.Errorf("RenameMailbox of INBOX at the limit: %v, want ErrOverQuota", err)
	}
	if err := e.s.RenameMailbox(e.ctx, "u", "a", "b/a"); err != nil {
		t.Errorf("RenameMailbox that adds no mailbox: %v", err)
	}
	if got := e.list("u"); !slices.Equal(got, []string{"INBOX", "b", "b/a", "b/c"}) {
		t.Errorf("mailboxes %q", got)
	}
	if got := e.quota(q, "u"); got.Usage.Mailboxes != 4 || got.Limits.Mailboxes != 4 {
		t.Errorf("quota %+v", got)
	}
	if err := e.s.DeleteMailbox(e.ctx, "u", "b/a"); err != nil {
		t.Fatal(err)
	}
	e.create("u", "x")
	e.checkUsage(q, "u")
}

// Replace frees the old message's bytes in the same step as it adds the
// new one's: at the limit a message can be replaced by one no larger,
// and a larger one is refused with both left as they were.
func testQuotaReplace(t *testing.T, e *env, q ports.Quotas) {
	r, ok := e.s.(ports.Replacer)
	if !ok {
		t.Skip("the store does not replace")
	}
	e.user("u")
	e.create("u", "a")
	e.setQuota(q, "u", 2, ports.NoLimit)
	e.append("u", "INBOX", bodyOf(1024))
	e.append("u", "INBOX", bodyOf(1024)) // exactly at the limit
	res, err := r.Replace(e.ctx, "u", "INBOX", 1, "a", newMessage(bodyOf(1000)))
	if err != nil {
		t.Fatalf("Replace by a smaller message at the limit: %v", err)
	}
	if got := e.checkUsage(q, "u"); got.Storage != 2024 || got.Messages != 2 {
		t.Errorf("usage %+v, want 2024 bytes in 2 messages", got)
	}
	if _, err := r.Replace(e.ctx, "u", "a", res.UID, "INBOX", newMessage(bodyOf(1025))); !isOverQuota(err) {
		t.Errorf("Replace growing past the limit: %v, want ErrOverQuota", err)
	}
	if st := e.status("u", "a"); st.Messages != 1 {
		t.Errorf("a refused replace changed the source: %+v", st)
	}
	if got := e.checkUsage(q, "u"); got.Storage != 2024 || got.Messages != 2 {
		t.Errorf("usage after the refusal %+v, want 2024 bytes in 2 messages", got)
	}
}
