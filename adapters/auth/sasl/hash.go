package sasl

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// The password hashes every password source checks (the password file and
// SQL): bcrypt ("$2a$", "$2b$", "$2y$") and argon2id in the PHC string
// format of RFC 9106's reference implementation,
//
//	$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>
//
// with salt and key in unpadded standard base64. Anything else is not a
// hash this server knows: ErrUnknownHash, a fault of the stored data and
// not a refusal of the password.

// ErrUnknownHash is a stored credential that is not a supported hash.
var ErrUnknownHash = errors.New("unsupported password hash")

// errHashMismatch is a password that does not match its hash.
var errHashMismatch = errors.New("password does not match")

// Bounds on the argon2id parameters read from a stored hash, so that a
// hash planted in a database cannot make one check take the machine's
// memory or minutes of CPU.
const (
	maxArgon2Memory  = 1 << 20 // KiB: 1 GiB
	maxArgon2Time    = 64
	minArgon2KeyLen  = 16
	maxArgon2KeyLen  = 128
	argon2Prefix     = "$argon2id$"
	argon2Version    = "v=19"
	defaultArgon2Mem = 64 * 1024 // KiB, for NewArgon2idHash
	defaultArgon2T   = 3
	defaultArgon2P   = 4
)

// argon2Params are the parameters of one argon2id hash.
type argon2Params struct {
	memory uint32
	time   uint32
	lanes  uint8
	salt   []byte
	key    []byte
}

func (p argon2Params) cost() string {
	return fmt.Sprintf("%sv=19$m=%d,t=%d,p=%d", argon2Prefix, p.memory, p.time, p.lanes)
}

func parseArgon2id(h string) (argon2Params, error) {
	var p argon2Params
	f := strings.Split(h, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != argon2Version {
		return p, fmt.Errorf("%w: malformed argon2id hash", ErrUnknownHash)
	}
	seen := 0
	for _, kv := range strings.Split(f[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, fmt.Errorf("%w: argon2id parameter %q", ErrUnknownHash, kv)
		}
		switch k {
		case "m":
			p.memory, seen = uint32(n), seen|1
		case "t":
			p.time, seen = uint32(n), seen|2
		case "p":
			if n > 255 {
				return p, fmt.Errorf("%w: argon2id parameter %q", ErrUnknownHash, kv)
			}
			p.lanes, seen = uint8(n), seen|4
		default:
			return p, fmt.Errorf("%w: argon2id parameter %q", ErrUnknownHash, kv)
		}
	}
	if seen != 7 || p.time < 1 || p.time > maxArgon2Time || p.lanes < 1 ||
		p.memory < 8*uint32(p.lanes) || p.memory > maxArgon2Memory {
		return p, fmt.Errorf("%w: argon2id parameters %q out of bounds", ErrUnknownHash, f[3])
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(f[4]); err != nil || len(p.salt) < 8 {
		return p, fmt.Errorf("%w: argon2id salt", ErrUnknownHash)
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(f[5]); err != nil || len(p.key) < minArgon2KeyLen || len(p.key) > maxArgon2KeyLen {
		return p, fmt.Errorf("%w: argon2id key", ErrUnknownHash)
	}
	return p, nil
}

func isBcrypt(h string) bool {
	return len(h) > 4 && h[0] == '$' && h[1] == '2' && strings.Contains("aby", h[2:3]) && h[3] == '$'
}

// checkHash compares password with a stored hash: nil when it matches,
// errHashMismatch when not, an error wrapping ErrUnknownHash when the hash
// is of no supported kind.
func checkHash(hash, password []byte) error {
	h := string(hash)
	switch {
	case isBcrypt(h):
		err := bcrypt.CompareHashAndPassword(hash, password)
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return errHashMismatch
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnknownHash, err)
		}
		return nil
	case strings.HasPrefix(h, argon2Prefix):
		p, err := parseArgon2id(h)
		if err != nil {
			return err
		}
		got := argon2.IDKey(password, p.salt, p.time, p.memory, p.lanes, uint32(len(p.key)))
		if subtle.ConstantTimeCompare(got, p.key) != 1 {
			return errHashMismatch
		}
		return nil
	}
	return fmt.Errorf("%w: neither bcrypt nor argon2id", ErrUnknownHash)
}

// NewArgon2idHash hashes password with argon2id (64 MiB, 3 passes, 4
// lanes, a 16-byte salt, a 32-byte key), in the format checkHash reads.
func NewArgon2idHash(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	p := argon2Params{memory: defaultArgon2Mem, time: defaultArgon2T, lanes: defaultArgon2P}
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.lanes, 32)
	return p.cost() + "$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key), nil
}

// hashCost names the kind and work factor of a hash: two hashes of one
// cost take as long to check. "" for a hash of no known kind.
func hashCost(h string) string {
	switch {
	case isBcrypt(h):
		cost, err := bcrypt.Cost([]byte(h))
		if err != nil {
			return ""
		}
		return "bcrypt$" + strconv.Itoa(cost)
	case strings.HasPrefix(h, argon2Prefix):
		p, err := parseArgon2id(h)
		if err != nil {
			return ""
		}
		return p.cost()
	}
	return ""
}

// The dummy check: an unknown user's password is checked against a hash of
// the same cost as the last real one checked, so that the time of a
// refusal does not tell an unknown user from a wrong password, whatever
// kind of hash a site stores. Before any real check, bcrypt at bcryptCost.
var dummies struct {
	mu     sync.Mutex
	last   string            // hashCost of the last real hash checked
	hashes map[string][]byte // cost -> a hash of that cost
}

// noteCost records the cost of a real hash about to be checked.
func noteCost(hash string) {
	c := hashCost(hash)
	if c == "" {
		return
	}
	dummies.mu.Lock()
	dummies.last = c
	dummies.mu.Unlock()
}

// dummyCheck spends on password what checking a real hash costs.
func dummyCheck(password string) {
	dummies.mu.Lock()
	cost := dummies.last
	if cost == "" {
		cost = "bcrypt$" + strconv.Itoa(bcryptCost)
	}
	h, ok := dummies.hashes[cost]
	dummies.mu.Unlock()
	if !ok {
		h = makeDummy(cost)
		dummies.mu.Lock()
		if dummies.hashes == nil {
			dummies.hashes = map[string][]byte{}
		}
		dummies.hashes[cost] = h
		dummies.mu.Unlock()
	}
	_ = compareHash(h, []byte(password))
}

func makeDummy(cost string) []byte {
	const pw = "not a password"
	if n, ok := strings.CutPrefix(cost, "bcrypt$"); ok {
		c, _ := strconv.Atoi(n)
		h, err := bcrypt.GenerateFromPassword([]byte(pw), c)
		if err == nil {
			return h
		}
	}
	if strings.HasPrefix(cost, argon2Prefix) {
		p, err := parseArgon2id(cost + "$c2FsdHNhbHRzYWx0$" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)))
		if err == nil {
			key := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.lanes, 32)
			return []byte(p.cost() + "$c2FsdHNhbHRzYWx0$" + base64.RawStdEncoding.EncodeToString(key))
		}
	}
	h, _ := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	return h
}
