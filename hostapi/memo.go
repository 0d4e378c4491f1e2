package hostapi

import (
	"crypto/sha256"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/upsell-io/upsell/hostapi/internal/upsellv1"
)

// A module's reply to a read-only client route (the Micro-Upsell package
// list) is usually a pure function of what the host sends it: the
// principal, the linked service, the panel settings and the route's
// prefetched rows, all read fresh for every request. When the module marks
// such a reply reusable (HTTPResponse.ReuseUntil), the host answers the
// next request whose fields are identical with it, and saves the plugin
// round trip, the costliest part of that request. The database is still
// read every time: a purchase, a price or a package change alters the
// fields, hence the digest, and the module is asked again.

const (
	// DefaultReplyMemoEntries bounds the replies kept per module: a few
	// MiB at the package list's size.
	DefaultReplyMemoEntries = 4096
	// maxReuse caps what a module may ask for, whatever its clock says.
	maxReuse = 5 * time.Minute
)

// replyMemo keeps reusable replies by request digest, evicting the oldest
// insertion when full.
type replyMemo struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]memoEntry
	ring    [][sha256.Size]byte
	next    int
}

type memoEntry struct {
	reply *pb.HTTPResponse
	until time.Time
	slot  int
}

func newReplyMemo(capacity int) *replyMemo {
	if capacity <= 0 {
		return nil
	}
	return &replyMemo{entries: make(map[[sha256.Size]byte]memoEntry, capacity), ring: make([][sha256.Size]byte, capacity)}
}

// requestDigest hashes every field of a wire request but its id, in a
// deterministic encoding (map order fixed).
func requestDigest(w *pb.HTTPRequest) ([sha256.Size]byte, error) {
	id := w.RequestId
	w.RequestId = ""
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(w)
	w.RequestId = id
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// get returns the reply kept for key, if it is still reusable at now.
func (m *replyMemo) get(key [sha256.Size]byte, now time.Time) (*pb.HTTPResponse, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return nil, false
	}
	if !now.Before(e.until) {
		delete(m.entries, key)
		return nil, false
	}
	return e.reply, true
}

// put keeps reply for key if the module marked it reusable beyond now.
func (m *replyMemo) put(key [sha256.Size]byte, reply *pb.HTTPResponse, now time.Time) {
	until := timeFromWire(reply.GetReuseUntil())
	if !until.After(now) || reply.GetStatus() < 200 || reply.GetStatus() > 299 {
		return
	}
	if limit := now.Add(maxReuse); until.After(limit) {
		until = limit
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.entries[key]; ok {
		// Refresh in place: the key keeps its slot in the ring.
		m.entries[key] = memoEntry{reply: reply, until: until, slot: old.slot}
		return
	}
	slot := m.next
	m.next = (m.next + 1) % len(m.ring)
	if evicted, ok := m.entries[m.ring[slot]]; ok && evicted.slot == slot {
		delete(m.entries, m.ring[slot])
	}
	m.ring[slot] = key
	m.entries[key] = memoEntry{reply: reply, until: until, slot: slot}
}

// len is the number of replies kept.
func (m *replyMemo) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
